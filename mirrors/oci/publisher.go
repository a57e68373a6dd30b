// Package oci publishes container images to any OCI distribution
// registry: the CNCF distribution registry, Harbor, Zot, a cloud
// registry. Manifests and blobs come from Sluice's blob store and are
// pushed byte for byte, so every digest on the mirror equals the
// upstream's. A blob the target repository already has is skipped after a
// HEAD request, and a blob this publisher pushed to another repository of
// the same registry is mounted from there instead of sent again.
//
// Credentials are pluggable (an authn.Authenticator or authn.Keychain), so
// a publisher for a registry with its own provisioning API, such as
// Harbor, creates its projects and robot accounts and hands the robot's
// credentials to this one.
package oci

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/sluice-dev/sluice/ingest/blobs"
	"github.com/sluice-dev/sluice/ingest/oci"
	"github.com/sluice-dev/sluice/ingest/state"
)

// Publisher pushes images from the blob store to one registry, under a
// repository prefix. It is safe for concurrent use.
type Publisher struct {
	target    name.Repository
	store     *blobs.Store
	keychain  authn.Keychain
	transport http.RoundTripper
	nameOpts  []name.Option
	jobs      int
	pusher    *remote.Pusher

	mu sync.Mutex
	// located maps a blob digest to a repository on the target that this
	// publisher has seen holding it, to mount from.
	located map[string]name.Repository
	// uploading maps a blob digest whose upload runs to a channel closed
	// when it ends.
	uploading map[string]chan struct{}
}

// Option configures a Publisher.
type Option func(*Publisher)

// WithAuth sends the same credentials for every request to the target
// registry, such as a Harbor robot account's.
func WithAuth(a authn.Authenticator) Option {
	return func(p *Publisher) { p.keychain = staticKeychain{a} }
}

// WithKeychain looks credentials up per registry, for example in the
// Docker config file (authn.DefaultKeychain).
func WithKeychain(k authn.Keychain) Option { return func(p *Publisher) { p.keychain = k } }

// WithTransport sets the HTTP transport (oci.NewTransport adds
// Retry-After handling).
func WithTransport(t http.RoundTripper) Option { return func(p *Publisher) { p.transport = t } }

// WithInsecure reaches the registry over plain HTTP. Loopback and
// private network addresses use plain HTTP without it.
func WithInsecure() Option {
	return func(p *Publisher) { p.nameOpts = append(p.nameOpts, name.Insecure) }
}

// WithJobs bounds parallel blob uploads per image (default 4).
func WithJobs(n int) Option { return func(p *Publisher) { p.jobs = max(n, 1) } }

// New returns a publisher to target, a registry host with an optional
// repository prefix ("harbor.example/mirror"). An upstream repository is
// published under the prefix with its path kept:
// docker.io/library/alpine goes to harbor.example/mirror/library/alpine.
func New(target string, store *blobs.Store, opts ...Option) (*Publisher, error) {
	p := &Publisher{store: store, keychain: authn.NewMultiKeychain(), jobs: 4,
		located: map[string]name.Repository{}, uploading: map[string]chan struct{}{}}
	for _, o := range opts {
		o(p)
	}
	if p.transport == nil {
		p.transport = oci.NewTransport(nil, 3, 0)
	}
	target = strings.TrimSuffix(target, "/")
	if !strings.Contains(target, "/") {
		// A bare registry parses as a Docker Hub repository; the
		// placeholder path is dropped again by TargetRepository.
		target += "/" + placeholder
	}
	repo, err := name.NewRepository(target, p.nameOpts...)
	if err != nil {
		return nil, fmt.Errorf("invalid OCI mirror %q: give a registry host with an optional "+
			"repository prefix, such as harbor.example/mirror: %w", target, err)
	}
	p.target = repo
	p.pusher, err = remote.NewPusher(p.remote(context.Background())...)
	if err != nil {
		return nil, err
	}
	return p, nil
}

const placeholder = "sluice-placeholder"

func (p *Publisher) prefix() string {
	return strings.TrimSuffix(strings.TrimSuffix(p.target.RepositoryStr(), placeholder), "/")
}

func (p *Publisher) remote(ctx context.Context) []remote.Option {
	return []remote.Option{remote.WithContext(ctx), remote.WithAuthFromKeychain(p.keychain),
		remote.WithTransport(p.transport), remote.WithUserAgent("sluice")}
}

// Name returns "oci".
func (p *Publisher) Name() string { return "oci" }

// URL returns the registry and prefix images are published under.
func (p *Publisher) URL() string {
	if prefix := p.prefix(); prefix != "" {
		return p.target.RegistryStr() + "/" + prefix
	}
	return p.target.RegistryStr()
}

