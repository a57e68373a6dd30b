package oci

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"sort"

	"github.com/Masterminds/semver/v3"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/sluice-dev/sluice/manifests"
)

// ErrNotFound is returned for a tag, digest or repository the registry
// does not have.
var ErrNotFound = errors.New("not found")

// Request is one image entry of a manifest.
type Request struct {
	// Ref is a reference by tag or digest; or Repository and Tags select
	// tags by filter.
	Ref        string
	Repository string
	Tags       *manifests.TagFilter
	// Platforms to keep ("linux/amd64"); empty keeps all.
	Platforms []string
	// Attachments brings the upstream's signatures, attestations and SBOMs.
	Attachments bool
	// VerifyKeys are public key files that the upstream's cosign signature
	// is checked against before the image is accepted; empty skips the
	// check.
	VerifyKeys []string
	// Origin is the manifest entry of the request ("m.yaml:9:7 ref"), for
	// errors and the ledger.
	Origin string
	// Manifest is the metadata.name of the requesting manifest.
	Manifest string
}

// Resolved is an image resolved to the digest of its manifest or index.
type Resolved struct {
	// Repository is the full repository name, registry included
	// ("index.docker.io/library/alpine").
	Repository string
	Digest     string
	MediaType  string
	// Tags lists the requested tags that point at Digest.
	Tags        []string
	Platforms   []string
	Attachments bool
	VerifyKeys  []string
	RequestedBy string
	Manifest    string
}

// Reference returns the image's digest reference.
func (r *Resolved) Reference() string { return r.Repository + "@" + r.Digest }

// cosignTag matches the tags cosign and the OCI referrers fallback put
// beside an image; a tag filter never selects them.
var cosignTag = regexp.MustCompile(`^sha256-[0-9a-f]{64}(\..+)?$`)

// Resolve resolves a request to one image per selected digest. Tags that
// point at the same digest give one image carrying all of them.
func (c *Client) Resolve(ctx context.Context, req Request) ([]*Resolved, error) {
	if req.Ref != "" {
		ref, err := c.reference(req.Ref)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", req.Origin, err)
		}
		res, err := c.resolveOne(ctx, ref, req)
		if err != nil {
			return nil, err
		}
		return []*Resolved{res}, nil
	}
	repo, err := c.Repository(req.Repository)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", req.Origin, err)
	}
	all, err := remote.List(repo, c.remote(ctx)...)
	if err != nil {
		return nil, fmt.Errorf("%s: list tags of %s: %w", req.Origin, repo, notFound(err))
	}
	tags, err := FilterTags(all, req.Tags)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", req.Origin, err)
	}
	if len(tags) == 0 {
		return nil, fmt.Errorf("%s: %w: no tag of %s passes the filter (%d tags listed)",
			req.Origin, ErrNotFound, repo, len(all))
	}
	var out []*Resolved
	byDigest := map[string]*Resolved{}
	for _, tag := range tags {
		res, err := c.resolveOne(ctx, repo.Tag(tag), req)
		if err != nil {
			return nil, err
		}
		if prev, ok := byDigest[res.Digest]; ok {
			prev.Tags = append(prev.Tags, tag)
			continue
		}
		byDigest[res.Digest] = res
		out = append(out, res)
	}
	return out, nil
}

func (c *Client) resolveOne(ctx context.Context, ref name.Reference, req Request) (*Resolved, error) {
	desc, err := remote.Head(ref, c.remote(ctx)...)
	if err != nil {
		return nil, fmt.Errorf("%s: resolve %s: %w", req.Origin, ref, notFound(err))
	}
	res := &Resolved{Repository: ref.Context().Name(), Digest: desc.Digest.String(),
		MediaType: string(desc.MediaType), Platforms: req.Platforms, Attachments: req.Attachments, VerifyKeys: req.VerifyKeys,
		RequestedBy: req.Origin, Manifest: req.Manifest}
	if tag, ok := ref.(name.Tag); ok {
		res.Tags = []string{tag.TagStr()}
	} else if d, ok := ref.(name.Digest); ok && d.DigestStr() != res.Digest {
		return nil, fmt.Errorf("%s: resolve %s: the registry names digest %s instead",
			req.Origin, ref, res.Digest)
	}
	return res, nil
}

