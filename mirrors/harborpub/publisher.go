// Package harborpub publishes container images to a project of a Harbor
// registry. It joins Harbor's REST API v2.0 (package mirrors/harbor) to
// the OCI push of package mirrors/oci. Check creates the project with its
// security settings and two project robot accounts: one that Sluice
// pushes with and one that builds pull with. PublishImage pushes with the
// push robot's credentials, never the administrator's, and then reads
// the artifact back through the API to confirm that Harbor holds it.
//
// Robot secrets are kept in docker config.json files under the
// configured folder, because Harbor returns a secret only when it creates
// a robot or refreshes its secret.
package harborpub

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"sync"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/sluice-dev/sluice/ingest/blobs"
	"github.com/sluice-dev/sluice/ingest/state"
	"github.com/sluice-dev/sluice/mirrors/harbor"
	"github.com/sluice-dev/sluice/mirrors/oci"
)

// Config is the Harbor project images are published to.
type Config struct {
	// Project is the project's name. Images go to <host>/<project>/<path>.
	Project string
	// Settings are enforced on the project at each Check.
	Settings harbor.ProjectSettings
	// Dir holds the robot credential files, such as <data-dir>/harbor.
	Dir string
}

// Publisher publishes images to one Harbor project. It is safe for
// concurrent use once Check has returned.
type Publisher struct {
	cfg      Config
	admin    *harbor.Client
	store    *blobs.Store
	registry string // host[:port] of Harbor's registry, which is its API host
	ociOpts  []oci.Option
	log      *slog.Logger

	// push is the OCI publisher with the push robot's credentials, set by
	// Check.
	push *oci.Publisher
	// pushRobot is the push robot's full name, for error messages.
	pushRobot string

	mu sync.Mutex
	// evidence holds the fields read back per "repository@digest".
	evidence map[string]map[string]string
}

// Option configures a Publisher.
type Option func(*Publisher)

// WithLogger sets the logger for project and robot changes and for where
// credential files are written. Secrets are never logged.
func WithLogger(l *slog.Logger) Option { return func(p *Publisher) { p.log = l } }

// WithOCIOptions passes options to the OCI publisher that pushes, such as
// oci.WithJobs or oci.WithTransport. Its credentials are always the push
// robot's.
func WithOCIOptions(opts ...oci.Option) Option {
	return func(p *Publisher) { p.ociOpts = append(p.ociOpts, opts...) }
}

// New returns a publisher to the project cfg names on the Harbor that
// admin calls. admin authenticates as a user who may create projects and
// robot accounts, usually a Harbor administrator. It is used for the REST
// API only.
func New(admin *harbor.Client, cfg Config, store *blobs.Store, opts ...Option) (*Publisher, error) {
	if cfg.Project == "" {
		return nil, errors.New("harbor publisher: no project given: name the Harbor project to publish to")
	}
	if cfg.Dir == "" {
		return nil, errors.New("harbor publisher: no folder for the robot credential files given")
	}
	if err := cfg.Settings.Validate(); err != nil {
		return nil, fmt.Errorf("harbor project %q: %w", cfg.Project, err)
	}
	u, err := url.Parse(admin.URL())
	if err != nil {
		return nil, fmt.Errorf("harbor publisher: invalid Harbor URL %q: %w", admin.URL(), err)
	}
	p := &Publisher{cfg: cfg, admin: admin, store: store, registry: u.Host,
		log: slog.New(slog.DiscardHandler), evidence: map[string]map[string]string{}}
	if u.Scheme == "http" {
		p.ociOpts = append(p.ociOpts, oci.WithInsecure())
	}
	for _, o := range opts {
		o(p)
	}
	return p, nil
}

// Name returns "harbor".
func (p *Publisher) Name() string { return "harbor" }

// URL returns the registry host and project images are published under,
// such as harbor.example/mirror.
func (p *Publisher) URL() string { return p.registry + "/" + p.cfg.Project }

// TargetRepository returns the repository in the project that an upstream
// repository is published to, mapped as the OCI publisher maps it.
func (p *Publisher) TargetRepository(upstream string) (name.Repository, error) {
	mapping, err := oci.New(p.URL(), p.store, p.ociOpts...)
	if err != nil {
		return name.Repository{}, err
	}
	return mapping.TargetRepository(upstream)
}

// PushCredentials returns the docker config.json holding the push robot's
// secret, which only Sluice uses.
func (p *Publisher) PushCredentials() string {
	return filepath.Join(p.cfg.Dir, p.cfg.Project+"-push", "config.json")
}

// PullCredentials returns the docker config.json holding the pull robot's
// secret, for build agents: they read it with DOCKER_CONFIG set to its
// folder.
func (p *Publisher) PullCredentials() string {
	return filepath.Join(p.cfg.Dir, p.cfg.Project+"-pull", "config.json")
}

