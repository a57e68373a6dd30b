package scanners

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/internal/grypetest"
)

func TestImportChecksBuildAge(t *testing.T) {
	tests := []struct {
		name       string
		built      time.Time
		maxAge     time.Duration
		allowStale bool
		wantErr    error
		wantStale  bool
	}{
		{name: "fresh", built: daysAgo(1)},
		{name: "stale rejected", built: daysAgo(6), wantErr: ErrStaleDB},
		{name: "stale allowed", built: daysAgo(6), allowStale: true, wantStale: true},
		{name: "custom age", built: daysAgo(2), maxAge: 24 * time.Hour, wantErr: ErrStaleDB},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			archive := buildArchive(t, grypetest.Options{Built: tt.built})
			store := NewVulnDBStore(filepath.Join(t.TempDir(), "vulndb"))
			info, err := store.Import(archive, ImportOptions{MaxAge: tt.maxAge, AllowStale: tt.allowStale})
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Import error = %v, want %v", err, tt.wantErr)
			}
			if err != nil {
				if !strings.Contains(err.Error(), "--allow-stale") {
					t.Errorf("error %q does not name --allow-stale", err)
				}
				return
			}
			if info.Stale != tt.wantStale {
				t.Errorf("Stale = %v, want %v", info.Stale, tt.wantStale)
			}
			if !strings.HasPrefix(info.SchemaVersion, "v6.") {
				t.Errorf("SchemaVersion = %q, want v6.x", info.SchemaVersion)
			}
			if !strings.HasPrefix(info.Checksum, "xxh64:") || !strings.HasPrefix(info.ArchiveDigest, "sha256:") {
				t.Errorf("checksums = %q, %q", info.Checksum, info.ArchiveDigest)
			}
			if info.ChecksumSource != "latest.json" {
				t.Errorf("ChecksumSource = %q, want latest.json", info.ChecksumSource)
			}
		})
	}
}

func TestImportChecksChecksums(t *testing.T) {
	tests := []struct {
		name     string
		damage   func(t *testing.T, archive string)
		checksum string
		wantErr  string
	}{
		{name: "archive changed", damage: func(t *testing.T, archive string) {
			appendBytes(t, archive, []byte{0})
		}, wantErr: "checksum mismatch"},
		{name: "listing missing", damage: func(t *testing.T, archive string) {
			os.Remove(filepath.Join(filepath.Dir(archive), "latest.json"))
		}, wantErr: "no checksum"},
		{name: "explicit checksum wrong", checksum: "sha256:" + strings.Repeat("0", 64),
			wantErr: "checksum mismatch"},
		{name: "listing for another file", damage: func(t *testing.T, archive string) {
			if err := os.Rename(archive, archive+".renamed.tar.zst"); err != nil {
				t.Fatal(err)
			}
		}, wantErr: "lists"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			archive := buildArchive(t, grypetest.Options{})
			if tt.damage != nil {
				tt.damage(t, archive)
			}
			if _, err := os.Stat(archive); err != nil {
				archive += ".renamed.tar.zst"
			}
			store := NewVulnDBStore(filepath.Join(t.TempDir(), "vulndb"))
			_, err := store.Import(archive, ImportOptions{Checksum: tt.checksum})
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Import error = %v, want one containing %q", err, tt.wantErr)
			}
			if cur, _, _ := store.Status(); cur != nil {
				t.Errorf("a rejected archive became current: %+v", cur)
			}
		})
	}
}

func TestImportExplicitChecksum(t *testing.T) {
	archive := buildArchive(t, grypetest.Options{})
	digest, err := fileSHA256(archive)
	if err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(filepath.Dir(archive), "latest.json"))
	store := NewVulnDBStore(filepath.Join(t.TempDir(), "vulndb"))
	info, err := store.Import(archive, ImportOptions{Checksum: digest})
	if err != nil {
		t.Fatal(err)
	}
	if info.ChecksumSource != "--checksum" {
		t.Errorf("ChecksumSource = %q", info.ChecksumSource)
	}
}

