package scanners

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/ingest/state"
	"github.com/sluice-dev/sluice/internal/grypetest"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// reportFixture stores two scanned artifacts and their results.
func reportFixture(t *testing.T) *state.DB {
	t.Helper()
	db, err := state.Open(filepath.Join(t.TempDir(), "sluice.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	built := time.Date(2026, 12, 3, 6, 0, 0, 0, time.UTC)
	ref := DBRef{SchemaVersion: "v6.1.10", Built: built, Checksum: "xxh64:0123456789abcdef",
		ArchiveDigest: "sha256:" + string(bytes.Repeat([]byte("ab"), 32))}
	scanned := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	results := []*ScanResult{
		{Artifact: "npm/lodash@4.17.20", Digest: "sha256:" + string(bytes.Repeat([]byte("1"), 64)),
			Scanned: scanned, DB: ref,
			SBOM: SBOMDigests{SPDX: "sha256:" + string(bytes.Repeat([]byte("2"), 64)),
				CycloneDX: "sha256:" + string(bytes.Repeat([]byte("3"), 64))},
			Findings: []Finding{
				{Kind: KindLicense, ID: "MIT", Package: "lodash", PackageVersion: "4.17.20",
					Detail: "declared in the package metadata"},
				{Kind: KindVulnerability, ID: grypetest.LodashGHSA, Aliases: []string{grypetest.LodashCVE},
					Package: "lodash", PackageVersion: "4.17.20", Severity: SeverityHigh, CVSS: 7.2,
					FixedIn: []string{"4.17.21"}, EPSS: 0.0141, Detail: "Command Injection in lodash"},
			}},
		{Artifact: "npm/minimist@1.2.5", Digest: "sha256:" + string(bytes.Repeat([]byte("4"), 64)),
			Scanned: scanned, DB: ref,
			SBOM: SBOMDigests{SPDX: "sha256:" + string(bytes.Repeat([]byte("5"), 64)),
				CycloneDX: "sha256:" + string(bytes.Repeat([]byte("6"), 64))},
			ExpiredExceptions: []string{"EXC-3"},
			Findings: []Finding{
				{Kind: KindVulnerability, ID: grypetest.MinimistGHSA, Aliases: []string{grypetest.MinimistCVE},
					Package: "minimist", PackageVersion: "1.2.5", Severity: SeverityCritical, CVSS: 9.8,
					FixedIn: []string{"1.2.6"}, Suppressed: true, SuppressedBy: "EXC-9",
					Justification: "vulnerable_code_not_in_execute_path"},
				{Kind: KindInstallScript, ID: "postinstall", Package: "minimist", PackageVersion: "1.2.5",
					Detail: "node build.js | tee log"},
				{Kind: KindLicense, ID: "MIT", Package: "minimist", PackageVersion: "1.2.5"},
			}},
	}
	run, err := db.StartRun(map[string]string{"m.yaml": "sha256:" + strings.Repeat("0", 64)}, "test")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range results {
		name, version := splitKey(r.Artifact)
		a := &state.Artifact{Ecosystem: state.EcosystemNPM, Name: name, Version: version}
		if _, _, err := db.Create(a, run.ID, "test"); err != nil {
			t.Fatal(err)
		}
		if err := db.Update(func(tx *state.Tx) error { return SaveResult(tx, r) }); err != nil {
			t.Fatal(err)
		}
	}
	return db
}

func splitKey(key string) (string, string) {
	at := bytes.LastIndexByte([]byte(key), '@')
	return key[len("npm/"):at], key[at+1:]
}

func TestReportGolden(t *testing.T) {
	db := reportFixture(t)
	runs, err := db.Runs()
	if err != nil || len(runs) != 1 {
		t.Fatalf("runs = %v, %v", runs, err)
	}
	now := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		target, format, golden string
	}{
		{"npm/lodash@4.17.20", "json", "lodash.json"},
		{"npm/lodash@4.17.20", "markdown", "lodash.md"},
		{"npm/lodash@4.17.20", "sarif", "lodash.sarif"},
		{runs[0].ID, "json", "run.json"},
		{runs[0].ID, "markdown", "run.md"},
		{runs[0].ID, "sarif", "run.sarif"},
	}
	for _, tt := range tests {
		t.Run(tt.golden, func(t *testing.T) {
			rep, err := BuildReport(db, tt.target, now)
			if err != nil {
				t.Fatal(err)
			}
			rep.Subject = "SUBJECT"
			var buf bytes.Buffer
			switch tt.format {
			case "json":
				err = rep.WriteJSON(&buf)
			case "markdown":
				err = rep.WriteMarkdown(&buf)
			case "sarif":
				err = rep.WriteSARIF(&buf)
			}
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("testdata", "golden", tt.golden)
			if *update {
				if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test ./scanners -run TestReportGolden -update to create it)", err)
			}
			if !bytes.Equal(buf.Bytes(), want) {
				t.Errorf("%s differs from the golden file; got:\n%s", path, buf.String())
			}
			if tt.format != "markdown" && !json.Valid(buf.Bytes()) {
				t.Errorf("%s output is not valid JSON", tt.format)
			}
		})
	}
}

func TestReportUnknownTarget(t *testing.T) {
	db := reportFixture(t)
	_, err := BuildReport(db, "npm/left-pad@1.0.0", time.Now())
	if !errors.Is(err, state.ErrNotFound) {
		t.Errorf("unknown target: %v, want ErrNotFound", err)
	}
	a := &state.Artifact{Ecosystem: state.EcosystemNPM, Name: "unscanned", Version: "1.0.0"}
	if _, _, err := db.Create(a, "", "test"); err != nil {
		t.Fatal(err)
	}
	if _, err := BuildReport(db, a.Key(), time.Now()); !errors.Is(err, ErrNoResult) {
		t.Errorf("unscanned artifact: %v, want ErrNoResult", err)
	}
}
