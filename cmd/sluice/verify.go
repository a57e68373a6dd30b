package main

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"slices"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/spf13/cobra"

	"github.com/sluice-dev/sluice/ingest/npm"
	"github.com/sluice-dev/sluice/ingest/sign"
	"github.com/sluice-dev/sluice/ingest/state"
	"github.com/sluice-dev/sluice/manifests/lockfile"
)

// npmVerifier checks one npm package version of a lockfile.
type npmVerifier interface {
	VerifyNPM(ctx context.Context, name, version, integrity string) error
}

func newVerifyCommand(g *globals) *cobra.Command {
	var keyFile, mirror string
	cmd := &cobra.Command{
		Use:   "verify LOCKFILE|IMAGE-REF... --key PUB",
		Short: "Check that every lockfile entry or image was approved and signed by Sluice",
		Long: `Verify checks each npm package a lockfile names (package-lock.json, yarn.lock)
against the data directory: the version came through Sluice, was approved,
signed and published, and its signature bundle verifies with --key over the
stored tarball's digests, which must match the lockfile's integrity.

With --npm-mirror, verify needs no data directory. It reads each version's
signature bundle from the mirror's packument (dist.sluiceBundle). The bundle
must verify with --key, and its signed sha512 must be the lockfile's and the
mirror's integrity. npm checks each tarball against that integrity when it
installs.

An argument that is not a file is taken as an image reference: its cosign
signature must verify with --key, with no transparency log. With --data-dir
(or SLUICE_DATA_DIR), its digest must also be an image of the data directory
that was approved, signed or published.

Verify exits with 3 and lists every offender when anything fails, so a build
can run it as a gate.`,
		Example: `  sluice verify app/package-lock.json --key cosign.pub
  sluice verify app/package-lock.json --key cosign.pub --npm-mirror http://verdaccio.internal:4873/
  sluice verify registry.internal/mirror/app@sha256:... --key cosign.pub`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if keyFile == "" {
				return &usageError{errors.New("--key is required: pass the public key that Sluice signs with")}
			}
			key, err := sign.LoadPublicKey(keyFile)
			if err != nil {
				return &usageError{err}
			}
			var offenders []string
			checked := 0
			var v npmVerifier
			var images *state.DB
			for _, arg := range args {
				if _, err := os.Stat(arg); errors.Is(err, fs.ErrNotExist) {
					checked++
					if images == nil && dataDirGiven(cmd) {
						st, err := g.openExistingStore()
						if err != nil {
							return err
						}
						defer st.Close()
						images = st.db
					}
					err := verifyImage(cmd, arg, key, images)
					var ue *usageError
					if errors.As(err, &ue) {
						return err
					}
					if err != nil {
						offenders = append(offenders, err.Error())
					}
					continue
				}
				if v == nil && mirror != "" {
					reg, err := npm.NewRegistry(mirror, os.Getenv("SLUICE_NPM_MIRROR_TOKEN"),
						g.httpClient(slog.New(slog.DiscardHandler), 2))
					if err != nil {
						return &usageError{err}
					}
					v = &sign.MirrorVerifier{Mirror: reg, Key: key}
				}
				if v == nil {
					st, err := g.openExistingStore()
					if err != nil {
						return err
					}
					defer st.Close()
					v = &sign.Verifier{DB: st.db, Blobs: st.blobs, Key: key}
				}
				n, bad, err := verifyLockfile(cmd.Context(), v, arg)
				if err != nil {
					return err
				}
				checked += n
				offenders = append(offenders, bad...)
			}
			return reportVerification(cmd.OutOrStdout(), checked, offenders, keyFile)
		},
	}
	cmd.Flags().StringVar(&keyFile, "key", os.Getenv("SLUICE_VERIFY_KEY"),
		"public key file (cosign.pub) that Sluice signs with (env SLUICE_VERIFY_KEY)")
	cmd.Flags().StringVar(&mirror, "npm-mirror", "",
		"check lockfiles against this npm mirror's signature bundles instead of the data directory; "+
			"a token in SLUICE_NPM_MIRROR_TOKEN is sent to it")
	return cmd
}

