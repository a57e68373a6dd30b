package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/ingest/state"
	"github.com/sluice-dev/sluice/internal/grypetest"
	"github.com/sluice-dev/sluice/internal/npmfixture"
	"github.com/sluice-dev/sluice/scanners"
)

// scanCLI runs the CLI on g's data directory.
func scanCLI(t *testing.T, g *globals, args ...string) result {
	t.Helper()
	return sluice(t, append(args, "--data-dir", g.dataDir)...)
}

func buildDBArchive(t *testing.T, opts grypetest.Options) string {
	t.Helper()
	archive, err := grypetest.BuildArchive(t.TempDir(), opts)
	if err != nil {
		t.Fatal(err)
	}
	return archive
}

// syncWithScan syncs the manifest with the scan stage built as sync's
// runner is meant to build it.
func syncWithScan(t *testing.T, g *globals, upstream, manifest string) {
	t.Helper()
	log, err := g.logger()
	if err != nil {
		t.Fatal(err)
	}
	st, err := g.openStore()
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	f := &npmFlags{upstream: upstream, concurrency: 2}
	r, done, err := f.runner(g, st, log, &scanFlags{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer done()
	ms, err := loadManifests([]string{manifest})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Sync(context.Background(), ms); err != nil {
		t.Fatalf("sync: %v", err)
	}
}

func TestDBImportSyncReportRescan(t *testing.T) {
	dir := t.TempDir()
	g := &globals{dataDir: filepath.Join(dir, "data"), logLevel: "error", logFormat: "text"}

	r := scanCLI(t, g, "db", "status")
	if r.err != nil || !strings.Contains(r.stdout, "no vulnerability database imported") {
		t.Fatalf("status before import: %v\n%s", r.err, r.stdout)
	}
	stale := buildDBArchive(t, grypetest.Options{Built: time.Now().Add(-8 * 24 * time.Hour)})
	r = scanCLI(t, g, "db", "import", stale)
	if r.err == nil || !strings.Contains(r.err.Error(), "--allow-stale") {
		t.Fatalf("stale import: %v, want a rejection naming --allow-stale", r.err)
	}
	r = scanCLI(t, g, "db", "import", stale, "--allow-stale")
	if r.err != nil || !strings.Contains(r.stdout, "warning") {
		t.Fatalf("stale import with --allow-stale: %v\n%s", r.err, r.stdout)
	}
	older := buildDBArchive(t, grypetest.Options{Built: time.Now().Add(-time.Hour), WithoutLodash: true})
	if r = scanCLI(t, g, "db", "import", older); r.err != nil {
		t.Fatalf("import: %v", r.err)
	}
	// The previous database is the stale one, so rolling back to it needs
	// the same override as importing it.
	if r = scanCLI(t, g, "db", "rollback"); r.err == nil || !strings.Contains(r.err.Error(), "--allow-stale") {
		t.Fatalf("rollback to a stale database: %v, want a rejection naming --allow-stale", r.err)
	}
	if r = scanCLI(t, g, "db", "rollback", "--allow-stale"); r.err != nil {
		t.Fatalf("rollback: %v", r.err)
	}
	if r = scanCLI(t, g, "db", "rollback"); r.err != nil {
		t.Fatalf("second rollback: %v", r.err)
	}
	r = scanCLI(t, g, "db", "status")
	if !strings.Contains(r.stdout, filepath.Base(older)) || !strings.Contains(r.stdout, filepath.Base(stale)) {
		t.Fatalf("status after two rollbacks:\n%s", r.stdout)
	}

	upstream := npmfixture.New(t)
	manifest := filepath.Join(dir, "manifest.yaml")
	os.WriteFile(manifest, []byte(`apiVersion: sluice.dev/v1
kind: Manifest
metadata:
  name: scan-cli
  owner: team-platform
  dataClass: internal
spec:
  npm:
    packages:
      - lodash@4.17.20
      - minimist@1.2.5
`), 0o644)
	syncWithScan(t, g, upstream.URL, manifest)

	r = scanCLI(t, g, "report", "npm/minimist@1.2.5", "--format", "json")
	if r.err != nil {
		t.Fatalf("report: %v", r.err)
	}
	var rep scanners.Report
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Artifacts) != 1 || rep.Artifacts[0].Summary.Critical != 1 {
		t.Fatalf("minimist report = %+v", rep.Artifacts)
	}
	if r = scanCLI(t, g, "report", "npm/lodash@4.17.20", "--format", "markdown"); !strings.Contains(r.stdout,
		"No known vulnerabilities") {
		t.Fatalf("lodash report under the database without lodash:\n%s", r.stdout)
	}
	runID := onlyRun(t, g)
	out := filepath.Join(dir, "run.sarif")
	if r = scanCLI(t, g, "report", runID, "--format", "sarif", "-o", out); r.err != nil {
		t.Fatalf("run report: %v", r.err)
	}
	var sarif struct {
		Version string `json:"version"`
		Runs    []struct {
			Results []struct {
				RuleID string `json:"ruleId"`
				Level  string `json:"level"`
			} `json:"results"`
		} `json:"runs"`
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &sarif); err != nil || sarif.Version != "2.1.0" || len(sarif.Runs) != 1 {
		t.Fatalf("run report is not a SARIF 2.1.0 log: %v\n%s", err, data)
	}
	var critical bool
	for _, res := range sarif.Runs[0].Results {
		critical = critical || res.RuleID == "vulnerability/"+grypetest.MinimistGHSA && res.Level == "error"
	}
	if !critical {
		t.Errorf("run report lacks the minimist advisory as an error: %s", data)
	}
	if r = scanCLI(t, g, "report", "npm/lodash@4.17.20", "--format", "xml"); r.exitCode() != exitUsage {
		t.Errorf("--format xml exit code = %d, want %d", r.exitCode(), exitUsage)
	}

	current := buildDBArchive(t, grypetest.Options{})
	if r = scanCLI(t, g, "db", "import", current); r.err != nil {
		t.Fatalf("import: %v", r.err)
	}
	r = scanCLI(t, g, "scan", "--since-db")
	if r.exitCode() != exitOffenders {
		t.Fatalf("rescan exit code = %d (%v), want %d\n%s", r.exitCode(), r.err, exitOffenders, r.stdout)
	}
	if !strings.Contains(r.stdout, "npm/lodash@4.17.20 became vulnerable") ||
		!strings.Contains(r.stdout, grypetest.LodashGHSA) || strings.Contains(r.stdout, "minimist@1.2.5 became") {
		t.Errorf("rescan output:\n%s", r.stdout)
	}
	if r = scanCLI(t, g, "scan", "--since-db"); r.err != nil || !strings.Contains(r.stdout, "no artifact became") {
		t.Errorf("second rescan: %v\n%s", r.err, r.stdout)
	}

	st, err := g.openStore()
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	entries, err := st.db.Ledger("")
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]int{}
	var staleRecorded bool
	for _, e := range entries {
		counts[e.Type]++
		if e.Type == scanners.EntryDBImported && e.Evidence["stale"] == "true" {
			staleRecorded = true
		}
		if e.Type == scanners.EntryNewlyVulnerable && e.Subject != "npm/lodash@4.17.20" {
			t.Errorf("newly-vulnerable entry for %s", e.Subject)
		}
	}
	want := map[string]int{scanners.EntryDBImported: 3, scanners.EntryDBRolledBack: 2,
		scanners.EntryRescanned: 2, scanners.EntryNewlyVulnerable: 1}
	for typ, n := range want {
		if counts[typ] != n {
			t.Errorf("%d ledger entries of type %s, want %d", counts[typ], typ, n)
		}
	}
	if !staleRecorded {
		t.Error("the --allow-stale import is not recorded as stale in the ledger")
	}
	if v, err := st.db.VerifyLedger(); err != nil || !v.OK() {
		t.Errorf("ledger verification: %v", err)
	}
	a, err := st.db.Artifact("npm/lodash@4.17.20")
	if err != nil || a.State != state.StateScanned {
		t.Errorf("lodash state after rescan = %v, %v; want scanned", a, err)
	}
}

