package approvals

import (
	"errors"

	"github.com/sluice-dev/sluice/ingest/blobs"
	"github.com/sluice-dev/sluice/ingest/state"
)

// ArtifactEvidence is everything recorded about one artifact's passage:
// its state, the latest verdict with the evidence document behind it,
// the approval request, its ledger entries and its lead time.
type ArtifactEvidence struct {
	Artifact   *state.Artifact `json:"artifact"`
	Evaluation *Evaluation     `json:"evaluation,omitempty"`
	Evidence   *Evidence       `json:"evidence,omitempty"`
	Request    *Request        `json:"request,omitempty"`
	LeadTime   LeadTime        `json:"leadTime"`
	Ledger     []state.Entry   `json:"ledger"`
}

// CollectEvidence gathers an artifact's evidence. An artifact that was
// never evaluated or has no approval request has those fields nil.
func CollectEvidence(db *state.DB, bs *blobs.Store, key string) (*ArtifactEvidence, error) {
	a, err := db.Artifact(key)
	if err != nil {
		return nil, err
	}
	ae := &ArtifactEvidence{Artifact: a}
	if ae.Evaluation, err = LoadEvaluation(db, key); err == nil {
		if ae.Evidence, _, err = LoadEvidence(bs, ae.Evaluation.Evidence); err != nil {
			return nil, err
		}
	} else if !errors.Is(err, ErrNoEvaluation) {
		return nil, err
	}
	ae.Request, err = LoadRequest(db, key)
	if err != nil && !errors.Is(err, ErrNoRequest) {
		return nil, err
	}
	if ae.Ledger, err = db.Ledger(key); err != nil {
		return nil, err
	}
	ae.LeadTime, _ = LeadTimeOf(ae.Ledger)
	return ae, nil
}
