package bundle

import (
	"fmt"
	"io"

	"github.com/sluice-dev/sluice/ingest/blobs"
	"github.com/sluice-dev/sluice/ingest/oci"
	"github.com/sluice-dev/sluice/ingest/state"
)

// Blob roles of a container image. The image's index or manifest is
// roleManifest; every other blob is named by its kind and digest, so
// incremental exports leave out layers an earlier bundle carried.
const (
	roleManifest = "manifest"
	// roleImage prefixes the child manifests, configs and layers of the
	// image; roleAttachment the attachment manifests and their blobs.
	roleImage      = "image:"
	roleAttachment = "attachment:"
)

// signSource is the Source of the attachments the signing stage of a sync
// makes for an image (the name of sign.Stage).
const signSource = "sign"

// hasOwnSignature reports whether an image carries an attachment that the
// outside's signing stage made.
func hasOwnSignature(a *state.Artifact) bool {
	for _, att := range a.Attachments {
		if att.Source == signSource {
			return true
		}
	}
	return false
}

// primaryRole is the role of the blob an artifact's digest names: the
// tarball of a package, the manifest or index of an image.
func primaryRole(a *state.Artifact) string {
	if a.Ecosystem == state.EcosystemOCI {
		return roleManifest
	}
	return "tarball"
}

// imageBlobs returns every blob an image artifact needs from the blob
// store by role: its index or manifest, each child manifest, config and
// layer, and each attachment manifest with the blobs it lists. It fails
// naming the first manifest or blob the store lacks.
func imageBlobs(bs *blobs.Store, a *state.Artifact) (map[string]string, error) {
	roles := map[string]string{roleManifest: a.Digest}
	if err := walkImage(bs, a.Digest, a.MediaType, roleImage, roles); err != nil {
		return nil, err
	}
	delete(roles, roleImage+a.Digest)
	for _, att := range a.Attachments {
		if err := walkImage(bs, att.Digest, att.MediaType, roleAttachment, roles); err != nil {
			return nil, fmt.Errorf("attachment %s: %w", att.Digest, err)
		}
	}
	return roles, nil
}

// walkImage adds a manifest and everything it refers to under prefix.
func walkImage(bs *blobs.Store, digest, mediaType, prefix string, roles map[string]string) error {
	roles[prefix+digest] = digest
	f, err := bs.Open(digest)
	if err != nil {
		return fmt.Errorf("manifest %s is not in the blob store: %w", digest, err)
	}
	raw, err := io.ReadAll(f)
	f.Close()
	if err != nil {
		return fmt.Errorf("read manifest %s: %w", digest, err)
	}
	m, err := oci.ParseManifest(raw, mediaType)
	if err != nil {
		return fmt.Errorf("manifest %s: %w", digest, err)
	}
	for _, child := range m.Children {
		if err := walkImage(bs, child.Digest.String(), string(child.MediaType), prefix, roles); err != nil {
			return err
		}
	}
	for _, b := range m.Blobs {
		d := b.Digest.String()
		if !bs.Has(d) {
			return fmt.Errorf("blob %s of manifest %s is not in the blob store", d, digest)
		}
		roles[prefix+d] = d
	}
	return nil
}
