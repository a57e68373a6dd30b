package scanners

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/internal/grypetest"
)

func TestExceptionsExpiry(t *testing.T) {
	x, err := LoadExceptions(filepath.Join("testdata", "exceptions", "lodash.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	lodash := Finding{Kind: KindVulnerability, ID: grypetest.LodashGHSA, Aliases: []string{grypetest.LodashCVE},
		Package: "lodash", PackageVersion: "4.17.20"}
	minimist := Finding{Kind: KindVulnerability, ID: grypetest.MinimistGHSA, Package: "minimist",
		PackageVersion: "1.2.5"}
	tests := []struct {
		name           string
		finding        Finding
		now            time.Time
		wantSuppressed bool
		wantBy         string
		wantExpired    []string
	}{
		{"alias before expiry", lodash, time.Date(2029, 12, 31, 23, 0, 0, 0, time.UTC), true, "EXC-7", nil},
		{"on expiry day", lodash, time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC), false, "", []string{"EXC-7"}},
		{"other version", Finding{Kind: KindVulnerability, ID: grypetest.LodashGHSA,
			Aliases: []string{grypetest.LodashCVE}, Package: "lodash", PackageVersion: "4.17.19"},
			time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), false, "", nil},
		{"expired in the past", minimist, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), false, "",
			[]string{filepath.Join("testdata", "exceptions", "lodash.yaml") + ":13"}},
		{"license finding untouched", Finding{Kind: KindLicense, ID: grypetest.LodashCVE},
			time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), false, "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := []Finding{tt.finding}
			expired := x.Apply(fs, tt.now)
			if fs[0].Suppressed != tt.wantSuppressed || fs[0].SuppressedBy != tt.wantBy {
				t.Errorf("suppressed = %v by %q, want %v by %q", fs[0].Suppressed, fs[0].SuppressedBy,
					tt.wantSuppressed, tt.wantBy)
			}
			if tt.wantSuppressed && fs[0].Justification != "vulnerable_code_not_in_execute_path" {
				t.Errorf("justification = %q", fs[0].Justification)
			}
			if strings.Join(expired, ",") != strings.Join(tt.wantExpired, ",") {
				t.Errorf("expired = %v, want %v", expired, tt.wantExpired)
			}
		})
	}
}

func TestLoadExceptionsRejects(t *testing.T) {
	tests := []struct {
		name, body, want string
	}{
		{"missing owner", "vulnerability: CVE-1\n    status: not_affected\n    justification: " +
			"component_not_present\n    expires: \"2030-01-01\"", "missing owner"},
		{"bad status", "vulnerability: CVE-1\n    status: affected\n    justification: component_not_present\n" +
			"    owner: x\n    expires: \"2030-01-01\"", "only not_affected"},
		{"bad justification", "vulnerability: CVE-1\n    status: not_affected\n    justification: trust me\n" +
			"    owner: x\n    expires: \"2030-01-01\"", "not an OpenVEX justification"},
		{"bad date", "vulnerability: CVE-1\n    status: not_affected\n    justification: component_not_present\n" +
			"    owner: x\n    expires: soon", "not a date"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "x.yaml")
			body := "apiVersion: sluice.dev/v1\nkind: Exceptions\nexceptions:\n  - " + tt.body + "\n"
			if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := LoadExceptions(path)
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), path+":4") {
				t.Errorf("error = %v, want one naming %s:4 and containing %q", err, path, tt.want)
			}
		})
	}
}
