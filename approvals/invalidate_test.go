package approvals

import (
	"context"
	"errors"
	"testing"

	"github.com/sluice-dev/sluice/ingest/state"
	"github.com/sluice-dev/sluice/manifests/policy"
	"github.com/sluice-dev/sluice/scanners"
)

var criticalNoFix = vuln("CVE-2099-0001", scanners.SeverityCritical)

// rescan invalidates key with new findings in one transaction.
func rescan(t *testing.T, e *env, s *Stage, key string, findings ...scanners.Finding) {
	t.Helper()
	a, err := e.db.Artifact(key)
	if err != nil {
		t.Fatal(err)
	}
	scan := &scanners.ScanResult{Artifact: key, Digest: a.Digest, Findings: findings}
	if err := e.db.Update(func(tx *state.Tx) error {
		return s.Invalidate(tx, key, "rescan with vulnerability database of today", scan)
	}); err != nil {
		t.Fatal(err)
	}
}

func stateOf(t *testing.T, e *env, key string) state.State {
	t.Helper()
	a, err := e.db.Artifact(key)
	if err != nil {
		t.Fatal(err)
	}
	return a.State
}

func TestInvalidate(t *testing.T) {
	tests := []struct {
		name string
		// prepare brings a fresh artifact (esbuild, install script, medium)
		// to the state before the rescan.
		prepare   func(t *testing.T, e *env, key string)
		findings  []scanners.Finding
		wantState state.State
		wantTier  policy.Tier
		// wantRequest is the status of the request after the rescan.
		wantRequest Status
	}{
		{
			name: "approved goes back to waiting under a stricter tier",
			prepare: func(t *testing.T, e *env, key string) {
				mustApprove(t, e, key, "bob")
			},
			findings:  []scanners.Finding{mitLicense, postinstall, criticalNoFix},
			wantState: state.StateAwaitingApproval, wantTier: policy.TierHigh, wantRequest: StatusPending,
		},
		{
			name: "signed and now blocked is rejected",
			prepare: func(t *testing.T, e *env, key string) {
				mustApprove(t, e, key, "bob")
				if _, err := e.db.Transition(key, state.Change{To: state.StateSigned}); err != nil {
					t.Fatal(err)
				}
			},
			findings:  []scanners.Finding{mitLicense, postinstall, criticalFix},
			wantState: state.StateRejected, wantTier: policy.TierBlocked, wantRequest: StatusApproved,
		},
		{
			name:      "pending request is replaced",
			prepare:   func(*testing.T, *env, string) {},
			findings:  []scanners.Finding{mitLicense, postinstall, vuln("CVE-2099-0002", scanners.SeverityLow)},
			wantState: state.StateAwaitingApproval, wantTier: policy.TierMedium, wantRequest: StatusPending,
		},
		{
			name:      "pending request no longer needed",
			prepare:   func(*testing.T, *env, string) {},
			findings:  []scanners.Finding{mitLicense},
			wantState: state.StateApproved, wantTier: policy.TierLow, wantRequest: StatusSuperseded,
		},
		{
			name: "approved stays approved when the policy alone suffices",
			prepare: func(t *testing.T, e *env, key string) {
				mustApprove(t, e, key, "bob")
			},
			findings:  []scanners.Finding{mitLicense},
			wantState: state.StateApproved, wantTier: policy.TierLow, wantRequest: StatusApproved,
		},
		{
			name: "published is not recalled",
			prepare: func(t *testing.T, e *env, key string) {
				mustApprove(t, e, key, "bob")
				if _, err := e.db.Transition(key, state.Change{To: state.StatePublished,
					Skipped: []state.State{state.StateSigned}}); err != nil {
					t.Fatal(err)
				}
			},
			findings:  []scanners.Finding{mitLicense, postinstall, criticalFix},
			wantState: state.StatePublished, wantTier: policy.TierBlocked, wantRequest: StatusApproved,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			s := bankStage(t, e, fakeScans{"esbuild": {mitLicense, postinstall}})
			a := pending(t, e, policy.TierMedium, "cli:erin")
			tt.prepare(t, e, a.Key())
			before := len(e.entries(t, a.Key(), EntryInvalidated))

			rescan(t, e, s, a.Key(), tt.findings...)

			if got := stateOf(t, e, a.Key()); got != tt.wantState {
				t.Errorf("state %s, want %s", got, tt.wantState)
			}
			eval, err := LoadEvaluation(e.db, a.Key())
			if err != nil || eval.Tier != tt.wantTier {
				t.Errorf("evaluation %+v, %v: want tier %s", eval, err, tt.wantTier)
			}
			r, err := LoadRequest(e.db, a.Key())
			if err != nil || r.Status != tt.wantRequest {
				t.Errorf("request %+v, %v: want status %s", r, err, tt.wantRequest)
			}
			if tt.wantRequest == StatusPending && (len(r.Approvals) != 0 || r.Tier != tt.wantTier ||
				r.Evidence != eval.Evidence) {
				t.Errorf("new request %+v carries old approvals or evidence", r)
			}
			notes := e.entries(t, a.Key(), EntryInvalidated)
			if len(notes) != before+1 || notes[len(notes)-1].Evidence["evidence"] != eval.Evidence {
				t.Errorf("approval.invalidated entries = %+v", notes)
			}
			ev, _, err := LoadEvidence(e.blobs, eval.Evidence)
			if err != nil || ev.Reason == "" || len(ev.Facts.Findings) != len(tt.findings) {
				t.Errorf("new evidence %+v, %v", ev, err)
			}
		})
	}
}

