package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/spf13/cobra"

	"github.com/sluice-dev/sluice/approvals"
	"github.com/sluice-dev/sluice/ingest"
	"github.com/sluice-dev/sluice/ingest/npm"
	"github.com/sluice-dev/sluice/ingest/sign"
	"github.com/sluice-dev/sluice/internal/pipeline"
	"github.com/sluice-dev/sluice/manifests"
	"github.com/sluice-dev/sluice/scanners"
)

// npmFlags configure the npm upstream and mirror.
type npmFlags struct {
	upstream    string
	mirror      string
	oci         ociFlags
	policy      string
	concurrency int
	retries     int
}

func (f *npmFlags) register(cmd *cobra.Command, withMirror bool) {
	fl := cmd.Flags()
	fl.StringVar(&f.upstream, "npm-upstream", envOr("SLUICE_NPM_UPSTREAM", npm.DefaultRegistry),
		"npm registry to ingest from (env SLUICE_NPM_UPSTREAM); a token in SLUICE_NPM_TOKEN is sent to it")
	if withMirror {
		fl.StringVar(&f.mirror, "npm-mirror", os.Getenv("SLUICE_NPM_MIRROR"),
			"internal npm registry (Verdaccio, Nexus) to publish to (env SLUICE_NPM_MIRROR); "+
				"credentials come from SLUICE_NPM_MIRROR_TOKEN, or SLUICE_NPM_MIRROR_USER and SLUICE_NPM_MIRROR_PASSWORD")
		fl.StringVar(&f.policy, "policy", os.Getenv("SLUICE_POLICY"),
			"risk policy file (kind RiskPolicy) that decides each artifact's approval (env SLUICE_POLICY); "+
				"required with --npm-mirror and --oci-mirror")
		f.oci.register(cmd)
	}
	fl.IntVar(&f.concurrency, "concurrency", 8, "parallel requests to the upstream and the mirror")
	fl.IntVar(&f.retries, "retries", 4, "retries of a failed request, with exponential backoff")
}

// runner builds an ingest runner with internal/pipeline from the flags and
// the environment. sf, when not nil, adds the scan stage unless --no-scan
// is given; signer, when not nil, adds the signing stage. The caller calls
// done when the run ends.
func (f *npmFlags) runner(g *globals, st *store, log *slog.Logger, sf *scanFlags, signer sign.Signer) (
	r *ingest.Runner, done func() error, err error) {
	if f.concurrency < 1 {
		return nil, nil, &usageError{fmt.Errorf("invalid --concurrency %d: use 1 or more", f.concurrency)}
	}
	if f.retries < 0 {
		return nil, nil, &usageError{fmt.Errorf("invalid --retries %d: use 0 or more", f.retries)}
	}
	if f.policy == "" && (f.mirror != "" || f.oci.publishing()) {
		return nil, nil, &usageError{errors.New("--npm-mirror, --oci-mirror and --harbor need --policy " +
			"(or SLUICE_POLICY): nothing is published without a recorded verdict")}
	}
	var s pipeline.Settings
	if sf != nil {
		if err := sf.check(); err != nil {
			return nil, nil, err
		}
		s = sf.settings(g)
	}
	s.Upstream, s.UpstreamToken = f.upstream, os.Getenv("SLUICE_NPM_TOKEN")
	s.Mirror, s.MirrorAuth = f.mirror, pipeline.MirrorAuthFromEnv()
	s.OCIMirror, s.OCIAuth = f.oci.mirror, pipeline.OCIAuthFromEnv()
	if f.oci.harbor.url != "" {
		if f.oci.mirror != "" {
			return nil, nil, &usageError{errors.New("--harbor and --oci-mirror (or SLUICE_OCI_MIRROR) " +
				"both name a registry to publish images to: give one")}
		}
		pub, err := f.oci.harbor.publisher(g.dataDir, st.blobs, f.concurrency, f.retries, log)
		if err != nil {
			return nil, nil, err
		}
		s.ImagePublisher = pub
	}
	s.Policy, s.Signer = f.policy, signer
	s.Concurrency, s.Retries = f.concurrency, f.retries
	r, done, err = pipeline.Build(s, st.db, st.blobs, actor(), log)
	switch {
	case errors.Is(err, scanners.ErrNoDB):
		return nil, nil, &usageError{fmt.Errorf("%w; or pass --no-scan to sync without scanning", err)}
	case errors.Is(err, pipeline.ErrInvalidSettings):
		return nil, nil, &usageError{err}
	}
	return r, done, err
}

