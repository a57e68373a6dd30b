package approvals

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/ingest/state"
	"github.com/sluice-dev/sluice/manifests/policy"
)

// pending evaluates an artifact under the bank policy into a high-tier
// (personal-credit-data) or medium-tier (install scripts) request.
func pending(t *testing.T, e *env, tier policy.Tier, requester string) *state.Artifact {
	t.Helper()
	scans := fakeScans{"pcd": {mitLicense}, "esbuild": {mitLicense, postinstall}}
	name, class := "esbuild", "internal"
	if tier == policy.TierHigh {
		name, class = "pcd", "personal-credit-data"
	}
	_, a := e.evaluate(t, bankStage(t, e, scans), e.scanned(t, name, class, requester))
	if a.State != state.StateAwaitingApproval {
		t.Fatalf("%s is %s, want awaiting-approval", a.Key(), a.State)
	}
	return a
}

// TestApproveChainSeparationOfDuties walks a high-tier chain (team lead,
// then security) through every rule of separation of duties.
func TestApproveChainSeparationOfDuties(t *testing.T) {
	e := newEnv(t)
	a := pending(t, e, policy.TierHigh, "cli:alice")
	steps := []struct {
		who, role string
		wantErr   error
		wantState state.State
	}{
		{"alice", "", ErrSelfApproval, state.StateAwaitingApproval},
		{"ALICE", "", ErrSelfApproval, state.StateAwaitingApproval},
		{"carol", "", ErrOutOfOrder, state.StateAwaitingApproval},
		{"erin", "", ErrNotApprover, state.StateAwaitingApproval},
		{"carol", "team-lead", ErrNotApprover, state.StateAwaitingApproval},
		{"bob", "", nil, state.StateAwaitingApproval},
		{"bob", "", ErrAlreadyApproved, state.StateAwaitingApproval},
		{"alice", "team-lead", ErrSelfApproval, state.StateAwaitingApproval},
		{"carol", "", nil, state.StateApproved},
		{"dave", "", ErrNotPending, state.StateApproved},
	}
	for i, s := range steps {
		_, err := Approve(e.db, a.Key(), Action{Identity: s.who, Role: s.role, Reason: "reviewed", Via: "cli"})
		if !errors.Is(err, s.wantErr) || (s.wantErr == nil && err != nil) {
			t.Errorf("step %d: %s approves: err = %v, want %v", i, s.who, err, s.wantErr)
		}
		got, err := e.db.Artifact(a.Key())
		if err != nil {
			t.Fatal(err)
		}
		if got.State != s.wantState {
			t.Errorf("step %d: after %s the artifact is %s, want %s", i, s.who, got.State, s.wantState)
		}
	}

	r, err := LoadRequest(e.db, a.Key())
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != StatusApproved || r.approverList() != "team-lead:bob, security:carol" {
		t.Errorf("request status %s approvers %q", r.Status, r.approverList())
	}

	granted := e.entries(t, a.Key(), EntryGranted)
	if len(granted) != 2 || granted[0].Actor != "bob" || granted[1].Actor != "carol" ||
		granted[1].Evidence["role"] != "security" || granted[1].Evidence["reason"] != "reviewed" {
		t.Errorf("approval.granted entries = %+v", granted)
	}
	last := e.entries(t, a.Key(), state.EntryTransition)
	move := last[len(last)-1]
	if move.To != state.StateApproved || move.Actor != "carol" ||
		move.Evidence["approvers"] != "team-lead:bob, security:carol" {
		t.Errorf("approving transition = %+v", move)
	}
	if move.Seq != granted[1].Seq+1 {
		t.Errorf("the last vote (entry %d) and the move (entry %d) are not one transaction's entries",
			granted[1].Seq, move.Seq)
	}
}

// TestApproveOneIdentityCountsOnce checks that an identity holding two
// roles of a chain completes only one step, and N of M needs N people.
func TestApproveOneIdentityCountsOnce(t *testing.T) {
	p, err := policy.Parse("two-roles.yaml", []byte(`apiVersion: sluice.dev/v1
kind: RiskPolicy
metadata: {name: two-roles}
tiers:
  high: {approvers: [{role: lead, count: 2}, {role: sec}]}
roles: {lead: [alice, bob, frank], sec: [bob, carol]}
default: high
`))
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t)
	_, a := e.evaluate(t, NewStage(p, e.db, e.blobs), e.scanned(t, "x", "internal", "cli:erin"))
	for _, s := range []struct {
		who, role string
		wantErr   error
	}{
		{"bob", "", nil},
		{"bob", "sec", ErrAlreadyApproved},
		{"carol", "lead", ErrNotApprover},
		{"carol", "", nil},
		{"dave", "", ErrNotApprover},
	} {
		if _, err := Approve(e.db, a.Key(), Action{Identity: s.who, Role: s.role}); !errors.Is(err, s.wantErr) ||
			(s.wantErr == nil && err != nil) {
			t.Errorf("%s as %q: err = %v, want %v", s.who, s.role, err, s.wantErr)
		}
	}
	r, _ := LoadRequest(e.db, a.Key())
	if r.Status != StatusPending || len(r.Waiting()) != 1 || !strings.HasPrefix(r.Waiting()[0], "lead: 1 more") {
		t.Fatalf("status %s waiting %v: want one more lead", r.Status, r.Waiting())
	}
	if _, err := Approve(e.db, a.Key(), Action{Identity: "frank"}); err != nil {
		t.Fatal(err)
	}
	if got, _ := e.db.Artifact(a.Key()); got.State != state.StateApproved {
		t.Errorf("state %s after two leads and security", got.State)
	}
}

