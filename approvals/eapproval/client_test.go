package eapproval

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/approvals"
	"github.com/sluice-dev/sluice/ingest/state"
)

const (
	esbuild = "npm/esbuild@1.0.0"
	ledger  = "npm/ledger@1.0.0"
)

var decisionTime = time.Date(2026, 3, 2, 9, 30, 0, 0, time.UTC)

func TestSyncSubmitsDocument(t *testing.T) {
	fs, st := newFakeSystem(t), newStore(t, "168h")
	sum, err := fs.client(t, WithCallbackURL("https://sluice.internal/e-approval")).Sync(
		context.Background(), st.db, st.blobs)
	if err != nil {
		t.Fatal(err)
	}
	submitted := slices.Sorted(slices.Values(sum.Submitted))
	if !slices.Equal(submitted, []string{esbuild, ledger}) {
		t.Fatalf("submitted %v", sum.Submitted)
	}

	r := st.request(t, ledger)
	if r.External == nil || r.External.System != "e-approval" || r.External.DocumentID == "" ||
		!strings.HasSuffix(r.External.URL, r.External.DocumentID) {
		t.Fatalf("external link %+v", r.External)
	}
	doc := fs.document(r.External.DocumentID)
	if doc.ExternalRef != ledger || doc.Tier != "high" || len(doc.Chain) != 2 || doc.Chain[1].After != "team-lead" ||
		!slices.Equal(doc.Chain[1].Members, []string{"carol"}) || doc.Requester != "cli:erin" ||
		doc.CallbackURL != "https://sluice.internal/e-approval" {
		t.Errorf("document %+v", doc)
	}

	var ev approvals.Evidence
	if err := json.Unmarshal(doc.Evidence.Content, &ev); err != nil || doc.Evidence.Digest != r.Evidence ||
		ev.Decision.Tier != "high" {
		t.Errorf("attached evidence digest %s, decoded %+v, %v", doc.Evidence.Digest, ev.Decision, err)
	}
	entries, _ := st.db.Ledger(ledger)
	last := entries[len(entries)-1]
	if last.Type != approvals.EntryExternal || last.Evidence["document"] != r.External.DocumentID {
		t.Errorf("last ledger entry %+v", last)
	}
	_, err = fs.client(t).Sync(context.Background(), st.db, st.blobs)
	if _, posts := fs.counts(); err != nil || posts != 2 {
		t.Errorf("second sync: %v, %d documents posted in all, want 2", err, posts)
	}
}

func TestSyncAppliesDecisions(t *testing.T) {
	tests := []struct {
		name      string
		key       string
		overall   string
		decisions []Decision
		reason    string
		wantState state.State
		wantVia   bool
	}{
		{"approve", esbuild, StatusApproved,
			[]Decision{{Identity: "bob", Role: "team-lead", Decision: DecisionApprove, Reason: "ok"}},
			"", state.StateApproved, true},
		{"reject with reason", esbuild, StatusRejected,
			[]Decision{{Identity: "alice", Decision: DecisionReject, Reason: "postinstall fetches a binary"}},
			"", state.StateRejected, true},
		{"chain in order", ledger, StatusApproved,
			[]Decision{{Identity: "alice", Decision: DecisionApprove}, {Identity: "carol", Decision: DecisionApprove}},
			"", state.StateApproved, true},
		{"withdrawn", ledger, StatusRejected, nil, "withdrawn by the requester", state.StateRejected, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs, st := newFakeSystem(t), newStore(t, "168h")
			c := fs.client(t)
			if _, err := c.Sync(context.Background(), st.db, st.blobs); err != nil {
				t.Fatal(err)
			}
			id := st.request(t, tt.key).External.DocumentID
			for i := range tt.decisions {
				tt.decisions[i].Time = decisionTime.Add(time.Duration(i) * time.Minute)
			}
			fs.decide(id, tt.overall, tt.reason, tt.decisions...)
			if _, err := c.Sync(context.Background(), st.db, st.blobs); err != nil {
				t.Fatal(err)
			}
			if got := st.state(t, tt.key); got != tt.wantState {
				t.Errorf("state %s, want %s", got, tt.wantState)
			}
			r := st.request(t, tt.key)
			if tt.wantVia && r.Status == approvals.StatusApproved && r.Approvals[0].Via != "e-approval:"+id {
				t.Errorf("vote via %q", r.Approvals[0].Via)
			}
			if tt.wantState == state.StateRejected {
				want := tt.reason
				if want == "" {
					want = tt.decisions[0].Reason
				}
				if r.Reason != want {
					t.Errorf("rejection reason %q, want %q", r.Reason, want)
				}
			}
		})
	}
}

