package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/sluice-dev/sluice/ingest/bundle"
	"github.com/sluice-dev/sluice/ingest/sign"
	"github.com/sluice-dev/sluice/internal/pipeline"
	mirrornpm "github.com/sluice-dev/sluice/mirrors/npm"
)

func newImportCommand(g *globals) *cobra.Command {
	var key, signPub, mirror string
	var images struct{ mirror string }
	var trustFirst bool
	var concurrency, retries int
	cmd := &cobra.Command{
		Use:   "import BUNDLE",
		Short: "Verify a transfer bundle and publish its artifacts to the inside mirror",
		Long: `Import checks a bundle that export wrote on the outside, before anything is
published: its signature against the trusted key (--key), every part and
file against the signed index, that its ledger segment continues the outside
ledger imported before, and that the outside ledger approved every artifact.
A bundle that fails any check is refused and nothing is published.

The Sigstore bundle of each artifact the outside signed is verified with
the outside's signing public key (--sign-pub; the bundle key --key when the
same key signs both), and the artifact is recorded as signed.

It then records the artifacts with the outside's evidence and publishes them
through the same path as sync: packages to --npm-mirror, signed versions
with their Sigstore bundle in dist.sluiceBundle, and container images with
their attachments to --oci-mirror. Running it again after an interruption
publishes the rest; after success it does nothing.

BUNDLE is a folder holding one bundle, a bundle's index file, or a
single-file bundle.`,
		Example: `  sluice import /media/usb/ --key outside.pub --npm-mirror http://verdaccio.internal:4873/`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			log, err := g.logger()
			if err != nil {
				return err
			}
			if key == "" {
				return &usageError{errors.New("--key is required (or SLUICE_BUNDLE_PUBLIC_KEY): the public key of the outside gateway")}
			}
			if mirror == "" && images.mirror == "" {
				return &usageError{errors.New("--npm-mirror (or SLUICE_NPM_MIRROR) or --oci-mirror " +
					"(or SLUICE_OCI_MIRROR) is required")}
			}
			if concurrency < 1 {
				return &usageError{fmt.Errorf("invalid --concurrency %d: use 1 or more", concurrency)}
			}
			verifier, err := bundle.LoadVerifier(key)
			if err != nil {
				return &usageError{err}
			}
			if signPub == "" {
				signPub = key
			}
			signKey, err := sign.LoadPublicKey(signPub)
			if err != nil {
				return &usageError{fmt.Errorf("--sign-pub: %w", err)}
			}
			st, err := g.openStore()
			if err != nil {
				return err
			}
			defer st.Close()
			opts := bundle.ImportOptions{Verifier: verifier, SignKey: signKey, TrustFirst: trustFirst, Actor: actor(),
				Concurrency: concurrency, Log: log, Progress: newProgress(g, cmd.ErrOrStderr(), log)}
			if mirror != "" {
				pub, err := mirrornpm.New(mirror, pipeline.MirrorAuthFromEnv(), g.httpClient(log, retries))
				if err != nil {
					return &usageError{err}
				}
				pub.DistFields = sign.DistFields(st.db, st.blobs)
				opts.Publisher = pub
			}
			if images.mirror != "" {
				pub, err := pipeline.OCIPublisher(images.mirror, pipeline.OCIAuthFromEnv(), st.blobs,
					concurrency, retries)
				if err != nil {
					return &usageError{err}
				}
				opts.ImagePublisher = pub
			}
			sum, err := bundle.Import(cmd.Context(), st.db, st.blobs, args[0], opts)
			if sum != nil {
				printImport(cmd.OutOrStdout(), sum)
			}
			return err
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&key, "key", os.Getenv("SLUICE_BUNDLE_PUBLIC_KEY"),
		"PEM public key of the outside gateway that signs bundles (env SLUICE_BUNDLE_PUBLIC_KEY)")
	fl.StringVar(&signPub, "sign-pub", os.Getenv("SLUICE_SIGN_PUBLIC_KEY"),
		"PEM public key of the outside's signing stage (sync --sign-key), which verifies each signed "+
			"artifact (env SLUICE_SIGN_PUBLIC_KEY); defaults to --key")
	fl.StringVar(&mirror, "npm-mirror", os.Getenv("SLUICE_NPM_MIRROR"),
		"internal npm registry to publish to (env SLUICE_NPM_MIRROR); credentials as for sync")
	fl.StringVar(&images.mirror, "oci-mirror", os.Getenv("SLUICE_OCI_MIRROR"),
		"OCI registry, with an optional repository prefix, to publish container images to "+
			"(env SLUICE_OCI_MIRROR); credentials as for sync")
	fl.BoolVar(&trustFirst, "trust-first", false,
		"accept a first bundle whose ledger segment does not start at the outside ledger's first entry")
	fl.IntVar(&concurrency, "concurrency", 8, "parallel uploads to the mirror")
	fl.IntVar(&retries, "retries", 4, "retries of a failed request, with exponential backoff")
	return cmd
}

func printImport(w io.Writer, s *bundle.ImportSummary) {
	if s.AlreadyImported {
		fmt.Fprintf(w, "bundle %s was imported already; nothing to do\n", s.ID)
		return
	}
	fmt.Fprintf(w, "bundle %s imported\n", s.ID)
	if s.Resumed {
		fmt.Fprintln(w, "  resumed    an earlier import that was verified but not fully published")
	}
	fmt.Fprintf(w, "  verified   %d artifacts, %s; %d new blobs in %s\n", s.Artifacts, humanBytes(s.Bytes),
		s.Staged, s.Verify.Round(1e7))
	fmt.Fprintf(w, "  published  %d; %d already on the mirror, in %s\n", s.Published, s.Present, s.Publish.Round(1e7))
}
