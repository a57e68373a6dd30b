package approvals

import (
	"context"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/ingest"
	"github.com/sluice-dev/sluice/ingest/blobs"
	"github.com/sluice-dev/sluice/ingest/state"
	"github.com/sluice-dev/sluice/internal/storetest"
	"github.com/sluice-dev/sluice/scanners"
)

// env is a state store and blob store in a test's temporary folder.
type env struct {
	db    *state.DB
	blobs *blobs.Store
}

func newEnv(t testing.TB) *env {
	t.Helper()
	db, bs := storetest.Open(t)
	return &env{db: db, blobs: bs}
}

// scanned stores an artifact with a tarball blob and moves it to scanned,
// as the runner and the scan stage would.
func (e *env) scanned(t testing.TB, name, dataClass, requester string) *state.Artifact {
	t.Helper()
	digest, err := e.blobs.Put([]byte("tarball of " + name))
	if err != nil {
		t.Fatal(err)
	}
	a := &state.Artifact{Ecosystem: state.EcosystemNPM, Name: name, Version: "1.0.0",
		DataClass: dataClass, Requester: requester}
	if _, _, err := e.db.Create(a, "run-1", requester); err != nil {
		t.Fatal(err)
	}
	steps := []state.Change{
		{To: state.StateResolved},
		{To: state.StateFetched, Update: func(a *state.Artifact) { a.Digest = digest }},
		{To: state.StateScanned},
	}
	for _, ch := range steps {
		if a, err = e.db.Transition(a.Key(), ch); err != nil {
			t.Fatal(err)
		}
	}
	return a
}

// evaluate runs the stage on an artifact and applies its outcome the way
// ingest.Runner does: to evaluated with the evidence, then to Outcome.To.
func (e *env) evaluate(t testing.TB, s *Stage, a *state.Artifact) (ingest.Outcome, *state.Artifact) {
	t.Helper()
	out, err := s.Process(context.Background(), a, nil)
	if err != nil {
		t.Fatalf("process %s: %v", a.Key(), err)
	}
	a, err = e.db.Transition(a.Key(), state.Change{To: state.StateEvaluated, Actor: "sync",
		Evidence: out.Evidence})
	if err != nil {
		t.Fatal(err)
	}
	if out.To != state.StateEvaluated {
		if a, err = e.db.Transition(a.Key(), state.Change{To: out.To, Actor: "sync"}); err != nil {
			t.Fatal(err)
		}
	}
	return out, a
}

// fakeScans is a FindingsSource with results set by the test, keyed by
// artifact name.
type fakeScans map[string][]scanners.Finding

func (f fakeScans) ScanResult(_ context.Context, a *state.Artifact) (*scanners.ScanResult, error) {
	findings, ok := f[a.Name]
	if !ok {
		return nil, nil
	}
	return &scanners.ScanResult{Artifact: a.Key(), Digest: a.Digest, Findings: findings,
		SBOM: scanners.SBOMDigests{SPDX: "sha256:" + fill('a'), CycloneDX: "sha256:" + fill('b')}}, nil
}

func fill(c byte) string {
	b := make([]byte, 64)
	for i := range b {
		b[i] = c
	}
	return string(b)
}

// setExpiry rewrites a stored request's expiry, to test expiry without
// waiting.
func (e *env) setExpiry(t testing.TB, key string, at time.Time) {
	t.Helper()
	err := e.db.Update(func(tx *state.Tx) error {
		r, err := getRequest(tx, key)
		if err != nil {
			return err
		}
		r.Expires = at
		return tx.Put(RequestsBucket, key, r)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// entries returns the ledger entries of a subject with the given type.
func (e *env) entries(t testing.TB, subject, typ string) []state.Entry {
	t.Helper()
	all, err := e.db.Ledger(subject)
	if err != nil {
		t.Fatal(err)
	}
	var out []state.Entry
	for _, en := range all {
		if en.Type == typ {
			out = append(out, en)
		}
	}
	return out
}
