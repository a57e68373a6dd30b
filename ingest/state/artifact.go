// Package state is Sluice's durable memory: artifacts and the state machine
// they move through, sync runs, and the append-only, hash-chained ledger that
// records every move. It is backed by a bbolt file. Every state transition
// and its ledger entry are written in one transaction, so neither can exist
// without the other.
package state

import (
	"fmt"
	"time"
)

// State is a step of the artifact state machine. The order of the constants
// is the order of the pipeline.
type State string

// The artifact states, in pipeline order. Rejected ends an artifact's life
// for its digest; a new version is a new artifact.
const (
	StateRequested        State = "requested"
	StateResolved         State = "resolved"
	StateFetched          State = "fetched"
	StateScanned          State = "scanned"
	StateEvaluated        State = "evaluated"
	StateAwaitingApproval State = "awaiting-approval"
	StateApproved         State = "approved"
	StateRejected         State = "rejected"
	StateSigned           State = "signed"
	StatePublished        State = "published"
	StatePinned           State = "pinned"
)

// Ecosystem names the kind of package an artifact is.
type Ecosystem string

// Ecosystems Sluice ingests.
const (
	EcosystemNPM Ecosystem = "npm"
	// EcosystemOCI artifacts are container images: Name is the upstream
	// repository ("registry/path") and Version the digest of its manifest
	// or index.
	EcosystemOCI Ecosystem = "oci"
)

// Artifact is one exact, immutable thing that enters through Sluice: an npm
// package version or a container image. Its identity is ecosystem, name and
// version. Its content is the blob named by Digest; for an image that is
// the manifest or index, which names every other blob.
type Artifact struct {
	Ecosystem Ecosystem `json:"ecosystem"`
	Name      string    `json:"name"`
	Version   string    `json:"version"`
	State     State     `json:"state"`

	// Digest is the sha256 digest of the tarball in the blob store
	// ("sha256:<hex>"), set once the artifact is fetched.
	Digest string `json:"digest,omitempty"`
	// Integrity is the Subresource Integrity string the upstream registry
	// published (npm: "sha512-<base64>"); Shasum is its legacy sha1 hex.
	Integrity string `json:"integrity,omitempty"`
	Shasum    string `json:"shasum,omitempty"`
	// LockIntegrity is the integrity a lockfile recorded for the version,
	// checked against the tarball as well.
	LockIntegrity string `json:"lockIntegrity,omitempty"`
	Size          int64  `json:"size,omitempty"`
	// TarballURL is the upstream registry's URL of the tarball.
	TarballURL string `json:"tarballURL,omitempty"`

	// Manifests lists the manifests (by metadata.name) that asked for the
	// artifact, directly or as a dependency.
	Manifests []string `json:"manifests,omitempty"`
	// Owner and DataClass come from the first manifest that asked for it.
	Owner     string `json:"owner,omitempty"`
	DataClass string `json:"dataClass,omitempty"`
	// Requester is the identity that ran the sync (or filed the request)
	// that first brought the artifact in; it may never approve it.
	Requester string `json:"requester,omitempty"`

	// Tags lists the upstream dist-tags that pointed at this version when
	// it was resolved, so the mirror can carry the same tags.
	Tags []string `json:"tags,omitempty"`
	// RequestedBy is the first request for the artifact: a manifest entry
	// ("manifests/app.yaml:12 lodash@^4.17.0"), a lockfile entry, or the
	// dependency edge that pulled it in ("chalk@4.1.2 -> ansi-styles@^4.1.0").
	RequestedBy string `json:"requestedBy,omitempty"`

	// Mirrors lists the base URLs of the mirrors the artifact was published
	// to; pinning points lockfiles only at one of them.
	Mirrors []string `json:"mirrors,omitempty"`

	// MediaType is the media type of the blob Digest names, for images
	// (an OCI or Docker manifest or index).
	MediaType string `json:"mediaType,omitempty"`
	// Attachments are the OCI manifests that refer to an image:
	// signatures, attestations and SBOMs, from upstream or made by Sluice.
	// Their bytes are in the blob store; the publisher pushes them after
	// the image.
	Attachments []Attachment `json:"attachments,omitempty"`

	// Skipped names the pipeline stages that were not configured when the
	// artifact passed them, so the ledger shows they did not run.
	Skipped []State `json:"skipped,omitempty"`

	Created time.Time `json:"created"`
	Updated time.Time `json:"updated"`
}

// Key returns the artifact's identity in the state store, for example
// "npm/@backstage/core-app-api@1.15.0".
func (a *Artifact) Key() string {
	return ArtifactKey(a.Ecosystem, a.Name, a.Version)
}

// ArtifactKey builds the state store key of an artifact.
func ArtifactKey(eco Ecosystem, name, version string) string {
	return fmt.Sprintf("%s/%s@%s", eco, name, version)
}

// Attachment is an OCI manifest that refers to an image. It is published
// by Tag when set (the cosign scheme "sha256-<hex>.sig", ".att", ".sbom"),
// and by digest otherwise. A manifest published by digest that has a
// subject field is found through the OCI 1.1 referrers API or its tag
// fallback.
type Attachment struct {
	// Digest names the manifest's bytes in the blob store; the blobs it
	// lists are stored as well.
	Digest    string `json:"digest"`
	MediaType string `json:"mediaType"`
	// ArtifactType is the manifest's artifactType, or its config media
	// type when it has none.
	ArtifactType string `json:"artifactType,omitempty"`
	Tag          string `json:"tag,omitempty"`
	// Subject is the digest of the manifest the attachment refers to: the
	// image's index or manifest, or one platform's manifest.
	Subject string `json:"subject,omitempty"`
	// Source is "upstream" for attachments copied from the upstream
	// registry, or the name of the Sluice stage that made it.
	Source string `json:"source"`
}
