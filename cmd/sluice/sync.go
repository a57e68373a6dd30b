package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/spf13/cobra"

	"github.com/sluice-dev/sluice/approvals"
	"github.com/sluice-dev/sluice/ingest"
	"github.com/sluice-dev/sluice/ingest/fetch"
	"github.com/sluice-dev/sluice/ingest/npm"
	"github.com/sluice-dev/sluice/ingest/oci"
	"github.com/sluice-dev/sluice/ingest/sign"
	"github.com/sluice-dev/sluice/ingest/state"
	"github.com/sluice-dev/sluice/manifests"
	"github.com/sluice-dev/sluice/manifests/policy"
	mirrornpm "github.com/sluice-dev/sluice/mirrors/npm"
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
	// distFields adds fields to each published version's dist object.
	distFields func(*state.Artifact) (map[string]any, error)
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
				"required with --npm-mirror, --oci-mirror and --harbor")
		f.oci.register(cmd)
	}
	fl.IntVar(&f.concurrency, "concurrency", 8, "parallel requests to the upstream and the mirror")
	fl.IntVar(&f.retries, "retries", 4, "retries of a failed request, with exponential backoff")
}

// runner builds an ingest runner from the flags and the environment.
func (f *npmFlags) runner(g *globals, st *store, log *slog.Logger) (*ingest.Runner, error) {
	if f.concurrency < 1 {
		return nil, &usageError{fmt.Errorf("invalid --concurrency %d: use 1 or more", f.concurrency)}
	}
	if f.retries < 0 {
		return nil, &usageError{fmt.Errorf("invalid --retries %d: use 0 or more", f.retries)}
	}
	client := g.httpClient(log, f.retries)
	reg, err := npm.NewRegistry(f.upstream, os.Getenv("SLUICE_NPM_TOKEN"), client)
	if err != nil {
		return nil, &usageError{err}
	}
	r := &ingest.Runner{DB: st.db, Blobs: st.blobs, NPM: reg, Images: imageClient(f.retries),
		Concurrency: f.concurrency, Log: log, Actor: actor()}
	r.VerifyImage = sign.UpstreamImageCheck{DB: st.db, Keychain: authn.DefaultKeychain,
		Options: sign.ImageOptions{Transport: oci.NewTransport(nil, f.retries, 0)}}.Verify
	if f.oci.publishing() {
		if f.policy == "" {
			return nil, &usageError{errors.New("--oci-mirror and --harbor need --policy (or SLUICE_POLICY): " +
				"nothing is published without a recorded verdict")}
		}
		pub, err := f.oci.imagePublisher(g.dataDir, st.blobs, f.concurrency, f.retries, log)
		if err != nil {
			return nil, err
		}
		r.PublishImages = approvals.GateImages(pub)
	}
	if f.mirror != "" {
		if f.policy == "" {
			return nil, &usageError{errors.New("--npm-mirror needs --policy (or SLUICE_POLICY): " +
				"nothing is published without a recorded verdict")}
		}
		pub, err := mirrorPublisher(f.mirror, client)
		if err != nil {
			return nil, err
		}
		pub.DistFields = f.distFields
		r.Publish = approvals.Gate(pub)
	}
	return r, nil
}

// evaluation builds the approval stage from --policy, reading findings
// from the stored scan results when the scan stage runs. It returns nil
// when no policy is given.
func (f *npmFlags) evaluation(st *store, r *ingest.Runner, log *slog.Logger) (*approvals.Stage, error) {
	if f.policy == "" {
		return nil, nil
	}
	p, err := policy.Load(f.policy)
	if err != nil {
		return nil, &usageError{err}
	}
	opts := []approvals.Option{approvals.WithLogger(log)}
	if r.Scan != nil {
		opts = append(opts, approvals.WithFindings(approvals.StoredScans{DB: st.db}))
	}
	if approvals.NeedsReleaseTime(p) {
		opts = append(opts, approvals.WithReleaseTimes(scanners.NPMUpstream{Registry: r.NPM}))
	}
	return approvals.NewStage(p, st.db, st.blobs, opts...), nil
}

// addStages sets the runner's scan stage and, when a policy is given, its
// evaluation stage. The caller calls the returned function when the run
// ends.
func (f *npmFlags) addStages(g *globals, sf *scanFlags, st *store, r *ingest.Runner,
	log *slog.Logger) (func() error, error) {
	stage, closeScanner, err := sf.stage(g, st, r.NPM, log)
	if err != nil {
		return nil, err
	}
	r.Scan = stage
	evaluate, err := f.evaluation(st, r, log)
	if err != nil {
		closeScanner()
		return nil, err
	}
	if evaluate != nil {
		r.Evaluate = evaluate
	}
	return closeScanner, nil
}

func mirrorPublisher(mirror string, client *fetch.Client) (*mirrornpm.Publisher, error) {
	auth := mirrornpm.Auth{Token: os.Getenv("SLUICE_NPM_MIRROR_TOKEN"),
		Username: os.Getenv("SLUICE_NPM_MIRROR_USER"), Password: os.Getenv("SLUICE_NPM_MIRROR_PASSWORD")}
	pub, err := mirrornpm.New(mirror, auth, client)
	if err != nil {
		return nil, &usageError{err}
	}
	return pub, nil
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
--oci-mirror, or to the Harbor project given by --harbor and
--harbor-project.

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
			if signer != nil {
				f.distFields = sign.DistFields(st.db, st.blobs)
			}
			r, err := f.runner(g, st, log)
			if err != nil {
				return err
			}
			closeScanner, err := f.addStages(g, sf, st, r, log)
			if err != nil {
				return err
			}
			defer closeScanner()
			if r.Evaluate != nil {
				if _, err := approvals.ExpireDue(st.db); err != nil {
					return err
				}
			}
			if signer != nil {
				var opts []sign.Option
				if f.oci.publisher != nil {
					opts = append(opts, sign.WithImageRepository(f.oci.publisher.TargetRepository))
				}
				r.Sign = approvals.RequireApproved(sign.NewStage(signer, st.db, st.blobs, scanEvidence{st},
					log, opts...))
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
		fmt.Fprintln(w, "  published  nothing: no --npm-mirror, --oci-mirror or --harbor given")
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