// TestSyncSkipsChainViolations checks that a decision that breaks
// separation of duties is recorded once and not counted.
func TestSyncSkipsChainViolations(t *testing.T) {
	fs, st := newFakeSystem(t), newStore(t, "168h")
	c := fs.client(t)
	if _, err := c.Sync(context.Background(), st.db, st.blobs); err != nil {
		t.Fatal(err)
	}
	id := st.request(t, esbuild).External.DocumentID
	fs.decide(id, StatusApproved, "", Decision{Identity: "erin", Decision: DecisionApprove, Time: decisionTime})
	for range 2 {
		sum, err := c.Sync(context.Background(), st.db, st.blobs)
		if err != nil {
			t.Fatal(err)
		}
		if got := st.state(t, esbuild); got != state.StateAwaitingApproval {
			t.Fatalf("state %s after the requester approved externally", got)
		}
		if len(sum.NotCounted) > 1 {
			t.Errorf("not counted %v", sum.NotCounted)
		}
	}
	r := st.request(t, esbuild)
	if len(r.External.Notes) != 2 || !strings.Contains(r.External.Notes[0], approvals.ErrSelfApproval.Error()) ||
		!strings.Contains(r.External.Notes[1], "chain is incomplete") {
		t.Errorf("notes %q: want the decision not counted and the incomplete chain, once each", r.External.Notes)
	}
	fs.decide(id, StatusApproved, "",
		Decision{Identity: "bob", Decision: DecisionApprove, Time: decisionTime.Add(time.Hour)})
	if _, err := c.Sync(context.Background(), st.db, st.blobs); err != nil {
		t.Fatal(err)
	}
	if got := st.state(t, esbuild); got != state.StateApproved {
		t.Errorf("state %s after bob approved", got)
	}
}

func TestSyncTimeout(t *testing.T) {
	t.Run("document never decided", func(t *testing.T) {
		// The expiry leaves the first sync time to submit the document on
		// a loaded machine before the request expires.
		fs, st := newFakeSystem(t), newStore(t, "2s")
		c := fs.client(t)
		if _, err := c.Sync(context.Background(), st.db, st.blobs); err != nil {
			t.Fatal(err)
		}
		time.Sleep(2100 * time.Millisecond)
		sum, err := c.Sync(context.Background(), st.db, st.blobs)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(sum.Expired, []string{esbuild}) || st.state(t, esbuild) != state.StateRejected {
			t.Errorf("expired %v, state %s", sum.Expired, st.state(t, esbuild))
		}
		if r := st.request(t, esbuild); r.Status != approvals.StatusExpired || !strings.HasPrefix(r.Reason, "expired") {
			t.Errorf("request %s: %s", r.Status, r.Reason)
		}
	})
	t.Run("server does not answer", func(t *testing.T) {
		fs, st := newFakeSystem(t), newStore(t, "168h")
		fs.inject(0, false, true)
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer cancel()
		_, err := fs.client(t).Sync(ctx, st.db, st.blobs)
		if err == nil || !strings.Contains(err.Error(), "deadline exceeded") {
			t.Errorf("err = %v, want a deadline error", err)
		}
		if r := st.request(t, esbuild); r.External != nil || r.Status != approvals.StatusPending {
			t.Errorf("request after a timed-out submission: %+v", r)
		}
	})
}

func TestSyncFlakyServer(t *testing.T) {
	fs, st := newFakeSystem(t), newStore(t, "168h")
	fs.inject(2, true, false)
	sum, err := fs.client(t).Sync(context.Background(), st.db, st.blobs)
	if err != nil {
		t.Fatal(err)
	}
	docs, posts := fs.counts()
	if len(sum.Submitted) != 2 || docs != 2 {
		t.Errorf("submitted %v, %d documents exist: want 2 and 2, retries must not duplicate", sum.Submitted, docs)
	}
	if posts < 3 {
		t.Errorf("%d POSTs reached the handler: the failed creation was not retried", posts)
	}
	fs.inject(10, false, false)
	_, err = fs.client(t).Sync(context.Background(), st.db, st.blobs)
	if err == nil || !strings.Contains(err.Error(), "503") || !strings.Contains(err.Error(), "attempts") {
		t.Errorf("err = %v, want 503 after all attempts", err)
	}
}

func TestCallbackHandler(t *testing.T) {
	fs, st := newFakeSystem(t), newStore(t, "168h")
	c := fs.client(t)
	if _, err := c.Sync(context.Background(), st.db, st.blobs); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(c.CallbackHandler(st.db, "callback-token"))
	defer srv.Close()
	id := st.request(t, esbuild).External.DocumentID
	approve := &Status{ID: id, ExternalRef: esbuild, Status: StatusApproved,
		Decisions: []Decision{{Identity: "alice", Decision: DecisionApprove, Time: decisionTime}}}

	if code := postCallback(t, srv.URL, "wrong", approve); code != 401 {
		t.Errorf("wrong token: %d", code)
	}
	if code := postCallback(t, srv.URL, "callback-token", &Status{ID: "DOC-99", ExternalRef: esbuild}); code != 404 {
		t.Errorf("unknown document: %d", code)
	}
	if code := postCallback(t, srv.URL, "callback-token", &Status{ID: id}); code != 400 {
		t.Errorf("status without externalRef: %d", code)
	}
	if code := postCallback(t, srv.URL, "callback-token", approve); code != 204 {
		t.Fatalf("approval callback: %d", code)
	}
	if got := st.state(t, esbuild); got != state.StateApproved {
		t.Errorf("state %s after the approval callback", got)
	}
	if code := postCallback(t, srv.URL, "callback-token", approve); code != 204 {
		t.Errorf("repeated callback: %d", code)
	}
}