// TargetRepository returns the repository on the mirror that an upstream
// repository is published to.
// NOTE: the upstream registry host is dropped, so repositories with the
// same path on two upstream registries share one mirror repository.
func (p *Publisher) TargetRepository(upstream string) (name.Repository, error) {
	up, err := name.NewRepository(upstream)
	if err != nil {
		return name.Repository{}, fmt.Errorf("invalid upstream repository %q: %w", upstream, err)
	}
	path := up.RepositoryStr()
	if prefix := p.prefix(); prefix != "" {
		path = prefix + "/" + path
	}
	return p.target.Registry.Repo(path), nil
}

// Check verifies that the credentials may push under the prefix, by
// starting a blob upload to a repository below it and cancelling the
// upload. Registries such as Harbor create a repository only when a
// manifest is pushed, so the check leaves nothing behind there.
func (p *Publisher) Check(ctx context.Context) error {
	path := placeholder
	if prefix := p.prefix(); prefix != "" {
		path = prefix + "/" + placeholder
	}
	ref := p.target.Registry.Repo(path).Tag("check")
	if err := remote.CheckPushPermission(ref, p.keychain, p.transport); err != nil {
		return fmt.Errorf("OCI mirror %s: cannot push: %w", p.URL(), err)
	}
	return nil
}

// PublishImage pushes an image, then its tags, then its attachments, and
// returns the repository it was published to. present reports that the
// mirror already had the image's manifest, so no blob of the image was
// sent. Tags and attachments are pushed either way.
func (p *Publisher) PublishImage(ctx context.Context, a *state.Artifact) (string, bool, error) {
	if a.Ecosystem != state.EcosystemOCI {
		return "", false, fmt.Errorf("%s: not a container image", a.Key())
	}
	repo, err := p.TargetRepository(a.Name)
	if err != nil {
		return "", false, err
	}
	present, err := p.has(ctx, repo, a.Digest)
	if err != nil {
		return "", false, err
	}
	if !present {
		if err := p.pushGraph(ctx, repo, a.Digest, a.MediaType); err != nil {
			return "", false, err
		}
	}
	top, err := p.taggable(a.Digest, a.MediaType)
	if err != nil {
		return "", false, err
	}
	for _, tag := range a.Tags {
		if err := p.pusher.Put(ctx, repo.Tag(tag), top); err != nil {
			return "", false, fmt.Errorf("tag %s:%s: %w", repo, tag, err)
		}
	}
	for _, att := range publishedAttachments(a.Attachments) {
		if err := p.publishAttachment(ctx, repo, att); err != nil {
			return "", false, err
		}
	}
	return repo.Name(), present, nil
}

// publishedAttachments drops an upstream attachment whose tag a Sluice
// stage's attachment carries as well. The stage's manifest contains the
// upstream layers plus its own. Pushing both would leave the tag on
// whichever came last.
func publishedAttachments(atts []state.Attachment) []state.Attachment {
	own := map[string]bool{}
	for _, att := range atts {
		if att.Tag != "" && att.Source != oci.SourceUpstream {
			own[att.Tag] = true
		}
	}
	out := make([]state.Attachment, 0, len(atts))
	for _, att := range atts {
		if att.Source == oci.SourceUpstream && own[att.Tag] {
			continue
		}
		out = append(out, att)
	}
	return out
}

func (p *Publisher) publishAttachment(ctx context.Context, repo name.Repository, att state.Attachment) error {
	present, err := p.has(ctx, repo, att.Digest)
	if err != nil {
		return err
	}
	if !present {
		if err := p.pushGraph(ctx, repo, att.Digest, att.MediaType); err != nil {
			return fmt.Errorf("attachment %s: %w", att.Digest, err)
		}
	}
	if att.Tag == "" {
		return nil
	}
	t, err := p.taggable(att.Digest, att.MediaType)
	if err != nil {
		return err
	}
	if err := p.pusher.Put(ctx, repo.Tag(att.Tag), t); err != nil {
		return fmt.Errorf("attachment tag %s:%s: %w", repo, att.Tag, err)
	}
	return nil
}

// has reports whether the repository has a manifest.
func (p *Publisher) has(ctx context.Context, repo name.Repository, digest string) (bool, error) {
	_, err := remote.Head(repo.Digest(digest), p.remote(ctx)...)
	var terr *transport.Error
	switch {
	case err == nil:
		return true, nil
	case errors.As(err, &terr) && terr.StatusCode == http.StatusNotFound:
		return false, nil
	}
	return false, fmt.Errorf("look up %s@%s: %w", repo, digest, err)
}

// staticKeychain returns one authenticator for every registry.
type staticKeychain struct{ auth authn.Authenticator }

func (k staticKeychain) Resolve(authn.Resource) (authn.Authenticator, error) { return k.auth, nil }
