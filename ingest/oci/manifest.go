package oci

import (
	"encoding/json"
	"errors"
	"fmt"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// ErrUnsupportedMediaType is returned for a manifest whose media type is
// not an OCI or Docker v2 image manifest or index.
var ErrUnsupportedMediaType = errors.New("unsupported manifest media type")

// Manifest is what a manifest or index refers to, read from its bytes.
type Manifest struct {
	MediaType types.MediaType
	// Children are the manifests an index lists; empty for an image
	// manifest.
	Children []v1.Descriptor
	// Blobs are an image manifest's config and layers.
	Blobs []v1.Descriptor
	// Subject is the manifest this one refers to (OCI 1.1), if any.
	Subject *v1.Descriptor
	// ArtifactType is the manifest's artifactType, or its config media
	// type when it has none.
	ArtifactType string
}

// IsIndex reports whether the manifest is an OCI index or Docker manifest
// list.
func (m *Manifest) IsIndex() bool { return m.MediaType.IsIndex() }

// ParseManifest reads the references of a manifest. The media type comes
// from the document's mediaType field, or from contentType (the
// registry's Content-Type or the descriptor's media type) when the field
// is absent, as OCI allows.
func ParseManifest(raw []byte, contentType string) (*Manifest, error) {
	var doc struct {
		MediaType     types.MediaType `json:"mediaType"`
		ArtifactType  string          `json:"artifactType"`
		SchemaVersion int             `json:"schemaVersion"`
		Config        *v1.Descriptor  `json:"config"`
		Layers        []v1.Descriptor `json:"layers"`
		Manifests     []v1.Descriptor `json:"manifests"`
		Subject       *v1.Descriptor  `json:"subject"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, fmt.Errorf("invalid manifest JSON: %w", err)
	}
	mt := doc.MediaType
	if mt == "" {
		mt = types.MediaType(contentType)
	}
	m := &Manifest{MediaType: mt, Subject: doc.Subject, ArtifactType: doc.ArtifactType}
	switch mt {
	case types.OCIImageIndex, types.DockerManifestList:
		m.Children = doc.Manifests
	case types.OCIManifestSchema1, types.DockerManifestSchema2:
		if doc.Config == nil {
			return nil, fmt.Errorf("image manifest has no config")
		}
		m.Blobs = append([]v1.Descriptor{*doc.Config}, doc.Layers...)
		if m.ArtifactType == "" {
			m.ArtifactType = string(doc.Config.MediaType)
		}
	default:
		return nil, fmt.Errorf("%w %q (schemaVersion %d): Sluice copies OCI and Docker v2 image "+
			"manifests and indexes; rebuild or re-push the image with a current tool",
			ErrUnsupportedMediaType, mt, doc.SchemaVersion)
	}
	for _, d := range append(m.Children, m.Blobs...) {
		if d.Digest.Algorithm != "sha256" {
			return nil, fmt.Errorf("descriptor %s: only sha256 digests are supported", d.Digest)
		}
	}
	return m, nil
}