// dataDirGiven reports whether --data-dir or SLUICE_DATA_DIR names a data
// directory, which image references are then checked against as well.
func dataDirGiven(cmd *cobra.Command) bool {
	_, env := os.LookupEnv("SLUICE_DATA_DIR")
	return env || cmd.Flags().Changed("data-dir")
}

// verifyImage checks an image's cosign signature on its registry and,
// when db is not nil, that its digest is an artifact of the data
// directory that was approved without skipping evaluation.
func verifyImage(cmd *cobra.Command, arg string, key *ecdsa.PublicKey, db *state.DB) error {
	ref, err := name.ParseReference(arg)
	if err != nil {
		return &usageError{fmt.Errorf("%s is neither a file nor an image reference: %w", arg, err)}
	}
	opts := sign.ImageOptions{Auth: dockerAuth(ref)}
	if _, err = sign.VerifyImage(cmd.Context(), ref, []*ecdsa.PublicKey{key}, opts); err != nil || db == nil {
		return err
	}
	digest := ref.Identifier()
	if _, ok := ref.(name.Digest); !ok {
		desc, err := remote.Head(ref, remote.WithContext(cmd.Context()), remote.WithAuth(opts.Auth))
		if err != nil {
			return fmt.Errorf("%s: look up the digest: %w", arg, err)
		}
		digest = desc.Digest.String()
	}
	arts, err := db.Artifacts(func(a *state.Artifact) bool {
		return a.Ecosystem == state.EcosystemOCI && a.Digest == digest
	})
	if err != nil {
		return err
	}
	if len(arts) == 0 {
		return fmt.Errorf("%s: %s is not an image in the data directory: it did not come through Sluice",
			arg, digest)
	}
	for _, a := range arts {
		if state.Reached(a.State, state.StateApproved) && !slices.Contains(a.Skipped, state.StateEvaluated) &&
			!slices.Contains(a.Skipped, state.StateApproved) {
			return nil
		}
	}
	return fmt.Errorf("%s: %s is %s, not approved, signed or published", arg, arts[0].Key(), arts[0].State)
}

// dockerAuth returns the credentials the Docker config has for the
// image's registry, or anonymous.
func dockerAuth(ref name.Reference) authn.Authenticator {
	auth, err := authn.DefaultKeychain.Resolve(ref.Context())
	if err != nil {
		return authn.Anonymous
	}
	return auth
}

// verifyLockfile checks every entry of a lockfile and returns how many it
// checked and the offenders.
func verifyLockfile(ctx context.Context, v npmVerifier, path string) (int, []string, error) {
	lf, err := lockfile.Load(path)
	if err != nil {
		return 0, nil, &usageError{err}
	}
	var offenders []string
	checked := 0
	for _, e := range lf.Entries {
		switch {
		case e.Bundled || e.Source == lockfile.SourceLink || e.Source == lockfile.SourceWorkspace:
			// Shipped inside a parent tarball or part of the project: no
			// tarball of its own to verify.
			continue
		case e.Source != lockfile.SourceRegistry:
			checked++
			offenders = append(offenders, fmt.Sprintf("%s:%d: %s@%s comes from %s (%s), which Sluice "+
				"does not mirror", path, e.Line, e.Name, e.Version, e.Source, e.Resolved))
			continue
		}
		checked++
		if err := v.VerifyNPM(ctx, e.Name, e.Version, e.Integrity); err != nil {
			offenders = append(offenders, fmt.Sprintf("%s:%d: %v", path, e.Line, err))
		}
	}
	return checked, offenders, nil
}

func reportVerification(w io.Writer, checked int, offenders []string, keyFile string) error {
	for _, o := range offenders {
		fmt.Fprintln(w, o)
	}
	if len(offenders) > 0 {
		return &offendersError{fmt.Sprintf("%d of %s failed verification with %s", len(offenders),
			plural(checked, "entry", "entries"), keyFile)}
	}
	fmt.Fprintf(w, "verified %s with %s\n", plural(checked, "entry", "entries"), keyFile)
	return nil
}