func mustApprove(t *testing.T, e *env, key, who string) {
	t.Helper()
	if _, err := Approve(e.db, key, Action{Identity: who}); err != nil {
		t.Fatal(err)
	}
}

// TestInvalidateVoidsVotes checks that an approver whose vote a rescan
// voided can approve the new request, and that the old vote no longer
// counts towards it.
func TestInvalidateVoidsVotes(t *testing.T) {
	e := newEnv(t)
	s := bankStage(t, e, fakeScans{"pcd": {mitLicense}})
	a := pending(t, e, policy.TierHigh, "cli:erin")
	mustApprove(t, e, a.Key(), "bob")
	rescan(t, e, s, a.Key(), mitLicense, vuln("CVE-2099-0003", scanners.SeverityMedium))
	if _, err := Approve(e.db, a.Key(), Action{Identity: "carol"}); !errors.Is(err, ErrOutOfOrder) {
		t.Errorf("security approved before a team lead approved the new request: %v", err)
	}
	mustApprove(t, e, a.Key(), "bob")
	mustApprove(t, e, a.Key(), "carol")
	if got := stateOf(t, e, a.Key()); got != state.StateApproved {
		t.Errorf("state %s after the new chain completed", got)
	}
}

func TestInvalidateNoChange(t *testing.T) {
	e := newEnv(t)
	s := bankStage(t, e, fakeScans{"esbuild": {mitLicense, postinstall}})
	a := pending(t, e, policy.TierMedium, "cli:erin")
	mustApprove(t, e, a.Key(), "bob")
	before, _ := e.db.Ledger(a.Key())
	rescan(t, e, s, a.Key(), postinstall, mitLicense)
	after, _ := e.db.Ledger(a.Key())
	if len(after) != len(before) || stateOf(t, e, a.Key()) != state.StateApproved {
		t.Errorf("a rescan with the same findings wrote %d entries", len(after)-len(before))
	}
}

func TestInvalidateRollsBackWithCaller(t *testing.T) {
	e := newEnv(t)
	s := bankStage(t, e, fakeScans{"esbuild": {mitLicense, postinstall}})
	a := pending(t, e, policy.TierMedium, "cli:erin")
	mustApprove(t, e, a.Key(), "bob")
	failure := errors.New("storing the scan result failed")
	err := e.db.Update(func(tx *state.Tx) error {
		scan := &scanners.ScanResult{Artifact: a.Key(), Digest: a.Digest, Findings: []scanners.Finding{criticalFix}}
		if err := s.Invalidate(tx, a.Key(), "rescan", scan); err != nil {
			return err
		}
		return failure
	})
	if !errors.Is(err, failure) {
		t.Fatal(err)
	}
	if got := stateOf(t, e, a.Key()); got != state.StateApproved {
		t.Errorf("state %s after a rolled-back invalidation", got)
	}
	if n := len(e.entries(t, a.Key(), EntryInvalidated)); n != 0 {
		t.Errorf("%d approval.invalidated entries survived the rollback", n)
	}
}

func TestReevaluateFromSource(t *testing.T) {
	e := newEnv(t)
	scans := fakeScans{"chalk": {mitLicense}}
	s := bankStage(t, e, scans)
	_, a := e.evaluate(t, s, e.scanned(t, "chalk", "internal", "cli:erin"))
	if a.State != state.StateApproved {
		t.Fatalf("state %s", a.State)
	}
	scans["chalk"] = []scanners.Finding{mitLicense, postinstall}
	if err := s.Reevaluate(context.Background(), a.Key(), "rescan"); err != nil {
		t.Fatal(err)
	}
	if got := stateOf(t, e, a.Key()); got != state.StateAwaitingApproval {
		t.Errorf("state %s, want awaiting-approval", got)
	}
	r, err := LoadRequest(e.db, a.Key())
	if err != nil || r.Requester != "cli:erin" || r.Tier != policy.TierMedium {
		t.Errorf("request %+v, %v", r, err)
	}
}

// TestInvalidateIgnoresDrift checks that a rescan that changes only an
// EPSS score below every threshold, or a detail's wording, voids nothing,
// while a score that crosses a threshold does.
func TestInvalidateIgnoresDrift(t *testing.T) {
	e := newEnv(t)
	low := vuln("CVE-2099-0004", scanners.SeverityLow)
	low.EPSS = 0.01
	withDetail := postinstall
	withDetail.Detail = "node install.js --quiet"
	s := bankStage(t, e, fakeScans{"esbuild": {mitLicense, postinstall, low}})
	_, a := e.evaluate(t, s, e.scanned(t, "esbuild", "internal", "cli:erin"))
	mustApprove(t, e, a.Key(), "bob")

	drift := low
	drift.EPSS = 0.02
	rescan(t, e, s, a.Key(), mitLicense, withDetail, drift)
	if got := stateOf(t, e, a.Key()); got != state.StateApproved {
		t.Errorf("state %s after EPSS drift", got)
	}
	crossing := low
	crossing.EPSS = 0.9
	rescan(t, e, s, a.Key(), mitLicense, postinstall, crossing)
	if got := stateOf(t, e, a.Key()); got != state.StateAwaitingApproval {
		t.Errorf("state %s after EPSS crossed the likely-exploited threshold", got)
	}
}
