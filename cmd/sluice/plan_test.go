package main

import (
	"encoding/json"
	"testing"

	"github.com/sluice-dev/sluice/ingest"
)

func planJSON(t *testing.T, e *env) *ingest.Plan {
	t.Helper()
	r := mustSluice(t, "plan", "-q", "--json", "--data-dir", e.dataDir, "--npm-upstream", e.upstream.URL, e.manifest)
	p := new(ingest.Plan)
	if err := json.Unmarshal([]byte(r.stdout), p); err != nil {
		t.Fatalf("plan --json: %v\n%s", err, r.stdout)
	}
	return p
}

func TestPlanChangesNothing(t *testing.T) {
	e := newEnv(t)
	before := planJSON(t, e)
	if before.Counts[ingest.StatusNew] != 27 || before.NewBytes < 800_000 {
		t.Errorf("plan before sync: %d new, %d bytes; want 27 new and their size", before.Counts[ingest.StatusNew], before.NewBytes)
	}
	// The upstream counts plan's HEAD requests for sizes as tarball
	// requests, so look at the store: plan must have left it empty.
	st := openForTest(t, e.dataDir)
	arts, err := st.db.Artifacts(nil)
	st.Close()
	if err != nil || len(arts) != 0 {
		t.Errorf("plan stored %d artifacts (%v)", len(arts), err)
	}
	if again := planJSON(t, e); again.Counts[ingest.StatusNew] != 27 {
		t.Errorf("a second plan sees %d new, want 27: the first one changed state", again.Counts[ingest.StatusNew])
	}
	if r := e.sync(t); r.err != nil {
		t.Fatal(r.err)
	}
	after := planJSON(t, e)
	if after.Counts[ingest.StatusMirrored] != 27 || after.Counts[ingest.StatusNew] != 0 || after.NewBytes != 0 {
		t.Errorf("plan after sync: %+v", after.Counts)
	}
}
