package scanners

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluice-dev/sluice/ingest/state"
)

// recordedTarballs returns every recorded tarball of the npm fixture.
func recordedTarballs(b *testing.B) []string {
	b.Helper()
	dir := registryDir
	if d := os.Getenv("SLUICE_BENCH_TARBALLS"); d != "" {
		dir = d
	}
	var out []string
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err == nil && strings.HasSuffix(path, ".tgz") {
			out = append(out, path)
		}
		return err
	})
	if err != nil || len(out) == 0 {
		b.Fatalf("recorded tarballs: %d, %v", len(out), err)
	}
	return out
}

// BenchmarkScanNPMTarballs scans every recorded tarball (SBOM, matching,
// checks) with one database loaded once; one iteration is one pass over
// all of them. SLUICE_BENCH_TARBALLS names another folder of tarballs,
// such as the benchmark cache of `make bench`. bench/scan-vs-grype.sh runs it beside the grype CLI.
func BenchmarkScanNPMTarballs(b *testing.B) {
	_, db := openDemoDB(b)
	s := &Scanner{DB: db, Blobs: newBlobStore(b), TempDir: b.TempDir()}
	tarballs := recordedTarballs(b)
	b.ReportMetric(float64(len(tarballs)), "tarballs/op")
	b.ResetTimer()
	for range b.N {
		for _, path := range tarballs {
			base := strings.TrimSuffix(filepath.Base(path), ".tgz")
			i := strings.LastIndex(base, "-")
			a := &state.Artifact{Ecosystem: state.EcosystemNPM, Name: base[:i], Version: base[i+1:]}
			if _, err := s.ScanNPM(context.Background(), a, openFile(path)); err != nil {
				b.Fatal(err)
			}
		}
	}
}