func TestScanStageWithoutDatabase(t *testing.T) {
	g := &globals{dataDir: filepath.Join(t.TempDir(), "data"), logLevel: "error", logFormat: "text"}
	st, err := g.openStore()
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	log, _ := g.logger()

	f := &npmFlags{upstream: "http://127.0.0.1:1", concurrency: 1}
	_, _, err = f.runner(g, st, log, &scanFlags{}, nil)
	if r := (result{err: err}); r.exitCode() != exitUsage || !strings.Contains(err.Error(), "--no-scan") {
		t.Errorf("runner without a database: %v (exit %d), want a usage error naming --no-scan", err, r.exitCode())
	}
	r, done, err := f.runner(g, st, log, &scanFlags{skip: true}, nil)
	if err != nil || r.Scan != nil || done() != nil {
		t.Errorf("runner with --no-scan: %v; want no scan stage", err)
	}
	if _, _, err := f.runner(g, st, log, &scanFlags{internalScopes: []string{"acme"}}, nil); err == nil ||
		!strings.Contains(err.Error(), "invalid --internal-scope") {
		t.Errorf("scope without @: %v", err)
	}
}

// onlyRun returns the ID of the data directory's only sync run.
func onlyRun(t *testing.T, g *globals) string {
	t.Helper()
	st, err := g.openStore()
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	runs, err := st.db.Runs()
	if err != nil || len(runs) != 1 {
		t.Fatalf("runs = %v, %v; want one", runs, err)
	}
	return runs[0].ID
}

