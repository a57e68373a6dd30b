package catalogsource

import (
	"testing"
	"time"

	"github.com/sluice-dev/sluice/approvals"
	"github.com/sluice-dev/sluice/ingest/state"
	"github.com/sluice-dev/sluice/internal/storetest"
	"github.com/sluice-dev/sluice/scanners"
)

func TestLoadRecords(t *testing.T) {
	db, _ := storetest.Open(t)
	a := &state.Artifact{Ecosystem: state.EcosystemNPM, Name: "left-pad", Version: "1.3.0",
		Owner: "group:default/web", DataClass: "internal"}
	if _, _, err := db.Create(a, "run-1", "test"); err != nil {
		t.Fatal(err)
	}
	key := a.Key()
	_, err := db.Transition(key, state.Change{To: state.StatePublished, Run: "run-1", Actor: "test",
		Skipped: []state.State{state.StateResolved, state.StateFetched, state.StateScanned,
			state.StateEvaluated, state.StateApproved, state.StateSigned},
		Update: func(a *state.Artifact) { a.Digest = "sha256:aa" }})
	if err != nil {
		t.Fatal(err)
	}
	other := &state.Artifact{Ecosystem: state.EcosystemNPM, Name: "not-yet", Version: "1.0.0"}
	if _, _, err := db.Create(other, "run-1", "test"); err != nil {
		t.Fatal(err)
	}
	scanned := time.Date(2026, 11, 30, 9, 15, 0, 0, time.UTC)
	err = db.Update(func(tx *state.Tx) error {
		if err := scanners.SaveResult(tx, &scanners.ScanResult{Artifact: key, Scanned: scanned,
			Findings: []scanners.Finding{{Kind: scanners.KindVulnerability, Severity: scanners.SeverityHigh}}}); err != nil {
			return err
		}
		return tx.Put(approvals.EvaluationsBucket, key, approvals.Evaluation{Artifact: key, Evidence: "sha256:ev"})
	})
	if err != nil {
		t.Fatal(err)
	}
	got, err := LoadRecords(db)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 {
		t.Fatalf("loaded %d records, want the published artifact only: %+v", len(got), got)
	}
	r := got[0]
	if r.Approval != "sha256:ev" || r.LastScan != "2026-11-30T09:15:00Z" || r.Owner != "group:default/web" ||
		r.Findings != "critical=0 high=1 medium=0 low=0 suppressed=0" {
		t.Errorf("record = %+v", r)
	}
}
