package oci

import (
	"context"
	"fmt"
	"net/http"
	"sync"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// Client reads images from registries. It is safe for concurrent use.
type Client struct {
	keychain  authn.Keychain
	transport http.RoundTripper
	nameOpts  []name.Option
	// attempts is how often a blob download is tried before it fails.
	attempts int
	// transports caches an authenticated transport per repository.
	transports sync.Map
}

// Option configures a Client.
type Option func(*Client)

// WithKeychain sets where credentials for each registry come from
// (default: anonymous access).
func WithKeychain(k authn.Keychain) Option { return func(c *Client) { c.keychain = k } }

// WithTransport sets the HTTP transport. NewTransport adds Retry-After
// handling to one; go-containerregistry adds its own retries on top.
func WithTransport(t http.RoundTripper) Option { return func(c *Client) { c.transport = t } }

// WithInsecure reaches registries over plain HTTP. Loopback and private
// network addresses use plain HTTP without it, as go-containerregistry
// decides.
func WithInsecure() Option {
	return func(c *Client) { c.nameOpts = append(c.nameOpts, name.Insecure) }
}

// WithAttempts sets how often a blob download is tried before it fails
// (default 3); a download cut off midway starts again.
func WithAttempts(n int) Option { return func(c *Client) { c.attempts = max(n, 1) } }

// NewClient returns a client with the given options.
func NewClient(opts ...Option) *Client {
	c := &Client{keychain: authn.NewMultiKeychain(), attempts: 3}
	for _, o := range opts {
		o(c)
	}
	if c.transport == nil {
		c.transport = NewTransport(nil, 3, 0)
	}
	return c
}

// remote returns the go-containerregistry options for one call.
func (c *Client) remote(ctx context.Context) []remote.Option {
	return []remote.Option{remote.WithContext(ctx), remote.WithAuthFromKeychain(c.keychain),
		remote.WithTransport(c.transport), remote.WithUserAgent("sluice")}
}

// Repository parses a repository name with the client's name options.
func (c *Client) Repository(repo string) (name.Repository, error) {
	r, err := name.NewRepository(repo, c.nameOpts...)
	if err != nil {
		return name.Repository{}, fmt.Errorf("invalid repository %q: %w", repo, err)
	}
	return r, nil
}

func (c *Client) reference(ref string) (name.Reference, error) {
	r, err := name.ParseReference(ref, c.nameOpts...)
	if err != nil {
		return nil, fmt.Errorf("invalid image reference %q: %w", ref, err)
	}
	return r, nil
}
