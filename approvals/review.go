package approvals

import (
	"slices"

	"github.com/sluice-dev/sluice/ingest/blobs"
	"github.com/sluice-dev/sluice/ingest/state"
	"github.com/sluice-dev/sluice/manifests/policy"
)

// Change is one recorded artifact whose verdict a policy would change.
type Change struct {
	Artifact string      `json:"artifact"`
	State    state.State `json:"state"`
	// From is the recorded verdict's tier and rules; To is the candidate
	// policy's verdict on the same facts.
	FromTier  policy.Tier `json:"fromTier"`
	FromRules []string    `json:"fromRules,omitempty"`
	To        Decision    `json:"to"`
}

// TierChanged reports whether the tier differs, as opposed to only the
// rules that fired.
func (c *Change) TierChanged() bool { return c.FromTier != c.To.Tier }

// Review is what evaluating a candidate policy against the recorded facts
// found.
type Review struct {
	Policy       string   `json:"policy"`
	PolicyDigest string   `json:"policyDigest"`
	Evaluated    int      `json:"evaluated"`
	Changes      []Change `json:"changes"`
}

// ReviewPolicy evaluates p against the recorded facts of every evaluated
// artifact and returns the verdicts it would change. It writes nothing.
// The facts keep their evaluation time, so a change in the result comes
// from the policy, not from the clock.
func ReviewPolicy(db *state.DB, bs *blobs.Store, p *policy.Policy) (*Review, error) {
	evals, err := Evaluations(db)
	if err != nil {
		return nil, err
	}
	rev := &Review{Policy: p.Metadata.Name, PolicyDigest: p.Digest, Changes: []Change{}}
	for _, e := range evals {
		ev, _, err := LoadEvidence(bs, e.Evidence)
		if err != nil {
			return nil, err
		}
		a, err := db.Artifact(e.Artifact)
		if err != nil {
			return nil, err
		}
		rev.Evaluated++
		d := Evaluate(p, ev.Facts)
		if d.Tier == e.Tier && slices.Equal(d.RuleNames(), e.Rules) {
			continue
		}
		rev.Changes = append(rev.Changes, Change{Artifact: e.Artifact, State: a.State,
			FromTier: e.Tier, FromRules: e.Rules, To: d})
	}
	return rev, nil
}
