package approvals

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"

	"github.com/sluice-dev/sluice/ingest"
	"github.com/sluice-dev/sluice/ingest/state"
)

// ErrNotApproved is returned by the gates for an artifact that has no
// approval: its state is not approved or signed, or it reached that state
// by skipping evaluation or approval.
var ErrNotApproved = errors.New("artifact is not approved")

// Approved reports whether an artifact holds an approval that signing and
// publishing may rely on: it is approved, or signed after approval, and
// neither evaluated nor approved was skipped on the way.
func Approved(a *state.Artifact) bool {
	if a.State != state.StateApproved && a.State != state.StateSigned {
		return false
	}
	return !slices.Contains(a.Skipped, state.StateEvaluated) &&
		!slices.Contains(a.Skipped, state.StateApproved)
}

func notApproved(a *state.Artifact, action string) error {
	if len(a.Skipped) > 0 {
		return fmt.Errorf("%s: cannot %s: %w: it is %s and skipped %v; configure a risk policy and "+
			"sync again", a.Key(), action, ErrNotApproved, a.State, a.Skipped)
	}
	return fmt.Errorf("%s: cannot %s: %w: it is %s", a.Key(), action, ErrNotApproved, a.State)
}

// RequireApproved wraps a signing stage so that only approved artifacts
// reach it. Any other artifact fails with ErrNotApproved before the
// wrapped stage runs.
func RequireApproved(sign ingest.Stage) ingest.Stage { return requireApproved{sign} }

type requireApproved struct{ ingest.Stage }

func (r requireApproved) Process(ctx context.Context, a *state.Artifact,
	tarball func() (*os.File, error)) (ingest.Outcome, error) {
	if a.State != state.StateApproved || !Approved(a) {
		return ingest.Outcome{}, notApproved(a, "run "+r.Name())
	}
	return r.Stage.Process(ctx, a, tarball)
}

// Gate wraps a Publisher so that only approved artifacts reach it (see
// Approved); any other artifact fails with ErrNotApproved. Setting tags
// passes through, because a tag only points at published versions.
func Gate(pub ingest.Publisher) ingest.Publisher { return gate{pub} }

type gate struct{ ingest.Publisher }

func (g gate) Publish(ctx context.Context, a *state.Artifact,
	tarball func() (*os.File, error)) (bool, error) {
	if !Approved(a) {
		return false, notApproved(a, "publish to "+g.Name())
	}
	return g.Publisher.Publish(ctx, a, tarball)
}

// GateImages wraps an ImagePublisher so that only approved images reach
// it, like Gate.
func GateImages(pub ingest.ImagePublisher) ingest.ImagePublisher { return imageGate{pub} }

type imageGate struct{ ingest.ImagePublisher }

func (g imageGate) PublishImage(ctx context.Context, a *state.Artifact) (string, bool, error) {
	if !Approved(a) {
		return "", false, notApproved(a, "publish to "+g.Name())
	}
	return g.ImagePublisher.PublishImage(ctx, a)
}

// PublishEvidence passes on the evidence of a publisher that records
// more than where an image went, and returns nil for others.
func (g imageGate) PublishEvidence(repository, digest string) map[string]string {
	if ev, ok := g.ImagePublisher.(ingest.ImageEvidence); ok {
		return ev.PublishEvidence(repository, digest)
	}
	return nil
}