func TestRescanWithdrawsApproval(t *testing.T) {
	upstream := npmfixture.New(t)
	g := &globals{dataDir: filepath.Join(t.TempDir(), "data")}
	bank, err := filepath.Abs("../../examples/policies/bank.yaml")
	if err != nil {
		t.Fatal(err)
	}
	manifest := writeManifest(t, t.TempDir(), `apiVersion: sluice.dev/v1
kind: Manifest
metadata: {name: rescan, owner: team-platform, dataClass: internal}
spec:
  npm:
    packages: [lodash@4.17.20]
`)
	old := buildDBArchive(t, grypetest.Options{WithoutLodash: true})
	if r := scanCLI(t, g, "db", "import", old); r.err != nil {
		t.Fatal(r.err)
	}
	if r := scanCLI(t, g, "sync", "-q", "--policy", bank, "--npm-upstream", upstream.URL, manifest); r.err != nil {
		t.Fatalf("sync: %v", r.err)
	}
	if a := artifactState(t, g, "npm/lodash@4.17.20"); a != state.StateApproved {
		t.Fatalf("lodash 4.17.20 without its advisory in the database: %s, want approved", a)
	}
	if r := scanCLI(t, g, "db", "import", buildDBArchive(t, grypetest.Options{})); r.err != nil {
		t.Fatal(r.err)
	}
	r := scanCLI(t, g, "scan", "--since-db", "--policy", bank)
	if r.exitCode() != exitOffenders {
		t.Fatalf("rescan: exit %d (%v), want %d", r.exitCode(), r.err, exitOffenders)
	}
	if !strings.Contains(r.stdout, "npm/lodash@4.17.20: evaluated again under bank-example, now awaiting-approval") {
		t.Errorf("rescan output:\n%s", r.stdout)
	}
	if a := artifactState(t, g, "npm/lodash@4.17.20"); a != state.StateAwaitingApproval {
		t.Errorf("lodash 4.17.20 after the rescan: %s, want awaiting-approval", a)
	}
}

func artifactState(t *testing.T, g *globals, key string) state.State {
	t.Helper()
	st := openForTest(t, g.dataDir)
	defer st.Close()
	a, err := st.db.Artifact(key)
	if err != nil {
		t.Fatal(err)
	}
	return a.State
}
