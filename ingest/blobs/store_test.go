package blobs

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func digestOf(s string) string {
	sum := sha256.Sum256([]byte(s))
	return "sha256:" + hex.EncodeToString(sum[:])
}

func TestCommitStoresUnderDigest(t *testing.T) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	w, err := s.Create()
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("hello "))
	w.Write([]byte("world"))
	got, err := w.Commit()
	if err != nil {
		t.Fatal(err)
	}
	if want := digestOf("hello world"); got != want {
		t.Fatalf("digest %s, want %s", got, want)
	}
	if !s.Has(got) {
		t.Fatal("committed blob is not in the store")
	}
	if err := s.Verify(got); err != nil {
		t.Errorf("verify: %v", err)
	}
	if entries, _ := os.ReadDir(filepath.Join(s.Root(), "tmp")); len(entries) != 0 {
		t.Errorf("%d temporary files left after commit", len(entries))
	}
	// Storing the same bytes again keeps one copy and no temporary file.
	w2, _ := s.Create()
	w2.Write([]byte("hello world"))
	if again, err := w2.Commit(); err != nil || again != got {
		t.Errorf("second commit = %s, %v", again, err)
	}
	if entries, _ := os.ReadDir(filepath.Join(s.Root(), "tmp")); len(entries) != 0 {
		t.Errorf("%d temporary files left after a duplicate commit", len(entries))
	}
}

func TestAbortStoresNothing(t *testing.T) {
	s, _ := Open(t.TempDir())
	w, _ := s.Create()
	w.Write([]byte("rejected bytes"))
	w.Abort()
	w.Abort()
	if s.Has(digestOf("rejected bytes")) {
		t.Error("aborted blob is in the store")
	}
	if entries, _ := os.ReadDir(filepath.Join(s.Root(), "tmp")); len(entries) != 0 {
		t.Errorf("%d temporary files left after abort", len(entries))
	}
	if _, err := w.Commit(); err == nil {
		t.Error("commit after abort succeeded")
	}
}

func TestOpenRemovesStaleTemporaryFiles(t *testing.T) {
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "tmp"), 0o755); err != nil {
		t.Fatal(err)
	}
	stale := filepath.Join(root, "tmp", "blob-123")
	os.WriteFile(stale, []byte("half a tarball"), 0o644)
	if _, err := Open(root); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(stale); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("stale temporary file still there: %v", err)
	}
}

func TestVerifyDetectsDamage(t *testing.T) {
	s, _ := Open(t.TempDir())
	w, _ := s.Create()
	w.Write([]byte("original"))
	d, _ := w.Commit()
	p, _ := s.Path(d)
	os.Chmod(p, 0o644)
	os.WriteFile(p, []byte("damaged!"), 0o644)
	err := s.Verify(d)
	if err == nil || !strings.Contains(err.Error(), "is damaged") {
		t.Errorf("verify of a damaged blob: %v", err)
	}
}

func TestPathRejectsInvalidDigests(t *testing.T) {
	s, _ := Open(t.TempDir())
	for _, d := range []string{"", "sha256:", "sha512:" + strings.Repeat("a", 64), "sha256:" + strings.Repeat("g", 64),
		"sha256:../../../etc/passwd", "sha256:" + strings.Repeat("a", 63)} {
		if _, err := s.Path(d); !errors.Is(err, ErrInvalidDigest) {
			t.Errorf("Path(%q): err = %v, want ErrInvalidDigest", d, err)
		}
	}
	if _, err := s.Open(digestOf("missing")); !errors.Is(err, ErrNotFound) {
		t.Errorf("Open of a missing blob: err = %v, want ErrNotFound", err)
	}
}

func TestPutStoresBytes(t *testing.T) {
	s, _ := Open(t.TempDir())
	d, err := s.Put([]byte("small document"))
	if err != nil {
		t.Fatal(err)
	}
	if d != digestOf("small document") {
		t.Errorf("Put = %s, want %s", d, digestOf("small document"))
	}
	if err := s.Verify(d); err != nil {
		t.Error(err)
	}
}

func TestResumeContinuesAfterReopen(t *testing.T) {
	root := t.TempDir()
	s, err := Open(root)
	if err != nil {
		t.Fatal(err)
	}
	data := []byte(strings.Repeat("layer bytes ", 1000))
	digest := digestOf(string(data))

	w, err := s.Resume(digest)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(data[:5000]); err != nil {
		t.Fatal(err)
	}
	if err := w.Keep(); err != nil {
		t.Fatal(err)
	}
	// Opening the store again, as the next run does, keeps the part.
	if s, err = Open(root); err != nil {
		t.Fatal(err)
	}
	w, err = s.Resume(digest)
	if err != nil {
		t.Fatal(err)
	}
	if w.Size() != 5000 {
		t.Fatalf("resumed at %d bytes, want 5000", w.Size())
	}
	if _, err := w.Write(data[5000:]); err != nil {
		t.Fatal(err)
	}
	if w.Digest() != digest {
		t.Fatalf("digest %s after resuming, want %s", w.Digest(), digest)
	}
	if _, err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := s.Verify(digest); err != nil {
		t.Error(err)
	}
	if entries, _ := os.ReadDir(filepath.Join(root, "partial")); len(entries) != 0 {
		t.Errorf("%d partial files left after Commit", len(entries))
	}
}

func TestResumeAbortDeletesPart(t *testing.T) {
	root := t.TempDir()
	s, err := Open(root)
	if err != nil {
		t.Fatal(err)
	}
	digest := "sha256:" + strings.Repeat("ab", 32)
	w, err := s.Resume(digest)
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("wrong bytes"))
	w.Abort()
	if w, err = s.Resume(digest); err != nil {
		t.Fatal(err)
	}
	defer w.Abort()
	if w.Size() != 0 {
		t.Errorf("resumed at %d bytes after Abort, want 0", w.Size())
	}
}