func TestReject(t *testing.T) {
	e := newEnv(t)
	a := pending(t, e, policy.TierMedium, "cli:erin")
	for _, s := range []struct {
		act     Action
		wantErr error
	}{
		{Action{Identity: "bob"}, ErrReasonRequired},
		{Action{Reason: "no"}, ErrIdentityRequired},
		{Action{Identity: "mallory", Reason: "no"}, ErrNotApprover},
	} {
		if _, err := Reject(e.db, a.Key(), s.act); !errors.Is(err, s.wantErr) {
			t.Errorf("reject %+v: err = %v, want %v", s.act, err, s.wantErr)
		}
	}
	r, err := Reject(e.db, a.Key(), Action{Identity: "bob", Reason: "postinstall downloads a binary", Via: "cli"})
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != StatusRejected || r.ClosedBy != "bob" {
		t.Errorf("request = %+v", r)
	}
	got, _ := e.db.Artifact(a.Key())
	if got.State != state.StateRejected {
		t.Errorf("state %s, want rejected", got.State)
	}
	moves := e.entries(t, a.Key(), state.EntryTransition)
	if m := moves[len(moves)-1]; m.Actor != "bob" || m.Evidence["reason"] != "postinstall downloads a binary" {
		t.Errorf("rejecting transition = %+v", m)
	}
	if _, err := Approve(e.db, a.Key(), Action{Identity: "alice"}); !errors.Is(err, ErrNotPending) {
		t.Errorf("approve after reject: %v", err)
	}
}

func TestApproveExpired(t *testing.T) {
	e := newEnv(t)
	a := pending(t, e, policy.TierMedium, "cli:erin")
	e.setExpiry(t, a.Key(), time.Now().Add(-time.Minute))
	_, err := Approve(e.db, a.Key(), Action{Identity: "bob"})
	if !errors.Is(err, ErrExpired) {
		t.Fatalf("err = %v, want ErrExpired", err)
	}
	got, _ := e.db.Artifact(a.Key())
	r, _ := LoadRequest(e.db, a.Key())
	if got.State != state.StateRejected || r.Status != StatusExpired || len(r.Approvals) != 0 {
		t.Errorf("state %s, request %s with %d approvals", got.State, r.Status, len(r.Approvals))
	}
	moves := e.entries(t, a.Key(), state.EntryTransition)
	if m := moves[len(moves)-1]; m.Actor != SystemActor || !strings.HasPrefix(m.Evidence["reason"], "expired") {
		t.Errorf("expiring transition = %+v", m)
	}
}

func TestExpireDue(t *testing.T) {
	e := newEnv(t)
	old := pending(t, e, policy.TierMedium, "cli:erin")
	fresh := pending(t, e, policy.TierHigh, "cli:erin")
	e.setExpiry(t, old.Key(), time.Now().Add(-time.Second))
	keys, err := ExpireDue(e.db)
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 1 || keys[0] != old.Key() {
		t.Errorf("expired %v, want only %s", keys, old.Key())
	}
	if got, _ := e.db.Artifact(fresh.Key()); got.State != state.StateAwaitingApproval {
		t.Errorf("unexpired request's artifact is %s", got.State)
	}
	if keys, err := ExpireDue(e.db); err != nil || len(keys) != 0 {
		t.Errorf("second ExpireDue = %v, %v", keys, err)
	}
}

func TestDecisionRejectsControlCharacters(t *testing.T) {
	for _, act := range []Action{
		{Identity: "alice", Reason: "fine\n  approved by carol as security: checked"},
		{Identity: "alice", Reason: "fine\x1b[2K"},
		{Identity: "al\tice", Reason: "fine"},
	} {
		if _, err := Approve(nil, "npm/x@1.0.0", act); !errors.Is(err, ErrInvalidText) {
			t.Errorf("Approve(%q, %q): err = %v, want ErrInvalidText", act.Identity, act.Reason, err)
		}
		if _, err := Reject(nil, "npm/x@1.0.0", act); !errors.Is(err, ErrInvalidText) {
			t.Errorf("Reject(%q, %q): err = %v, want ErrInvalidText", act.Identity, act.Reason, err)
		}
	}
}
