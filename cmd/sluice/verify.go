package main

import (
	"crypto/ecdsa"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/spf13/cobra"

	"github.com/sluice-dev/sluice/ingest/sign"
	"github.com/sluice-dev/sluice/manifests/lockfile"
)

func newVerifyCommand(g *globals) *cobra.Command {
	var keyFile string
	cmd := &cobra.Command{
		Use:   "verify LOCKFILE|IMAGE-REF... --key PUB",
		Short: "Check that every lockfile entry or image was approved and signed by Sluice",
		Long: `Verify checks each npm package a lockfile names (package-lock.json, yarn.lock)
against the data directory: the version came through Sluice, was approved,
signed and published, and its signature bundle verifies with --key over the
stored tarball's digests, which must match the lockfile's integrity.

An argument that is not a file is taken as an image reference: its cosign
signature must verify with --key, with no transparency log.

Verify exits with 3 and lists every offender when anything fails, so a build
can run it as a gate.`,
		Example: `  sluice verify app/package-lock.json --key cosign.pub
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
			var v *sign.Verifier
			for _, arg := range args {
				if _, err := os.Stat(arg); errors.Is(err, fs.ErrNotExist) {
					checked++
					err := verifyImage(cmd, arg, key)
					var ue *usageError
					if errors.As(err, &ue) {
						return err
					}
					if err != nil {
						offenders = append(offenders, err.Error())
					}
					continue
				}
				if v == nil {
					st, err := g.openExistingStore()
					if err != nil {
						return err
					}
					defer st.Close()
					v = &sign.Verifier{DB: st.db, Blobs: st.blobs, Key: key}
				}
				n, bad, err := verifyLockfile(v, arg)
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
	return cmd
}

func verifyImage(cmd *cobra.Command, arg string, key *ecdsa.PublicKey) error {
	ref, err := name.ParseReference(arg)
	if err != nil {
		return &usageError{fmt.Errorf("%s is neither a file nor an image reference: %w", arg, err)}
	}
	_, err = sign.VerifyImage(cmd.Context(), ref, []*ecdsa.PublicKey{key},
		sign.ImageOptions{Auth: dockerAuth(ref)})
	return err
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
func verifyLockfile(v *sign.Verifier, path string) (int, []string, error) {
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
		if err := v.VerifyNPM(e.Name, e.Version, e.Integrity); err != nil {
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
