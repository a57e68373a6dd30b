package eapproval

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/approvals"
	"github.com/sluice-dev/sluice/ingest/blobs"
	"github.com/sluice-dev/sluice/ingest/fetch"
	"github.com/sluice-dev/sluice/ingest/state"
	"github.com/sluice-dev/sluice/internal/storetest"
	"github.com/sluice-dev/sluice/manifests/policy"
	"github.com/sluice-dev/sluice/scanners"
)

const systemToken = "token-to-e-approval"

// fakeSystem is an e-approval system on loopback that keeps documents in
// memory and lets the test decide them and inject faults.
type fakeSystem struct {
	t   *testing.T
	url string

	mu        sync.Mutex
	docs      map[string]*Document
	status    map[string]*Status
	byKey     map[string]string // Idempotency-Key -> document ID
	posts     int
	failNext  int  // respond to this many requests with 503
	createBad bool // create the document, then respond with 500 once
	hang      bool // hold every request until the client gives up or the test ends
	release   chan struct{}
}

func newFakeSystem(t *testing.T) *fakeSystem {
	f := &fakeSystem{t: t, docs: map[string]*Document{}, status: map[string]*Status{},
		byKey: map[string]string{}, release: make(chan struct{})}
	srv := httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(f.release) })
	f.url = srv.URL
	return f
}

func (f *fakeSystem) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	hang := f.hang
	f.mu.Unlock()
	if hang {
		select {
		case <-r.Context().Done():
		case <-f.release:
		}
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if r.Header.Get("Authorization") != "Bearer "+systemToken {
		http.Error(w, "unauthorized", http.StatusUnauthorized)
		return
	}
	if f.failNext > 0 {
		f.failNext--
		http.Error(w, "overloaded", http.StatusServiceUnavailable)
		return
	}
	switch {
	case r.Method == http.MethodPost && r.URL.Path == "/documents":
		f.posts++
		key := r.Header.Get("Idempotency-Key")
		id, seen := f.byKey[key]
		if !seen {
			var doc Document
			if err := json.NewDecoder(r.Body).Decode(&doc); err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			id = fmt.Sprintf("DOC-%d", len(f.docs)+1)
			f.docs[id], f.byKey[key] = &doc, id
			f.status[id] = &Status{ID: id, ExternalRef: doc.ExternalRef, Status: StatusPending}
			if f.createBad {
				f.createBad = false
				http.Error(w, "internal error after commit", http.StatusInternalServerError)
				return
			}
		}
		w.WriteHeader(http.StatusCreated)
		json.NewEncoder(w).Encode(Created{ID: id, URL: "https://e-approval.example/doc/" + id})
	case r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/documents/"):
		st, ok := f.status[strings.TrimPrefix(r.URL.Path, "/documents/")]
		if !ok {
			http.NotFound(w, r)
			return
		}
		json.NewEncoder(w).Encode(st)
	default:
		http.NotFound(w, r)
	}
}

// decide appends decisions to a document and sets its overall status and
// reason.
func (f *fakeSystem) decide(id, overall, reason string, d ...Decision) {
	f.mu.Lock()
	defer f.mu.Unlock()
	st := f.status[id]
	st.Decisions = append(st.Decisions, d...)
	st.Status, st.Reason = overall, reason
}

func (f *fakeSystem) document(id string) *Document {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.docs[id]
}

// counts returns how many documents exist and how many POSTs arrived.
func (f *fakeSystem) counts() (docs, posts int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.docs), f.posts
}

// inject sets the faults of the next requests.
func (f *fakeSystem) inject(failNext int, createBad, hang bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failNext, f.createBad, f.hang = failNext, createBad, hang
}

// client returns a Client for the fake with fast retries.
func (f *fakeSystem) client(t *testing.T, opts ...Option) *Client {
	t.Helper()
	all := append([]Option{WithToken(systemToken), WithSystem("e-approval"),
		WithHTTP(fetch.New(fetch.WithRetries(3), fetch.WithBackoff(5*time.Millisecond, 20*time.Millisecond)))},
		opts...)
	c, err := New(f.url, all...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// store is a state store and blob store with artifacts waiting for
// approval under a policy of the test.
type store struct {
	db    *state.DB
	blobs *blobs.Store
}

const testPolicy = `apiVersion: sluice.dev/v1
kind: RiskPolicy
metadata: {name: e-approval-test}
tiers:
  low: {approval: auto}
  medium: {approvers: [{role: team-lead}], expiresAfter: %s}
  high: {approvers: [{role: team-lead}, {role: security, after: team-lead}], expiresAfter: 72h}
roles: {team-lead: [alice, bob], security: [carol]}
rules:
  - {name: install-scripts, when: {installScripts: true}, then: medium}
  - {name: personal-credit-data, when: {dataClass: personal-credit-data}, then: high}
default: low
`

type findings map[string][]scanners.Finding

func (f findings) ScanResult(_ context.Context, a *state.Artifact) (*scanners.ScanResult, error) {
	return &scanners.ScanResult{Artifact: a.Key(), Digest: a.Digest, Findings: f[a.Name]}, nil
}

// newStore makes a store where npm/esbuild@1.0.0 waits for a team lead
// and npm/ledger@1.0.0 for a team lead and security, both requested by
// cli:erin. mediumExpiry is the medium tier's expiresAfter.
func newStore(t *testing.T, mediumExpiry string) *store {
	t.Helper()
	db, bs := storetest.Open(t)
	p, err := policy.Parse("p.yaml", fmt.Appendf(nil, testPolicy, mediumExpiry))
	if err != nil {
		t.Fatal(err)
	}

	install := scanners.Finding{Kind: scanners.KindInstallScript, ID: "postinstall"}
	stage := approvals.NewStage(p, db, bs, approvals.WithFindings(findings{"esbuild": {install}}))
	for name, class := range map[string]string{"esbuild": "internal", "ledger": "personal-credit-data"} {
		w, err := bs.Create()
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(name))
		digest, err := w.Commit()
		if err != nil {
			t.Fatal(err)
		}

		a := &state.Artifact{Ecosystem: state.EcosystemNPM, Name: name, Version: "1.0.0", DataClass: class,
			Requester: "cli:erin"}
		if _, _, err := db.Create(a, "run", "cli:erin"); err != nil {
			t.Fatal(err)
		}
		for _, ch := range []state.Change{{To: state.StateResolved},
			{To: state.StateFetched, Update: func(a *state.Artifact) { a.Digest = digest }}} {
			if a, err = db.Transition(a.Key(), ch); err != nil {
				t.Fatal(err)
			}
		}

		out, err := stage.Process(context.Background(), a, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.Transition(a.Key(), state.Change{To: state.StateEvaluated,
			Skipped: []state.State{state.StateScanned}, Evidence: out.Evidence}); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Transition(a.Key(), state.Change{To: out.To}); err != nil {
			t.Fatal(err)
		}
	}
	return &store{db: db, blobs: bs}
}

func (s *store) request(t *testing.T, key string) *approvals.Request {
	t.Helper()
	r, err := approvals.LoadRequest(s.db, key)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func (s *store) state(t *testing.T, key string) state.State {
	t.Helper()
	a, err := s.db.Artifact(key)
	if err != nil {
		t.Fatal(err)
	}
	return a.State
}

// postCallback sends a status to a callback handler as the system would.
func postCallback(t *testing.T, url, token string, st *Status) int {
	t.Helper()
	body, _ := json.Marshal(st)
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}
