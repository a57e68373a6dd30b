package oci

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/sluice-dev/sluice/ingest/state"
)

// SourceUpstream marks attachments copied from the upstream registry.
const SourceUpstream = "upstream"

// cosignSuffixes are the tag suffixes of cosign's tag scheme for
// signatures, attestations and SBOMs.
var cosignSuffixes = []string{".sig", ".att", ".sbom"}

// CosignTag returns the tag cosign's tag scheme gives an attachment of
// the image with digest ("sha256-<hex>.sig" for suffix ".sig").
func CosignTag(digest, suffix string) string {
	return strings.Replace(digest, ":", "-", 1) + suffix
}

// copyAttachments finds the manifests that refer to an image, by the
// cosign tag scheme and by the OCI 1.1 referrers API (or its tag
// fallback, which go-containerregistry reads when the API is missing),
// and copies each with its blobs.
func (f *Fetcher) copyAttachments(ctx context.Context, repo name.Repository, digest string,
	w *walk) ([]state.Attachment, error) {
	var found []state.Attachment
	for _, suffix := range cosignSuffixes {
		tag := CosignTag(digest, suffix)
		desc, err := remote.Head(repo.Tag(tag), f.client.remote(ctx)...)
		var terr *transport.Error
		if errors.As(err, &terr) && terr.StatusCode == http.StatusNotFound {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("look up %s:%s: %w", repo, tag, err)
		}
		found = append(found, state.Attachment{Digest: desc.Digest.String(),
			MediaType: string(desc.MediaType), Tag: tag, Subject: digest, Source: SourceUpstream})
	}
	idx, err := remote.Referrers(repo.Digest(digest), f.client.remote(ctx)...)
	if err != nil {
		return nil, fmt.Errorf("list referrers of %s@%s: %w", repo, digest, err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, fmt.Errorf("list referrers of %s@%s: %w", repo, digest, err)
	}
	for _, d := range im.Manifests {
		found = append(found, state.Attachment{Digest: d.Digest.String(),
			MediaType: string(d.MediaType), ArtifactType: d.ArtifactType, Subject: digest,
			Source: SourceUpstream})
	}
	aw := &walk{blobs: map[string]v1.Descriptor{}}
	for i, a := range found {
		if _, _, err := f.copyManifest(ctx, repo, a.Digest, a.MediaType, nil, aw); err != nil {
			return nil, fmt.Errorf("attachment %s: %w", a.Digest, err)
		}
		if found[i].ArtifactType == "" {
			raw, err := readBlob(f.store, a.Digest)
			if err != nil {
				return nil, err
			}
			if m, err := ParseManifest(raw, a.MediaType); err == nil {
				found[i].ArtifactType = m.ArtifactType
			}
		}
	}
	if err := f.copyBlobs(ctx, repo, aw); err != nil {
		return nil, fmt.Errorf("attachments of %s@%s: %w", repo, digest, err)
	}
	w.add(aw.size, aw.fetched)
	return found, nil
}