// FilterTags selects the tags that pass a filter, sorted by version from
// the highest when the filter compares versions, and by name otherwise.
func FilterTags(tags []string, f *manifests.TagFilter) ([]string, error) {
	var re *regexp.Regexp
	var constraint *semver.Constraints
	var err error
	if f.Regex != "" {
		if re, err = regexp.Compile("^(?:" + f.Regex + ")$"); err != nil {
			return nil, fmt.Errorf("invalid tag regex %q: %w", f.Regex, err)
		}
	}
	if f.Semver != "" {
		if constraint, err = semver.NewConstraint(f.Semver); err != nil {
			return nil, fmt.Errorf("invalid tag semver range %q: %w", f.Semver, err)
		}
	}
	byVersion := constraint != nil || f.Latest > 0

	type tagVersion struct {
		tag string
		v   *semver.Version
	}
	var kept []tagVersion
	for _, t := range tags {
		if cosignTag.MatchString(t) || (re != nil && !re.MatchString(t)) {
			continue
		}
		var v *semver.Version
		if byVersion {
			if v, err = semver.NewVersion(t); err != nil {
				continue
			}
			if constraint != nil && !constraint.Check(v) {
				continue
			}
		}
		kept = append(kept, tagVersion{t, v})
	}

	sort.SliceStable(kept, func(i, j int) bool {
		if byVersion {
			if c := kept[i].v.Compare(kept[j].v); c != 0 {
				return c > 0
			}
		}
		return kept[i].tag < kept[j].tag
	})
	if f.Latest > 0 && len(kept) > f.Latest {
		kept = kept[:f.Latest]
	}
	out := make([]string, len(kept))
	for i, k := range kept {
		out[i] = k.tag
	}
	return slices.Clip(out), nil
}

// notFound marks a registry's 404 responses (NAME_UNKNOWN,
// MANIFEST_UNKNOWN, BLOB_UNKNOWN) with ErrNotFound.
func notFound(err error) error {
	var terr *transport.Error
	if errors.As(err, &terr) && terr.StatusCode == http.StatusNotFound {
		return fmt.Errorf("%w: %w", ErrNotFound, err)
	}
	return err
}

// Size returns the bytes of an image's manifests and of the blobs they
// list, after the platform filter, as the registry's manifests state
// them. It reads manifests only and stores nothing. A blob that several
// platform images share counts once for each.
func (c *Client) Size(ctx context.Context, res *Resolved) (int64, error) {
	repo, err := c.Repository(res.Repository)
	if err != nil {
		return 0, err
	}
	return c.sizeOf(ctx, repo, res.Digest, res.MediaType, res.Platforms)
}

func (c *Client) sizeOf(ctx context.Context, repo name.Repository, digest, mediaType string,
	platforms []string) (int64, error) {
	raw, contentType, err := c.getManifest(ctx, repo, digest)
	if err != nil {
		return 0, fmt.Errorf("fetch manifest %s@%s: %w", repo, digest, err)
	}
	if mediaType == "" {
		mediaType = contentType
	}
	m, err := ParseManifest(raw, mediaType)
	if err != nil {
		return 0, fmt.Errorf("%s@%s: %w", repo, digest, err)
	}
	total := int64(len(raw))
	for _, b := range m.Blobs {
		total += b.Size
	}
	if !m.IsIndex() {
		return total, nil
	}
	kept, err := keepPlatforms(m.Children, platforms)
	if err != nil {
		return 0, fmt.Errorf("%s@%s: %w", repo, digest, err)
	}
	for _, child := range kept {
		n, err := c.sizeOf(ctx, repo, child.Digest.String(), string(child.MediaType), nil)
		if err != nil {
			return 0, err
		}
		total += n
	}
	return total, nil
}
