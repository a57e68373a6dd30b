package oci

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// maxManifestBytes bounds a manifest download; OCI registries commonly
// reject manifests over 4 MiB.
const maxManifestBytes = 4 << 20

// acceptManifests lists the manifest media types Sluice copies.
var acceptManifests = strings.Join([]string{string(types.OCIImageIndex), string(types.OCIManifestSchema1),
	string(types.DockerManifestList), string(types.DockerManifestSchema2)}, ", ")

// getManifest downloads a manifest's bytes and Content-Type. It does not
// check the digest: the caller does, so that a mismatch is reported as
// ErrDigestMismatch with both digests.
func (c *Client) getManifest(ctx context.Context, repo name.Repository, reference string) ([]byte, string, error) {
	rt, err := c.repoTransport(ctx, repo)
	if err != nil {
		return nil, "", err
	}
	u := fmt.Sprintf("%s://%s/v2/%s/manifests/%s", repo.Scheme(), repo.RegistryStr(), repo.RepositoryStr(), reference)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, "", err
	}
	req.Header.Set("Accept", acceptManifests)
	resp, err := (&http.Client{Transport: rt}).Do(req)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	if err := transport.CheckError(resp, http.StatusOK); err != nil {
		return nil, "", notFound(err)
	}
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxManifestBytes+1))
	if err != nil {
		return nil, "", err
	}
	if len(raw) > maxManifestBytes {
		return nil, "", fmt.Errorf("manifest is larger than %d bytes", maxManifestBytes)
	}
	return raw, resp.Header.Get("Content-Type"), nil
}

// repoTransport returns an authenticated transport with pull scope on a
// repository, made once per repository.
func (c *Client) repoTransport(ctx context.Context, repo name.Repository) (http.RoundTripper, error) {
	if rt, ok := c.transports.Load(repo.Name()); ok {
		return rt.(http.RoundTripper), nil
	}
	auth, err := authn.Resolve(ctx, c.keychain, repo)
	if err != nil {
		return nil, fmt.Errorf("credentials for %s: %w", repo, err)
	}
	rt, err := transport.NewWithContext(ctx, repo.Registry, auth, transport.NewRetry(c.transport),
		[]string{repo.Scope(transport.PullScope)})
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", repo.RegistryStr(), err)
	}
	c.transports.Store(repo.Name(), rt)
	return rt, nil
}

// getBlob starts a blob download at offset, with a Range request when
// offset is above zero. partial reports that the registry honoured the
// range (206); a registry that ignores it sends the whole blob (200).
func (c *Client) getBlob(ctx context.Context, repo name.Repository, digest string,
	offset int64) (body io.ReadCloser, partial bool, err error) {
	rt, err := c.repoTransport(ctx, repo)
	if err != nil {
		return nil, false, err
	}
	u := fmt.Sprintf("%s://%s/v2/%s/blobs/%s", repo.Scheme(), repo.RegistryStr(), repo.RepositoryStr(), digest)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, false, err
	}
	if offset > 0 {
		req.Header.Set("Range", fmt.Sprintf("bytes=%d-", offset))
	}
	resp, err := (&http.Client{Transport: rt}).Do(req)
	if err != nil {
		return nil, false, err
	}
	if err := transport.CheckError(resp, http.StatusOK, http.StatusPartialContent); err != nil {
		resp.Body.Close()
		return nil, false, notFound(err)
	}
	return resp.Body, resp.StatusCode == http.StatusPartialContent, nil
}