// actor is the identity recorded in the ledger for CLI runs.
func actor() string {
	if v := os.Getenv("SLUICE_ACTOR"); v != "" {
		return v
	}
	if u := os.Getenv("USER"); u != "" {
		return "cli:" + u
	}
	return "cli"
}

func loadManifests(args []string) ([]*manifests.Manifest, error) {
	if len(args) == 0 {
		return nil, &usageError{errors.New("name at least one manifest file or folder")}
	}
	return manifests.LoadAll(args...)
}

func newSyncCommand(g *globals) *cobra.Command {
	f := &npmFlags{}
	sf := &scanFlags{}
	sg := &signFlags{}
	cmd := &cobra.Command{
		Use:   "sync MANIFEST|DIR...",
		Short: "Resolve, fetch, verify, store and publish what the manifests name",
		Long: `Sync resolves every manifest entry to exact versions (npm: with the full
closure of dependencies, optional and peer dependencies included), fetches
each tarball with retries, checks it against the registry's sha512
integrity (and the lockfile's, for lockfile entries) before storing it,
scans and evaluates it, signs each approved tarball with --sign-key, and
publishes the original tarball to the mirror given by --npm-mirror. With a
signing key, nothing unsigned is published. Container images are resolved
to digests, copied byte for byte with the upstream's signatures and
attestations, scanned per platform and pushed to the registry given by
--oci-mirror.

Sync is incremental: artifacts already stored are not fetched again and
versions already on the mirror are not published again. A run that fails or
is killed loses nothing; run it again to continue.`,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			log, err := g.logger()
			if err != nil {
				return err
			}
			ms, err := loadManifests(args)
			if err != nil {
				return err
			}
			st, err := g.openStore()
			if err != nil {
				return err
			}
			defer st.Close()
			signer, err := sg.signer()
			if err != nil {
				return err
			}
			r, done, err := f.runner(g, st, log, sf, signer)
			if err != nil {
				return err
			}
			defer done()
			if r.Evaluate != nil {
				if _, err := approvals.ExpireDue(st.db); err != nil {
					return err
				}
			}
			r.Progress = newProgress(g, cmd.ErrOrStderr(), log)
			sum, err := r.Sync(cmd.Context(), ms)
			if sum != nil {
				printSummary(cmd.OutOrStdout(), sum, r.Publish != nil || r.PublishImages != nil)
			}
			return err
		},
	}
	f.register(cmd, true)
	sf.register(cmd, true)
	sg.register(cmd)
	return cmd
}

func printSummary(w io.Writer, s *ingest.Summary, publishing bool) {
	fmt.Fprintf(w, "run %s finished in %s\n", s.Run, s.Duration.Round(1e7))
	fmt.Fprintf(w, "  resolved   %d packages (%d new to this gateway)\n", s.Resolved, s.New)
	if s.FetchedImages > 0 {
		fmt.Fprintf(w, "  fetched    %d tarballs and %d images, %s; %d already stored\n",
			s.Fetched-s.FetchedImages, s.FetchedImages, humanBytes(s.FetchBytes), s.Reused)
	} else {
		fmt.Fprintf(w, "  fetched    %d tarballs, %s; %d already stored\n", s.Fetched, humanBytes(s.FetchBytes), s.Reused)
	}
	if publishing {
		fmt.Fprintf(w, "  published  %d; %d already on the mirror\n", s.Published, s.Present)
	} else {
		fmt.Fprintln(w, "  published  nothing: no --npm-mirror or --oci-mirror given")
	}
	if s.Waiting+s.Rejected > 0 {
		fmt.Fprintf(w, "  held       %d awaiting approval, %d rejected\n", s.Waiting, s.Rejected)
	}
	for _, n := range s.Notes {
		fmt.Fprintf(w, "  note: %s\n", n)
	}
}

func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