func TestRollbackSwapsDatabases(t *testing.T) {
	store := NewVulnDBStore(filepath.Join(t.TempDir(), "vulndb"))
	if _, err := store.Rollback(ImportOptions{}); !errors.Is(err, ErrNoPreviousDB) {
		t.Fatalf("Rollback with no database: %v, want ErrNoPreviousDB", err)
	}
	first, err := store.Import(buildArchive(t, grypetest.Options{Built: daysAgo(2)}), ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	second, err := store.Import(buildArchive(t, grypetest.Options{Built: daysAgo(1)}), ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cur, prev, err := store.Status()
	if err != nil {
		t.Fatal(err)
	}
	if cur.ArchiveDigest != second.ArchiveDigest || prev.ArchiveDigest != first.ArchiveDigest {
		t.Fatalf("after two imports: current %s, previous %s", cur.ArchiveDigest, prev.ArchiveDigest)
	}
	back, err := store.Rollback(ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if back.ArchiveDigest != first.ArchiveDigest {
		t.Errorf("Rollback returned %s, want %s", back.ArchiveDigest, first.ArchiveDigest)
	}
	cur, prev, _ = store.Status()
	if cur.ArchiveDigest != first.ArchiveDigest || prev.ArchiveDigest != second.ArchiveDigest {
		t.Errorf("after rollback: current %s, previous %s", cur.ArchiveDigest, prev.ArchiveDigest)
	}
	db, err := store.Open()
	if err != nil {
		t.Fatalf("open rolled-back database: %v", err)
	}
	db.Close()
}

func TestOpenDetectsChangedDatabase(t *testing.T) {
	store := NewVulnDBStore(filepath.Join(t.TempDir(), "vulndb"))
	if _, err := store.Open(); !errors.Is(err, ErrNoDB) {
		t.Fatalf("Open with no database: %v, want ErrNoDB", err)
	}
	if _, err := store.Import(demoArchive(t), ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	appendBytes(t, filepath.Join(store.current(), "vulnerability.db"), []byte("x"))
	if _, err := store.Open(); !errors.Is(err, ErrChecksum) {
		t.Fatalf("Open of a changed database: %v, want ErrChecksum", err)
	}
}

func appendBytes(t *testing.T, name string, data []byte) {
	t.Helper()
	f, err := os.OpenFile(name, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Write(data); err != nil {
		t.Fatal(err)
	}
}

func TestRollbackChecksAge(t *testing.T) {
	store := NewVulnDBStore(filepath.Join(t.TempDir(), "vulndb"))
	if _, err := store.Import(buildArchive(t, grypetest.Options{Built: daysAgo(8)}),
		ImportOptions{AllowStale: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := store.Import(buildArchive(t, grypetest.Options{Built: daysAgo(1)}), ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := store.Rollback(ImportOptions{}); !errors.Is(err, ErrStaleDB) {
		t.Fatalf("rollback to an 8-day-old database: err = %v, want ErrStaleDB", err)
	}
	back, err := store.Rollback(ImportOptions{AllowStale: true})
	if err != nil {
		t.Fatal(err)
	}
	if !back.Stale {
		t.Error("a rollback to a stale database is not marked stale")
	}
}

func TestImportRejectsOlderDatabase(t *testing.T) {
	store := NewVulnDBStore(filepath.Join(t.TempDir(), "vulndb"))
	if _, err := store.Import(buildArchive(t, grypetest.Options{Built: daysAgo(1)}), ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	older := buildArchive(t, grypetest.Options{Built: daysAgo(3)})
	if _, err := store.Import(older, ImportOptions{}); !errors.Is(err, ErrOlderDB) {
		t.Fatalf("import of an older database: err = %v, want ErrOlderDB", err)
	}
	info, err := store.Import(older, ImportOptions{AllowOlder: true})
	if err != nil {
		t.Fatal(err)
	}
	if !info.Older {
		t.Error("an older database imported with AllowOlder is not marked older")
	}
}
