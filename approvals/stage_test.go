package approvals

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/ingest/state"
	"github.com/sluice-dev/sluice/manifests/policy"
	"github.com/sluice-dev/sluice/scanners"
)

var (
	mitLicense  = license("MIT")
	postinstall = scanners.Finding{Kind: scanners.KindInstallScript, ID: "postinstall", Detail: "node x.js"}
	criticalFix = vuln("CVE-2021-23337", scanners.SeverityCritical, "4.17.21")
)

func bankStage(t testing.TB, e *env, scans fakeScans) *Stage {
	return NewStage(loadPolicy(t, "testdata/bank.yaml"), e.db, e.blobs, WithFindings(scans))
}

func TestStageLowApprovedByPolicy(t *testing.T) {
	e := newEnv(t)
	s := bankStage(t, e, fakeScans{"chalk": {mitLicense}})
	a := e.scanned(t, "chalk", "development", "cli:erin")
	out, a := e.evaluate(t, s, a)

	if a.State != state.StateApproved {
		t.Fatalf("state %s, want approved", a.State)
	}
	p := s.Policy()
	if got, want := out.Evidence["approver"], "policy:bank-default@"+p.Digest; got != want {
		t.Errorf("approver %q, want %q", got, want)
	}
	if out.Evidence["tier"] != "low" || out.Evidence["rules"] != "development" {
		t.Errorf("tier %q rules %q", out.Evidence["tier"], out.Evidence["rules"])
	}
	ev, _, err := LoadEvidence(e.blobs, out.Evidence["evidence"])
	if err != nil {
		t.Fatal(err)
	}
	if ev.Decision.PolicyDigest != p.Digest || ev.Digest != a.Digest || !ev.Facts.Scanned {
		t.Errorf("evidence = %+v", ev)
	}
	if ev.Inputs["sbom.spdx"] == "" || !e.blobs.Has(ev.Inputs["scan"]) {
		t.Errorf("evidence inputs %v: want the SBOM digest and a stored scan result", ev.Inputs)
	}
	eval, err := LoadEvaluation(e.db, a.Key())
	if err != nil || eval.Evidence != out.Evidence["evidence"] || eval.Tier != policy.TierLow {
		t.Errorf("evaluation = %+v, %v", eval, err)
	}
	if _, err := LoadRequest(e.db, a.Key()); !errors.Is(err, ErrNoRequest) {
		t.Errorf("a low-risk artifact got a request: %v", err)
	}
}

func TestStageBlockedRejectedFinal(t *testing.T) {
	e := newEnv(t)
	s := bankStage(t, e, fakeScans{"lodash": {mitLicense, criticalFix}})
	out, a := e.evaluate(t, s, e.scanned(t, "lodash", "internal", "cli:erin"))

	if a.State != state.StateRejected {
		t.Fatalf("state %s, want rejected", a.State)
	}
	if r := out.Evidence["reason"]; !strings.Contains(r, "critical-with-fix") ||
		!strings.Contains(r, "CVE-2021-23337") {
		t.Errorf("reason %q does not name the rule and the CVE", r)
	}
	for _, to := range []state.State{state.StateAwaitingApproval, state.StateApproved, state.StateEvaluated} {
		if _, err := e.db.Transition(a.Key(), state.Change{To: to}); !errors.Is(err, state.ErrInvalidTransition) {
			t.Errorf("rejected artifact moved to %s: %v", to, err)
		}
	}
}

func TestStageMediumOpensRequest(t *testing.T) {
	e := newEnv(t)
	s := bankStage(t, e, fakeScans{"esbuild": {mitLicense, postinstall}})
	out, a := e.evaluate(t, s, e.scanned(t, "esbuild", "internal", "cli:erin"))

	if a.State != state.StateAwaitingApproval {
		t.Fatalf("state %s, want awaiting-approval", a.State)
	}
	r, err := LoadRequest(e.db, a.Key())
	if err != nil {
		t.Fatal(err)
	}
	wantChain := []Step{{Role: "team-lead", Count: 1, Members: []string{"alice", "bob"}}}
	if !slices.EqualFunc(r.Chain, wantChain, func(a, b Step) bool {
		return a.Role == b.Role && a.Count == b.Count && a.After == b.After && slices.Equal(a.Members, b.Members)
	}) {
		t.Errorf("chain %+v, want %+v", r.Chain, wantChain)
	}
	if r.Requester != "cli:erin" || r.Status != StatusPending || r.Tier != policy.TierMedium {
		t.Errorf("request = %+v", r)
	}
	if got := r.Expires.Sub(r.Created); got != 168*time.Hour {
		t.Errorf("expires %s after creation, want 168h", got)
	}
	if r.Evidence != out.Evidence["evidence"] || !slices.Equal(r.Rules, []string{"install-scripts"}) {
		t.Errorf("request evidence %s rules %v", r.Evidence, r.Rules)
	}
	if got := e.entries(t, a.Key(), EntryRequested); len(got) != 1 || got[0].Evidence["chain"] != "team-lead x1" {
		t.Errorf("approval.requested entries = %+v", got)
	}
}

func TestStageUnscannedHeld(t *testing.T) {
	e := newEnv(t)
	s := NewStage(loadPolicy(t, "testdata/bank.yaml"), e.db, e.blobs)
	_, a := e.evaluate(t, s, e.scanned(t, "chalk", "development", "cli:erin"))
	if a.State != state.StateAwaitingApproval {
		t.Errorf("state %s: an unscanned artifact must wait for a team lead", a.State)
	}
}

type fixedRelease time.Time

func (f fixedRelease) PublishTime(context.Context, string, string) (time.Time, error) {
	return time.Time(f), nil
}

func TestStageReleaseTime(t *testing.T) {
	e := newEnv(t)
	now := time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)
	s := NewStage(loadPolicy(t, "testdata/bank.yaml"), e.db, e.blobs,
		WithFindings(fakeScans{"chalk": {mitLicense}}), WithClock(func() time.Time { return now }),
		WithReleaseTimes(fixedRelease(now.Add(-5*time.Hour))))
	out, a := e.evaluate(t, s, e.scanned(t, "chalk", "internal", "cli:erin"))
	if a.State != state.StateAwaitingApproval || out.Evidence["rules"] != "fresh-release" {
		t.Errorf("state %s rules %q: want awaiting-approval from fresh-release", a.State, out.Evidence["rules"])
	}
}

func TestStoredScansDigestMismatch(t *testing.T) {
	e := newEnv(t)
	a := e.scanned(t, "chalk", "internal", "cli:erin")
	err := e.db.Update(func(tx *state.Tx) error {
		return scanners.SaveResult(tx, &scanners.ScanResult{Artifact: a.Key(), Digest: "sha256:" + fill('0')})
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = StoredScans{DB: e.db}.ScanResult(context.Background(), a)
	if err == nil || !strings.Contains(err.Error(), "scan it again") {
		t.Errorf("err = %v, want a digest mismatch", err)
	}
	a.Digest = "sha256:" + fill('0')
	if r, err := (StoredScans{DB: e.db}).ScanResult(context.Background(), a); err != nil || r == nil {
		t.Errorf("matching digest: result %v, err %v", r, err)
	}
}