// Check verifies the administrator's credentials, creates the project or
// corrects its settings, creates or corrects the push and pull robot
// accounts, writes their credential files, and checks that the push
// robot may push to the project. A stored push secret that Harbor
// rejects is refreshed once.
func (p *Publisher) Check(ctx context.Context) error {
	if _, err := p.admin.Check(ctx); err != nil {
		return err
	}
	res, err := p.admin.EnsureProject(ctx, p.cfg.Project, p.cfg.Settings)
	if err != nil {
		return err
	}
	for _, ch := range res.Changes {
		p.log.Info("harbor project changed", "project", p.cfg.Project, "change", ch.String())
	}
	pull, fresh, err := p.ensureRobot(ctx, harbor.PullRobot(p.cfg.Project), p.PullCredentials(), false)
	if err != nil {
		return err
	}
	if fresh {
		p.log.Info("wrote the pull robot's credentials for build agents: set DOCKER_CONFIG to its folder",
			"file", p.PullCredentials(), "robot", pull.Username, "registry", p.URL())
	}
	rejected := false
	for {
		push, _, err := p.ensureRobot(ctx, harbor.PushRobot(p.cfg.Project), p.PushCredentials(), rejected)
		if err != nil {
			return err
		}
		opts := append(append([]oci.Option(nil), p.ociOpts...),
			oci.WithAuth(&authn.Basic{Username: push.Username, Password: push.Secret}))
		pub, err := oci.New(p.URL(), p.store, opts...)
		if err != nil {
			return err
		}
		err = pub.Check(ctx)
		if status(err) == http.StatusUnauthorized && !rejected {
			rejected = true
			continue
		}
		if err != nil {
			return p.pushError(err)
		}
		p.push, p.pushRobot = pub, push.Username
		return nil
	}
}

// PublishImage pushes an image, its tags and its attachments with the
// push robot's credentials, then reads the image back through Harbor's
// API and fails unless Harbor shows it with the pushed digest. The
// artifact's ID, tags and scan overview are kept for PublishEvidence.
func (p *Publisher) PublishImage(ctx context.Context, a *state.Artifact) (string, bool, error) {
	if p.push == nil {
		return "", false, errors.New("harbor publisher: Check was not called before PublishImage")
	}
	repo, present, err := p.push.PublishImage(ctx, a)
	if err != nil {
		return "", false, p.pushError(err)
	}
	target, err := p.push.TargetRepository(a.Name)
	if err != nil {
		return "", false, err
	}
	inner := strings.TrimPrefix(target.RepositoryStr(), p.cfg.Project+"/")
	art, err := p.admin.Artifact(ctx, p.cfg.Project, inner, a.Digest)
	if errors.Is(err, harbor.ErrNotFound) {
		return "", false, fmt.Errorf("harbor project %q: read back %s@%s after the push: Harbor's API "+
			"does not show the artifact its registry accepted: check Harbor's core and registry logs: %w",
			p.cfg.Project, inner, a.Digest, err)
	}
	if err != nil {
		return "", false, fmt.Errorf("harbor project %q: read back %s@%s after the push: %w",
			p.cfg.Project, inner, a.Digest, err)
	}
	if art.Digest != a.Digest {
		return "", false, fmt.Errorf("harbor project %q: read back %s@%s after the push: Harbor shows "+
			"digest %s: the registry and Harbor's database disagree, check Harbor's core and registry logs",
			p.cfg.Project, inner, a.Digest, art.Digest)
	}
	p.mu.Lock()
	p.evidence[repo+"@"+a.Digest] = artifactEvidence(art)
	p.mu.Unlock()
	return repo, present, nil
}

// PublishEvidence returns what Harbor showed of the image when it was
// read back: the artifact ID, its tags and the scan overview, under keys
// starting with "harbor.". It returns nil for an image not published by
// this publisher.
func (p *Publisher) PublishEvidence(repository, digest string) map[string]string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.evidence[repository+"@"+digest]
}

func artifactEvidence(a harbor.Artifact) map[string]string {
	tags := make([]string, 0, len(a.Tags))
	for _, t := range a.Tags {
		tags = append(tags, t.Name)
	}
	ev := map[string]string{"harbor.artifactID": fmt.Sprint(a.ID), "harbor.tags": strings.Join(tags, ",")}
	scan, ok := a.Scan()
	if !ok {
		ev["harbor.scanStatus"] = "not scanned"
		return ev
	}
	ev["harbor.scanStatus"] = scan.ScanStatus
	ev["harbor.scanSeverity"] = scan.Severity
	ev["harbor.scanTotal"] = fmt.Sprint(scan.Summary.Total)
	ev["harbor.scanFixable"] = fmt.Sprint(scan.Summary.Fixable)
	ev["harbor.scanner"] = strings.TrimSpace(scan.Scanner.Name + " " + scan.Scanner.Version)
	return ev
}

// pushError explains a registry's 401 or 403 to a push in terms of the
// project, the robot account and the permission it lacks.
func (p *Publisher) pushError(err error) error {
	robot := p.pushRobot
	if robot == "" {
		robot = "sluice-push"
	}
	switch status(err) {
	case http.StatusUnauthorized:
		return fmt.Errorf("harbor project %q: Harbor's registry rejected the credentials of robot "+
			"account %s (401): delete %s and run sync again to refresh its secret: %w",
			p.cfg.Project, robot, p.PushCredentials(), err)
	case http.StatusForbidden:
		return fmt.Errorf("harbor project %q: robot account %s lacks the permission repository:push "+
			"(403): run sync again so Sluice restores the robot's permissions, or grant it in Harbor: %w",
			p.cfg.Project, robot, err)
	}
	return fmt.Errorf("harbor project %q: push: %w", p.cfg.Project, err)
}

// status returns the HTTP status of a registry error, or 0.
func status(err error) int {
	var terr *transport.Error
	if errors.As(err, &terr) {
		return terr.StatusCode
	}
	return 0
}
