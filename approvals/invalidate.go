package approvals

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/sluice-dev/sluice/ingest/state"
	"github.com/sluice-dev/sluice/scanners"
)

// Reevaluate loads an artifact's current scan result and release time
// from the stage's sources and calls Invalidate in a transaction of its
// own. Call it for each artifact a rescan reports as changed.
func (s *Stage) Reevaluate(ctx context.Context, key, reason string) error {
	a, err := s.db.Artifact(key)
	if err != nil {
		return err
	}
	scan, released, err := s.gather(ctx, a)
	if err != nil {
		return err
	}
	return s.db.Update(func(tx *state.Tx) error {
		return s.invalidate(tx, key, reason, scan, &released)
	})
}

// Invalidate voids the verdict and approvals of an artifact whose
// findings changed, inside the caller's transaction (so a rescan can
// store its result and invalidate in one commit), and evaluates the
// artifact again on scan. The release time is taken from the previous
// evidence. Nothing happens when the findings equal those of the previous
// verdict, or when the artifact is rejected or not yet evaluated.
//
// The new verdict decides where the artifact goes:
//   - blocked: rejected; an approved or signed artifact passes through
//     awaiting-approval on the way, so the ledger shows the approval end.
//   - a tier with approval: auto: approved by the policy; an approved or
//     signed artifact stays where it is, with the new evidence recorded.
//   - a tier with approvers: a new pending request, and earlier approvals
//     count no more; an approved or signed artifact goes back to
//     awaiting-approval.
//
// A published or pinned artifact cannot be recalled: Invalidate records
// an approval.invalidated entry with the new verdict and moves nothing.
func (s *Stage) Invalidate(tx *state.Tx, key, reason string, scan *scanners.ScanResult) error {
	return s.invalidate(tx, key, reason, scan, nil)
}

// invalidate implements Invalidate; released, when not nil, replaces the
// release time of the previous evidence.
func (s *Stage) invalidate(tx *state.Tx, key, reason string, scan *scanners.ScanResult,
	released *time.Time) error {
	a, err := tx.Artifact(key)
	if err != nil {
		return err
	}
	if a.State == state.StateRejected || !state.Reached(a.State, state.StateEvaluated) {
		return nil
	}
	var prevEval Evaluation
	var prev *Evidence
	if ok, err := tx.Get(EvaluationsBucket, key, &prevEval); err != nil {
		return err
	} else if ok {
		if prev, _, err = LoadEvidence(s.blobs, prevEval.Evidence); err != nil {
			return err
		}
	}
	rel := time.Time{}
	switch {
	case released != nil:
		rel = *released
	case prev != nil:
		rel = prev.Facts.Released
	}
	if prev != nil {
		facts := NewFacts(a, scan, rel, s.now())
		d := Evaluate(s.policy, facts)
		if sameFindings(prev.Facts, facts) && d.Tier == prevEval.Tier &&
			slices.Equal(d.RuleNames(), prevEval.Rules) {
			return nil
		}
	}
	ev, digest, err := s.record(a, scan, rel, reason)
	if err != nil {
		return err
	}
	if err := tx.Put(EvaluationsBucket, key, evaluationOf(ev, digest)); err != nil {
		return err
	}
	voided, err := s.supersede(tx, key, reason)
	if err != nil {
		return err
	}
	note := map[string]string{"reason": reason, "from": string(a.State), "tier": string(ev.Decision.Tier),
		"evidence": digest, "previousEvidence": prevEval.Evidence, "previousTier": string(prevEval.Tier),
		"voidedApprovals": voided}
	if state.Reached(a.State, state.StatePublished) {
		note["action"] = "the artifact is already published: withdraw it from the mirror by hand if the " +
			"new verdict requires it"
	}
	if err := tx.Append(state.Entry{Type: EntryInvalidated, Subject: key, Actor: SystemActor,
		Evidence: note}); err != nil {
		return err
	}
	if state.Reached(a.State, state.StatePublished) {
		return nil
	}
	return s.apply(tx, a, ev, digest, reason)
}

// supersede closes the artifact's pending request, if any, and returns
// the approvals it had.
func (s *Stage) supersede(tx *state.Tx, key, reason string) (string, error) {
	r := new(Request)
	ok, err := tx.Get(RequestsBucket, key, r)
	if err != nil || !ok {
		return "", err
	}
	voided := r.approverList()
	if r.Status == StatusApproved {
		return voided, nil
	}
	if r.Status != StatusPending {
		return "", nil
	}
	r.Status, r.Closed, r.ClosedBy, r.Reason = StatusSuperseded, tx.Now(), SystemActor, reason
	return voided, tx.Put(RequestsBucket, key, r)
}

// apply moves the artifact as the new verdict requires.
func (s *Stage) apply(tx *state.Tx, a *state.Artifact, ev *Evidence, digest, reason string) error {
	d := &ev.Decision
	moved := a.State == state.StateApproved || a.State == state.StateSigned
	evidence := ledgerEvidence(ev, digest)
	evidence["reason"] = reason
	move := func(to state.State, actor string, extra map[string]string) error {
		ch := state.Change{To: to, Actor: actor, Evidence: evidence}
		for k, v := range extra {
			ch.Evidence[k] = v
		}
		_, err := tx.Transition(a.Key(), ch)
		return err
	}
	spec := s.policy.Tiers.Spec(d.Tier)
	switch {
	case d.Blocked:
		if moved {
			if err := move(state.StateAwaitingApproval, SystemActor, nil); err != nil {
				return err
			}
		}
		return move(state.StateRejected, SystemActor, map[string]string{"reason": blockReason(d)})
	case spec.Auto() && moved:
		evidence["approver"] = PolicyApprover(s.policy)
		return tx.Append(state.Entry{Type: EntryReevaluated, Subject: a.Key(), Actor: SystemActor,
			Evidence: evidence})
	case spec.Auto():
		return move(state.StateApproved, PolicyApprover(s.policy),
			map[string]string{"approver": PolicyApprover(s.policy)})
	}
	if err := putNewRequest(tx, newRequest(a, s.policy, d, digest, tx.Now())); err != nil {
		return err
	}
	if a.State == state.StateAwaitingApproval {
		return nil
	}
	return move(state.StateAwaitingApproval, SystemActor, nil)
}

// sameFindings reports whether two sets of facts carry the same scan
// state and the same findings, in any order. Findings are compared by the
// fields that identify them and that a reviewer weighs: kind, ID, package,
// severity, fixes, KEV and suppression. Score drift and wording are left
// out, so a daily EPSS update voids no approval unless it changes the
// verdict.
func sameFindings(a, b Facts) bool {
	if a.Scanned != b.Scanned || len(a.Findings) != len(b.Findings) {
		return false
	}
	return slices.Equal(findingKeys(a.Findings), findingKeys(b.Findings))
}

func findingKeys(fs []scanners.Finding) []string {
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = fmt.Sprintf("%s|%s|%s@%s|%s|%s|%v|%v", f.Kind, f.ID, f.Package, f.PackageVersion,
			f.Severity, strings.Join(f.FixedIn, ","), f.KEV, f.Suppressed)
	}
	slices.Sort(out)
	return out
}
