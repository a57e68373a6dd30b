// Package ingest runs a sync. It resolves what manifests request to exact
// artifacts (npm: the full dependency closure), fetches them with retries
// and checks their integrity. It keeps their bytes in the content-addressed
// blob store, passes them through the scan, evaluation and signing stages,
// and hands them to a mirror's Publisher. Every move of every artifact is a
// transition in the state store with its ledger entry, so a run that is
// killed or fails continues from where each artifact stopped. It knows no
// mirror's API.
package ingest

import (
	"context"
	"os"

	"github.com/sluice-dev/sluice/ingest/state"
)

// Outcome is a stage's decision about one artifact.
type Outcome struct {
	// To is the state the artifact moves to: the stage's target on
	// success, or another state the machine allows (an evaluation may end
	// in awaiting-approval or rejected).
	To state.State
	// Evidence goes into the ledger entry of the move.
	Evidence map[string]string
	// Update, when set, edits the artifact in the transaction of the move,
	// for example to record the attachments a signing stage made.
	Update func(*state.Artifact)
}

// Stage is one step between fetched and published: scanning, evaluation
// with approval, or signing. The scanners, approvals and signing code
// provide the implementations. A Runner with no stage in a slot records
// that slot's states as skipped on the artifact's next transition.
type Stage interface {
	// Name identifies the stage in logs and errors.
	Name() string
	// Process examines one artifact whose bytes the blob store holds.
	// tarball opens the blob a.Digest names: an npm tarball, or an
	// image's top manifest or index, which names the image's other blobs.
	Process(ctx context.Context, a *state.Artifact, tarball func() (*os.File, error)) (Outcome, error)
}

// Publisher makes artifacts available on an internal mirror.
type Publisher interface {
	// Name identifies the mirror in logs and the ledger.
	Name() string
	// URL is the mirror's base URL, recorded on each artifact it receives.
	URL() string
	// Check verifies that the mirror is reachable and accepts the
	// credentials, before anything is published.
	Check(ctx context.Context) error
	// Publish uploads the artifact's original tarball unless the mirror
	// already has that version; present reports that it had. An existing
	// version whose integrity differs is an error.
	Publish(ctx context.Context, a *state.Artifact, tarball func() (*os.File, error)) (present bool, err error)
	// SetTags points the mirror's dist-tags of a package at versions it
	// holds.
	SetTags(ctx context.Context, name string, tags map[string]string) error
	// TarballURL returns where the mirror serves an artifact's tarball.
	TarballURL(name, version string) string
}

// ImagePublisher makes container images available on an internal
// registry. PublishImage pushes the image's blobs and manifests from the
// blob store, then its tags, then every attachment recorded on the
// artifact (state.Attachment: signatures, attestations and SBOMs from
// upstream or made by a stage), each after its own blobs.
type ImagePublisher interface {
	// Name identifies the mirror in logs and the ledger.
	Name() string
	// URL is the registry and repository prefix images are published under.
	URL() string
	// Check verifies that the registry is reachable and accepts the
	// credentials, before anything is published.
	Check(ctx context.Context) error
	// PublishImage publishes an image and returns the repository it lives
	// in on the mirror ("registry/path"); present reports that the mirror
	// already had its manifest.
	PublishImage(ctx context.Context, a *state.Artifact) (repository string, present bool, err error)
}

// ImageEvidence is implemented by image publishers that read an image
// back from the mirror after pushing it and have facts to record about
// it, such as the mirror's own scan overview. The Runner adds those
// fields to the ledger entry of the move to published, keeping its own
// fields where a name is taken twice.
type ImageEvidence interface {
	// PublishEvidence returns the fields recorded when the image with
	// digest was last published to repository, or nil.
	PublishEvidence(repository, digest string) map[string]string
}
