package main

import (
	"bytes"
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
	var mirror string
	var check bool
	cmd := &cobra.Command{
		Use:   "pin LOCKFILE...",
		Short: "Point lockfiles at the internal mirror",
		Long: `Pin rewrites the resolved URL of every entry in package-lock.json (v2, v3)
and yarn.lock (v1) files to the internal mirror, keeping integrity fields
and every other byte as they are. It refuses, changes nothing and exits 3
when any entry is not mirrored, listing each such entry with what to do.
Pinning a pinned lockfile changes nothing. With --check it writes nothing
and exits 3 when a lockfile is not fully pinned.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if mirror == "" {
				return &usageError{errors.New("--npm-mirror (or SLUICE_NPM_MIRROR) is required")}
			}
			pub, err := mirrornpm.New(mirror, mirrornpm.Auth{}, nil)
			if err != nil {
				return &usageError{err}
			}
			st, err := g.openStore()
			if err != nil {
				return err
			}
			defer st.Close()
			p := &pin.Pinner{DB: st.db, Mirror: pub}
			out := cmd.OutOrStdout()
			failed := 0
			for _, path := range args {
				n, err := pinFile(out, p, path, check)
				if err != nil {
					return err
				}
				failed += n
			}
			if failed > 0 {
				fmt.Fprintln(out)
				if check {
					return &offendersError{fmt.Sprintf("%d lockfile entries are not pinned to %s", failed, pub.URL())}
				}
				return &offendersError{fmt.Sprintf("%d lockfile entries cannot be pinned to %s; no file was changed", failed, pub.URL())}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&mirror, "npm-mirror", os.Getenv("SLUICE_NPM_MIRROR"), "internal npm registry URL (env SLUICE_NPM_MIRROR)")
	cmd.Flags().BoolVar(&check, "check", false, "write nothing; exit 3 when an entry is not pinned or not mirrored")
	return cmd
}

// pinFile pins one lockfile and returns how many entries offend.
func pinFile(w io.Writer, p *pin.Pinner, path string, check bool) (int, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	res, err := p.Pin(path, data)
	if err != nil {
		return 0, err
	}
	for _, o := range res.Offenders {
		fmt.Fprintln(w, o)
	}
	if len(res.Offenders) > 0 {
		return len(res.Offenders), nil
	}
	if check {
		if res.Changed > 0 {
			fmt.Fprintf(w, "%s: %d entries do not point at the mirror; run sluice pin %s\n", path, res.Changed, path)
		}
		return res.Changed, nil
	}
	if !bytes.Equal(res.Output, data) {
		if err := writeAtomic(path, res.Output); err != nil {
			return 0, err
		}
	}
	fmt.Fprintf(w, "%s: %d entries pinned, %d already pinned\n", path, res.Changed, res.Unchanged)
	if err := p.MarkPinned(res, actor()); err != nil {
		return 0, err
	}
	return 0, p.DB.Record(state.Entry{Type: state.EntryPinned, Subject: path, Actor: actor(),
		Evidence: map[string]string{"digest": pin.Digest(res.Output), "changed": fmt.Sprint(res.Changed),
			"unchanged": fmt.Sprint(res.Unchanged), "mirror": p.Mirror.URL()}})
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
