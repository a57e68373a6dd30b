package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/sluice-dev/sluice/ingest/state"
	mirrornpm "github.com/sluice-dev/sluice/mirrors/npm"
	"github.com/sluice-dev/sluice/mirrors/pin"
)

func newPinCommand(g *globals) *cobra.Command {
	var mirror, ociMirror, kind string
	var check bool
	cmd := &cobra.Command{
		Use:   "pin FILE...",
		Short: "Point lockfiles and image references at the internal mirrors",
		Long: `Pin rewrites the resolved URL of every entry in package-lock.json (v1, v2,
v3), yarn.lock (yarn classic and berry) and pnpm-lock.yaml (v6, v9) files to
the internal mirror, keeping integrity fields and every other byte as they
are. It refuses, changes nothing and exits 3 when any entry of any of the
files is not on that mirror, listing each such entry with what to do.
yarn berry and pnpm lockfiles name no URL for most registry packages: for
those, pin checks that the mirror has them and prints the registry setting
(npmRegistryServer in .yarnrc.yml, registry in .npmrc) that must point at
the mirror.

Image references in Dockerfiles, Kubernetes manifests, Helm values files
and Backstage app-config files are rewritten to the internal registry by
digest (registry/project/name@sha256:...), with the same all-or-nothing
rule. References built from ARGs, templates or environment variables are
left as they are and listed. The kind of each file comes from its name
(Dockerfile, Containerfile, values*.yaml, app-config*.yaml) or content
(apiVersion and kind); --kind overrides it for every image file given.
Pinning a pinned file changes nothing.

With --check, pin is a build gate: it writes nothing and exits 3 when a
file is not fully pinned. For lockfiles that means any entry resolves
outside the mirror, is not mirrored, or is not approved (awaiting approval,
rejected, or not evaluated yet); every such entry is listed with its line
and the command that requests or fixes it.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			images, lockfiles, err := splitPinFiles(args, kind)
			if err != nil {
				return err
			}
			var pinner *pin.Pinner
			if len(lockfiles) > 0 {
				if mirror == "" {
					return &usageError{errors.New("--npm-mirror (or SLUICE_NPM_MIRROR) is required to pin lockfiles")}
				}
				pub, err := mirrornpm.New(mirror, mirrornpm.Auth{}, nil)
				if err != nil {
					return &usageError{err}
				}
				pinner = &pin.Pinner{Mirror: pub}
			}
			if len(images) > 0 && ociMirror == "" {
				return &usageError{errors.New("--oci-mirror (or SLUICE_OCI_MIRROR) is required to pin image references")}
			}
			st, err := g.openExistingStore()
			if err != nil {
				return err
			}
			defer st.Close()
			ip, err := imagePinner(st, ociMirror, images)
			if err != nil {
				return err
			}
			results, imgErr := checkImages(cmd.OutOrStdout(), ip, images, check)
			if imgErr != nil && !isOffenders(imgErr) {
				return imgErr
			}
			if len(lockfiles) > 0 {
				pinner.DB = st.db
				// An image file that offends keeps the lockfiles unwritten too.
				err := pinFiles(cmd.OutOrStdout(), pinner, lockfiles, check || imgErr != nil)
				if err != nil || imgErr != nil {
					return errors.Join(imgErr, err)
				}
			}
			if imgErr != nil || check {
				return imgErr
			}
			return writeImages(cmd.OutOrStdout(), st.db, ociMirror, images, results)
		},
	}
	cmd.Flags().StringVar(&mirror, "npm-mirror", os.Getenv("SLUICE_NPM_MIRROR"), "internal npm registry URL (env SLUICE_NPM_MIRROR)")
	cmd.Flags().StringVar(&ociMirror, "oci-mirror", os.Getenv("SLUICE_OCI_MIRROR"),
		"internal image registry host[:port] (env SLUICE_OCI_MIRROR)")
	cmd.Flags().StringVar(&kind, "kind", "", "treat every image file as dockerfile, kubernetes, helm or backstage")
	cmd.Flags().BoolVar(&check, "check", false,
		"build gate: write nothing; exit 3 when an entry is not pinned, not mirrored or not approved")
	return cmd
}

// pinFiles pins every lockfile or none: it checks them all first and
// writes only when no entry of any of them offends, so lockfiles that go
// together never end up pointing at different places.
func pinFiles(w io.Writer, p *pin.Pinner, paths []string, check bool) error {
	var results []*pin.Result
	offenders, unpinned := 0, 0
	for _, path := range paths {
		data, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("read lockfile: %w", err)
		}
		abs, err := filepath.Abs(path)
		if err != nil {
			return err
		}
		res, err := p.Pin(abs, data)
		if err != nil {
			return err
		}
		for _, o := range res.Offenders {
			fmt.Fprintln(w, o)
		}
		offenders += len(res.Offenders)
		if note := res.Note(p.Mirror.URL()); check && note != "" && len(res.Offenders) == 0 {
			fmt.Fprintf(w, "%s: %s\n", path, note)
		}
		if check {
			for _, o := range res.Outside {
				fmt.Fprintln(w, o)
			}
			unpinned += len(res.Outside)
		}
		results = append(results, res)
	}
	switch {
	case offenders > 0 && check:
		return &offendersError{fmt.Sprintf("%s cannot be installed from %s; %s",
			plural(offenders, "lockfile entry", "lockfile entries"), p.Mirror.URL(),
			plural(unpinned, "other entry is", "other entries are")+" not pinned to it")}
	case offenders > 0:
		return &offendersError{fmt.Sprintf("%s cannot be pinned to %s; no file was changed",
			plural(offenders, "lockfile entry", "lockfile entries"), p.Mirror.URL())}
	case unpinned > 0:
		return &offendersError{fmt.Sprintf("%s not pinned to %s",
			plural(unpinned, "lockfile entry is", "lockfile entries are"), p.Mirror.URL())}
	case check:
		return nil
	}
	for i, res := range results {
		if err := writePinned(w, p, paths[i], res); err != nil {
			return err
		}
	}
	return nil
}

// writePinned writes one pinned lockfile and records it.
func writePinned(w io.Writer, p *pin.Pinner, path string, res *pin.Result) error {
	if res.Changed > 0 {
		if err := writeAtomic(path, res.Output); err != nil {
			return err
		}
	}
	fmt.Fprintf(w, "%s: %d entries pinned, %d already pinned\n", path, res.Changed, res.Unchanged)
	if note := res.Note(p.Mirror.URL()); note != "" {
		fmt.Fprintf(w, "%s: %s\n", path, note)
	}
	if err := p.MarkPinned(res, actor()); err != nil {
		return err
	}
	return p.DB.Record(state.Entry{Type: state.EntryPinned, Subject: res.File, Actor: actor(),
		Evidence: map[string]string{"digest": pin.Digest(res.Output), "changed": fmt.Sprint(res.Changed),
			"unchanged": fmt.Sprint(res.Unchanged), "mirror": p.Mirror.URL()}})
}

// plural returns "1 entry" or "3 entries".
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// writeAtomic replaces a file through a temporary file in its folder, so a
// crash leaves either the old or the new lockfile, never half of one.
func writeAtomic(path string, data []byte) error {
	info, err := os.Stat(path)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Chmod(tmp.Name(), info.Mode().Perm()); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
