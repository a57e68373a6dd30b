package blobs

import (
	"os"
	"path/filepath"
	"testing"
)

func TestBatch(t *testing.T) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	stored, err := s.Put([]byte("stored before"))
	if err != nil {
		t.Fatal(err)
	}
	write := func(b *Batch, data string) string {
		t.Helper()
		w, err := b.Create()
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(data))
		d, err := w.Commit()
		if err != nil {
			t.Fatal(err)
		}
		return d
	}

	b := s.NewBatch()
	fresh := write(b, "new")
	again := write(b, "stored before")
	if again != stored {
		t.Fatalf("digest %s, want %s", again, stored)
	}
	if s.Has(fresh) {
		t.Error("a batch blob is visible before Commit")
	}
	if err := b.Commit(); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{fresh, stored} {
		if err := s.Verify(d); err != nil {
			t.Errorf("after Commit: %v", err)
		}
	}

	aborted := s.NewBatch()
	gone := write(aborted, "aborted")
	aborted.Abort()
	if s.Has(gone) {
		t.Error("an aborted blob is stored")
	}
	if tmp, _ := os.ReadDir(filepath.Join(s.Root(), "tmp")); len(tmp) != 0 {
		t.Errorf("%d temporary files left after Commit and Abort", len(tmp))
	}
}
