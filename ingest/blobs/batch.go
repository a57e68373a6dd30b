package blobs

import (
	"fmt"
	"hash"
	"os"
	"path/filepath"
	"sync"
)

// Batch writes many blobs with two syncs of the file system in all,
// instead of one sync of each blob and its folder. Its blobs become
// visible when Commit returns, and not at all when the process dies
// before: their temporary files are removed by the next Open.
type Batch struct {
	store   *Store
	mu      sync.Mutex
	pending []pendingBlob
}

type pendingBlob struct {
	tmp, digest string
}

// NewBatch starts a batch.
func (s *Store) NewBatch() *Batch { return &Batch{store: s} }

// Create starts a blob of the batch. The Writer's Commit closes the
// temporary file without syncing it; Batch.Commit stores it.
func (b *Batch) Create(extra ...hash.Hash) (*Writer, error) {
	w, err := b.store.Create(extra...)
	if err != nil {
		return nil, err
	}
	w.batch = b
	return w, nil
}

func (b *Batch) add(w *Writer) (string, error) {
	digest := w.Digest()
	if err := w.file.Close(); err != nil {
		os.Remove(w.file.Name())
		return "", fmt.Errorf("close blob %s: %w", digest, err)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.pending = append(b.pending, pendingBlob{tmp: w.file.Name(), digest: digest})
	return digest, nil
}

// Commit syncs the written blobs to disk, renames each to its digest name
// (keeping a blob stored already), and syncs the renames.
func (b *Batch) Commit() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := syncFS(b.store.root, b.pending); err != nil {
		return fmt.Errorf("sync blobs: %w", err)
	}
	var dirs []string
	for _, p := range b.pending {
		dst, _ := b.store.Path(p.digest)
		if _, err := os.Stat(dst); err == nil {
			os.Remove(p.tmp)
			continue
		}
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return fmt.Errorf("create blob folder: %w", err)
		}
		if err := os.Rename(p.tmp, dst); err != nil {
			return fmt.Errorf("store blob %s: %w", p.digest, err)
		}
		dirs = append(dirs, filepath.Dir(dst))
	}
	b.pending = nil
	return syncDirs(b.store.root, dirs)
}

// Abort removes the blobs written and not committed. A file it cannot
// remove is removed by the next Open.
func (b *Batch) Abort() {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, p := range b.pending {
		os.Remove(p.tmp)
	}
	b.pending = nil
}
