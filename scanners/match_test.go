package scanners

import (
	"context"
	"slices"
	"testing"

	"github.com/sluice-dev/sluice/internal/grypetest"
)

func TestMatchRecordedTarballs(t *testing.T) {
	_, db := openDemoDB(t)
	tests := []struct {
		name, version string
		want          *Finding
	}{
		{"lodash", "4.17.20", &Finding{ID: grypetest.LodashGHSA, Aliases: []string{grypetest.LodashCVE},
			Severity: SeverityHigh, CVSS: 7.2, FixedIn: []string{"4.17.21"}}},
		{"lodash", "4.17.21", nil},
		{"minimist", "1.2.5", &Finding{ID: grypetest.MinimistGHSA, Aliases: []string{grypetest.MinimistCVE},
			Severity: SeverityCritical, CVSS: 9.8, FixedIn: []string{"1.2.6"}}},
		{"minimist", "1.2.6", nil},
		{"chalk", "4.1.2", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name+"@"+tt.version, func(t *testing.T) {
			s := fixtureSBOM(t, tt.name, tt.version)
			got, err := db.Match(context.Background(), s)
			if err != nil {
				t.Fatal(err)
			}
			if tt.want == nil {
				if len(got) != 0 {
					t.Fatalf("findings = %+v, want none", got)
				}
				return
			}
			if len(got) != 1 {
				t.Fatalf("findings = %+v, want one", got)
			}
			f := got[0]
			if f.Kind != KindVulnerability || f.ID != tt.want.ID {
				t.Errorf("finding = %s %s, want vulnerability %s", f.Kind, f.ID, tt.want.ID)
			}
			if !slices.Equal(f.Aliases, tt.want.Aliases) {
				t.Errorf("aliases = %v, want %v", f.Aliases, tt.want.Aliases)
			}
			if f.Severity != tt.want.Severity {
				t.Errorf("severity = %s, want %s", f.Severity, tt.want.Severity)
			}
			if f.CVSS != tt.want.CVSS {
				t.Errorf("CVSS = %v, want %v", f.CVSS, tt.want.CVSS)
			}
			if !slices.Equal(f.FixedIn, tt.want.FixedIn) {
				t.Errorf("fixedIn = %v, want %v", f.FixedIn, tt.want.FixedIn)
			}
			if f.Package != tt.name || f.PackageVersion != tt.version {
				t.Errorf("package = %s@%s, want %s@%s", f.Package, f.PackageVersion, tt.name, tt.version)
			}
			if f.EPSS <= 0 {
				t.Errorf("EPSS = %v, want the database's score", f.EPSS)
			}
		})
	}
}
