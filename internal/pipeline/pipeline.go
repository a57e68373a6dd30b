// Package pipeline assembles an ingest.Runner from plain settings. The
// settings choose the npm upstream and the scan stage on the data
// directory's vulnerability database, with its exceptions and upstream
// checks. They also choose the risk policy's evaluation stage, the signing
// stage and the gated npm and image publishers. sluice sync and sluice
// serve build their runners with it. It holds no
// logic of its own beyond choosing which stages a setting turns on, and
// PublishPlugin, which runs an approved plugin request through such a
// runner.
package pipeline

import (
	"cmp"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"

	"github.com/sluice-dev/sluice/approvals"
	"github.com/sluice-dev/sluice/ingest"
	"github.com/sluice-dev/sluice/ingest/blobs"
	"github.com/sluice-dev/sluice/ingest/fetch"
	"github.com/sluice-dev/sluice/ingest/npm"
	"github.com/sluice-dev/sluice/ingest/oci"
	"github.com/sluice-dev/sluice/ingest/sign"
	"github.com/sluice-dev/sluice/ingest/state"
	"github.com/sluice-dev/sluice/manifests/policy"
	mirrornpm "github.com/sluice-dev/sluice/mirrors/npm"
	mirroroci "github.com/sluice-dev/sluice/mirrors/oci"
	"github.com/sluice-dev/sluice/scanners"
)

// ErrInvalidSettings wraps errors caused by a setting rather than by the
// store, the network or a file's content being unreadable.
var ErrInvalidSettings = errors.New("invalid settings")

// Settings select the upstream, stages and mirrors of a runner.
type Settings struct {
	// Upstream is the npm registry to ingest from; UpstreamToken is sent
	// to it when set.
	Upstream      string
	UpstreamToken string
	// Mirror is the npm registry to publish to; empty publishes nothing.
	Mirror     string
	MirrorAuth mirrornpm.Auth
	// OCIMirror is the registry, with an optional repository prefix, that
	// container images are published to; empty publishes no images.
	// OCIAuth signs in to it; nil uses the Docker configuration keychain.
	OCIMirror string
	OCIAuth   authn.Authenticator
	// ImagePublisher, when set, publishes images in place of a publisher
	// to OCIMirror, for example the Harbor publisher, which also manages
	// the project and its robot accounts.
	ImagePublisher ImagePublisher
	// Policy is the risk policy file. It is required with a mirror,
	// because nothing is published without a recorded verdict.
	Policy string
	// Scan turns the scan stage on; it needs a vulnerability database
	// imported into VulnDBDir.
	Scan      bool
	VulnDBDir string
	// Exceptions are exception files (kind Exceptions) for the scan stage.
	Exceptions []string
	// InternalScopes are npm scopes such as @acme that only internal
	// packages use. MinReleaseAge flags versions published more recently
	// than that before the scan. Both checks ask the upstream registry.
	InternalScopes []string
	MinReleaseAge  time.Duration
	// Signer signs each approved artifact, and the npm mirror then gets
	// the signature in each version's dist object. Nil signs nothing.
	Signer sign.Signer
	// Concurrency bounds parallel requests (0: the runner's default of 8);
	// Retries is the number of retries of a failed request.
	Concurrency int
	Retries     int
}

// ImagePublisher is an image publisher that maps upstream repositories to
// repositories on its registry; the signing stage names that repository in
// each image signature.
type ImagePublisher interface {
	ingest.ImagePublisher
	TargetRepository(upstream string) (name.Repository, error)
}

// MirrorAuthFromEnv returns the npm mirror credentials from
// SLUICE_NPM_MIRROR_TOKEN, or SLUICE_NPM_MIRROR_USER and
// SLUICE_NPM_MIRROR_PASSWORD.
func MirrorAuthFromEnv() mirrornpm.Auth {
	return mirrornpm.Auth{Token: os.Getenv("SLUICE_NPM_MIRROR_TOKEN"),
		Username: os.Getenv("SLUICE_NPM_MIRROR_USER"), Password: os.Getenv("SLUICE_NPM_MIRROR_PASSWORD")}
}

// OCIAuthFromEnv returns the OCI mirror credentials from
// SLUICE_OCI_MIRROR_TOKEN, or SLUICE_OCI_MIRROR_USER and
// SLUICE_OCI_MIRROR_PASSWORD; nil when neither is set.
func OCIAuthFromEnv() authn.Authenticator {
	switch {
	case os.Getenv("SLUICE_OCI_MIRROR_TOKEN") != "":
		return &authn.Bearer{Token: os.Getenv("SLUICE_OCI_MIRROR_TOKEN")}
	case os.Getenv("SLUICE_OCI_MIRROR_USER") != "":
		return &authn.Basic{Username: os.Getenv("SLUICE_OCI_MIRROR_USER"),
			Password: os.Getenv("SLUICE_OCI_MIRROR_PASSWORD")}
	}
	return nil
}

