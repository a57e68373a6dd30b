package scanners

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/anchore/syft/syft/sbom"

	"github.com/sluice-dev/sluice/ingest/blobs"
	"github.com/sluice-dev/sluice/internal/grypetest"
)

// registryDir is the recorded npm registry of internal/npmfixture.
var registryDir = filepath.Join("..", "internal", "npmfixture", "testdata", "registry")

// fixtureTarball returns the recorded tarball of name@version.
func fixtureTarball(t testing.TB, name, version string) string {
	t.Helper()
	p := filepath.Join(registryDir, name, "-", filepath.Base(name)+"-"+version+".tgz")
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("recorded tarball of %s@%s: %v", name, version, err)
	}
	return p
}

func openFile(path string) func() (*os.File, error) {
	return func() (*os.File, error) { return os.Open(path) }
}

var (
	demoArchiveOnce sync.Once
	demoArchivePath string
	demoArchiveErr  error
)

// demoArchive builds the fresh demo database archive once per test binary.
func demoArchive(t testing.TB) string {
	t.Helper()
	demoArchiveOnce.Do(func() {
		dir, err := os.MkdirTemp("", "sluice-demo-db-*")
		if err != nil {
			demoArchiveErr = err
			return
		}
		demoArchivePath, demoArchiveErr = grypetest.BuildArchive(dir, grypetest.Options{})
	})
	if demoArchiveErr != nil {
		t.Fatalf("build demo vulnerability database: %v", demoArchiveErr)
	}
	return demoArchivePath
}

// buildArchive builds a database archive with opts into its own folder.
func buildArchive(t testing.TB, opts grypetest.Options) string {
	t.Helper()
	archive, err := grypetest.BuildArchive(t.TempDir(), opts)
	if err != nil {
		t.Fatalf("build vulnerability database: %v", err)
	}
	return archive
}

// openDemoDB imports the demo database into a new store and opens it.
func openDemoDB(t testing.TB) (*VulnDBStore, *VulnDB) {
	t.Helper()
	store := NewVulnDBStore(filepath.Join(t.TempDir(), "vulndb"))
	if _, err := store.Import(demoArchive(t), ImportOptions{}); err != nil {
		t.Fatalf("import demo database: %v", err)
	}
	db, err := store.Open()
	if err != nil {
		t.Fatalf("open demo database: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return store, db
}

func daysAgo(n int) time.Time { return time.Now().Add(-time.Duration(n) * 24 * time.Hour) }

func newBlobStore(t testing.TB) *blobs.Store {
	t.Helper()
	b, err := blobs.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// fixtureSBOM generates the SBOM of a recorded tarball.
func fixtureSBOM(t *testing.T, name, version string) *sbom.SBOM {
	t.Helper()
	subject := NPMTarball{Name: name, Version: version, Open: openFile(fixtureTarball(t, name, version)),
		TempDir: t.TempDir()}
	p, err := subject.Prepare(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	s, err := GenerateSBOM(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
