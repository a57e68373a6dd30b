package scanners

import (
	"encoding/json"
	"testing"

	"github.com/sluice-dev/sluice/ingest/blobs"
)

func TestSBOMOfNPMTarball(t *testing.T) {
	tests := []struct {
		name, version string
	}{
		{"lodash", "4.17.20"},
		{"minimist", "1.2.5"},
		{"@types/ms", "0.7.34"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := fixtureSBOM(t, tt.name, tt.version)
			var found bool
			for _, pkg := range s.Artifacts.Packages.Sorted() {
				if pkg.Name == tt.name && pkg.Version == tt.version {
					found = true
				}
			}
			if !found {
				t.Errorf("SBOM lacks %s@%s: %v", tt.name, tt.version, s.Artifacts.Packages.Sorted())
			}
			docs, err := EncodeSBOM(s)
			if err != nil {
				t.Fatal(err)
			}
			var spdx struct {
				SPDXVersion string `json:"spdxVersion"`
				Packages    []struct {
					Name        string `json:"name"`
					VersionInfo string `json:"versionInfo"`
				} `json:"packages"`
			}
			if err := json.Unmarshal(docs.SPDX, &spdx); err != nil {
				t.Fatal(err)
			}
			if spdx.SPDXVersion != "SPDX-2.3" {
				t.Errorf("spdxVersion = %q, want SPDX-2.3", spdx.SPDXVersion)
			}
			var cdx struct {
				SpecVersion string `json:"specVersion"`
				Components  []struct {
					Name    string `json:"name"`
					Version string `json:"version"`
					PURL    string `json:"purl"`
				} `json:"components"`
			}
			if err := json.Unmarshal(docs.CycloneDX, &cdx); err != nil {
				t.Fatal(err)
			}
			if cdx.SpecVersion != "1.6" {
				t.Errorf("specVersion = %q, want 1.6", cdx.SpecVersion)
			}
			if len(cdx.Components) == 0 {
				t.Errorf("CycloneDX document has no components")
			}
			store, err := blobs.Open(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			digests, err := docs.Store(store)
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range []string{digests.SPDX, digests.CycloneDX} {
				if err := store.Verify(d); err != nil {
					t.Errorf("stored SBOM %s: %v", d, err)
				}
			}
		})
	}
}