// Build returns a runner on db and bs that records actor in the ledger.
// The caller calls done when the run ends, which closes the vulnerability
// database. Errors caused by a setting wrap ErrInvalidSettings; a missing
// vulnerability database wraps scanners.ErrNoDB.
func Build(s Settings, db *state.DB, bs *blobs.Store, actor string, log *slog.Logger) (
	r *ingest.Runner, done func() error, err error) {
	if (s.Mirror != "" || s.OCIMirror != "" || s.ImagePublisher != nil) && s.Policy == "" {
		return nil, nil, fmt.Errorf("%w: a mirror needs a policy: nothing is published without a recorded "+
			"verdict", ErrInvalidSettings)
	}
	client := fetch.New(fetch.WithLogger(log), fetch.WithRetries(s.Retries),
		fetch.WithBackoff(250*time.Millisecond, 10*time.Second))
	reg, err := npm.NewRegistry(s.Upstream, s.UpstreamToken, client)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrInvalidSettings, err)
	}
	r = &ingest.Runner{DB: db, Blobs: bs, NPM: reg, Images: ImageClient(s.Retries),
		Concurrency: s.Concurrency, Log: log, Actor: actor}
	r.VerifyImage = sign.UpstreamImageCheck{DB: db, Keychain: authn.DefaultKeychain,
		Options: sign.ImageOptions{Transport: oci.NewTransport(nil, s.Retries, 0)}}.Verify
	done = func() error { return nil }
	if s.Scan {
		scanner, err := NewScanner(s, db, bs, reg, log)
		if err != nil {
			return nil, nil, fmt.Errorf("scan stage: %w", err)
		}
		r.Scan = &scanners.Stage{Scanner: scanner, State: db}
		done = scanner.DB.Close
	}
	images, err := addPublishers(s, r, client)
	if err != nil {
		done()
		return nil, nil, err
	}
	if s.Policy != "" {
		p, err := policy.Load(s.Policy)
		if err != nil {
			done()
			return nil, nil, fmt.Errorf("%w: %w", ErrInvalidSettings, err)
		}
		opts := []approvals.Option{approvals.WithLogger(log)}
		if r.Scan != nil {
			opts = append(opts, approvals.WithFindings(approvals.StoredScans{DB: db}))
		}
		if approvals.NeedsReleaseTime(p) {
			opts = append(opts, approvals.WithReleaseTimes(scanners.NPMUpstream{Registry: reg}))
		}
		r.Evaluate = approvals.NewStage(p, db, bs, opts...)
	}
	if s.Signer != nil {
		var opts []sign.Option
		if images != nil {
			opts = append(opts, sign.WithImageRepository(images.TargetRepository))
		}
		r.Sign = approvals.RequireApproved(sign.NewStage(s.Signer, db, bs, ScanEvidence{DB: db, Blobs: bs},
			log, opts...))
	}
	return r, done, nil
}

// addPublishers sets the runner's npm and OCI publishers, each behind the
// approval gate, and returns the image publisher, if any.
func addPublishers(s Settings, r *ingest.Runner, client *fetch.Client) (ImagePublisher, error) {
	if s.Mirror != "" {
		pub, err := mirrornpm.New(s.Mirror, s.MirrorAuth, client)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrInvalidSettings, err)
		}
		if s.Signer != nil {
			pub.DistFields = sign.DistFields(r.DB, r.Blobs)
		}
		r.Publish = approvals.Gate(pub)
	}
	images := s.ImagePublisher
	if images == nil && s.OCIMirror != "" {
		pub, err := OCIPublisher(s.OCIMirror, s.OCIAuth, r.Blobs, s.Concurrency, s.Retries)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrInvalidSettings, err)
		}
		images = pub
	}
	if images != nil {
		r.PublishImages = approvals.GateImages(images)
	}
	return images, nil
}

// OCIPublisher returns a publisher to the registry and repository prefix
// mirror names. A nil auth uses the Docker configuration keychain;
// concurrency 0 means 8 parallel uploads.
func OCIPublisher(mirror string, auth authn.Authenticator, bs *blobs.Store, concurrency, retries int) (
	*mirroroci.Publisher, error) {
	opts := []mirroroci.Option{mirroroci.WithJobs(cmp.Or(concurrency, 8)),
		mirroroci.WithTransport(oci.NewTransport(nil, retries, 0))}
	if auth != nil {
		opts = append(opts, mirroroci.WithAuth(auth))
	} else {
		opts = append(opts, mirroroci.WithKeychain(authn.DefaultKeychain))
	}
	return mirroroci.New(mirror, bs, opts...)
}

// ImageClient reads upstream registries with the credentials of the
// Docker config file (DOCKER_CONFIG, ~/.docker/config.json), retrying
// like the npm client and honouring Retry-After.
func ImageClient(retries int) *oci.Client {
	return oci.NewClient(oci.WithKeychain(authn.DefaultKeychain),
		oci.WithTransport(oci.NewTransport(nil, retries, 0)), oci.WithAttempts(retries+1))
}
