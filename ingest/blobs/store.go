// Package blobs is Sluice's content-addressed blob store: every tarball,
// layer, manifest, SBOM and signature is kept once under its SHA-256
// digest. A blob is written to a temporary file, synced to disk, checked by
// the caller and only then renamed into place, so a crash or a failed
// check never leaves a partial or unverified blob under a digest name.
package blobs

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// ErrNotFound is returned when the store has no blob with a digest.
var ErrNotFound = errors.New("blob not found")

// ErrInvalidDigest is returned for a digest string that is not
// "sha256:<64 hex>".
var ErrInvalidDigest = errors.New("invalid digest")

// Store keeps blobs under root/sha256/<first two hex>/<hex>.
type Store struct {
	root string
}

// Open opens the store at root, creating it when missing, and removes
// temporary files that an interrupted write left behind. The caller must
// hold the data directory's lock (the state database), so that no other
// process is writing.
func Open(root string) (*Store, error) {
	for _, dir := range []string{filepath.Join(root, "sha256"), filepath.Join(root, "tmp")} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("create blob store: %w", err)
		}
	}
	tmp := filepath.Join(root, "tmp")
	entries, err := os.ReadDir(tmp)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", tmp, err)
	}
	for _, e := range entries {
		if err := os.Remove(filepath.Join(tmp, e.Name())); err != nil {
			return nil, fmt.Errorf("remove stale temporary blob: %w", err)
		}
	}
	return &Store{root: root}, nil
}

// Root returns the store's folder.
func (s *Store) Root() string { return s.root }

// Path returns where the blob with the given digest lives (or would live).
func (s *Store) Path(digest string) (string, error) {
	hexDigest, ok := strings.CutPrefix(digest, "sha256:")
	if !ok || len(hexDigest) != 64 {
		return "", fmt.Errorf("%w: %q", ErrInvalidDigest, digest)
	}
	if _, err := hex.DecodeString(hexDigest); err != nil {
		return "", fmt.Errorf("%w: %q", ErrInvalidDigest, digest)
	}
	return filepath.Join(s.root, "sha256", hexDigest[:2], hexDigest), nil
}

// Has reports whether the blob is stored.
func (s *Store) Has(digest string) bool {
	p, err := s.Path(digest)
	if err != nil {
		return false
	}
	_, err = os.Stat(p)
	return err == nil
}

// Open opens a stored blob for reading.
func (s *Store) Open(digest string) (*os.File, error) {
	p, err := s.Path(digest)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s: %w", digest, ErrNotFound)
	}
	return f, err
}

// Verify re-reads a stored blob and checks that its content still has its
// digest, to catch a file damaged on disk.
func (s *Store) Verify(digest string) error {
	f, err := s.Open(digest)
	if err != nil {
		return err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return fmt.Errorf("read blob %s: %w", digest, err)
	}
	if got := "sha256:" + hex.EncodeToString(h.Sum(nil)); got != digest {
		return fmt.Errorf("blob %s is damaged: its content now hashes to %s; delete it and sync again", digest, got)
	}
	return nil
}

// Put stores data as a blob and returns its digest. It suits small
// documents (SBOMs, evidence); stream large blobs through Create.
func (s *Store) Put(data []byte) (string, error) {
	w, err := s.Create()
	if err != nil {
		return "", err
	}
	defer w.Abort()
	if _, err := w.Write(data); err != nil {
		return "", err
	}
	return w.Commit()
}

// Writer receives a blob's bytes. Every byte written is hashed with SHA-256
// and with each extra hash given to Create, so the caller can check an
// upstream's integrity claim before calling Commit.
type Writer struct {
	store  *Store
	file   *os.File
	sha256 hash.Hash
	extra  []hash.Hash
	size   int64
	done   bool
	// batch, when set, defers syncing and renaming to Batch.Commit.
	batch *Batch
}

// Create starts a new blob in a temporary file.
func (s *Store) Create(extra ...hash.Hash) (*Writer, error) {
	f, err := os.CreateTemp(filepath.Join(s.root, "tmp"), "blob-*")
	if err != nil {
		return nil, fmt.Errorf("create temporary blob: %w", err)
	}
	return &Writer{store: s, file: f, sha256: sha256.New(), extra: extra}, nil
}

// Resume opens the partial download of a blob that an earlier, cut-off
// download left under partial/<hex>, or starts one there. It hashes the
// bytes already on disk, so Size tells where to continue. Unlike Create's
// temporary files, partial files survive Open: Keep leaves the file for a
// later Resume, Abort deletes it, and Commit stores it as Create's writer
// does. The caller verifies the digest before Commit, because a file cut
// off by a crash may end in bytes that never reached the disk in full.
// NOTE: a partial file whose blob is never fetched again stays until it
// is deleted by hand.
func (s *Store) Resume(digest string) (*Writer, error) {
	p, err := s.Path(digest)
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(s.root, "partial")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create partial blob folder: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(dir, filepath.Base(p)), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open partial blob %s: %w", digest, err)
	}
	w := &Writer{store: s, file: f, sha256: sha256.New()}
	n, err := io.Copy(w.sha256, f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("read partial blob %s: %w", digest, err)
	}
	w.size = n
	return w, nil
}

// Keep closes a writer from Resume and leaves its file for a later Resume.
func (w *Writer) Keep() error {
	if w.done {
		return nil
	}
	w.done = true
	return w.file.Close()
}

// Write writes p to the temporary file and the hashes.
func (w *Writer) Write(p []byte) (int, error) {
	n, err := w.file.Write(p)
	w.sha256.Write(p[:n])
	for _, h := range w.extra {
		h.Write(p[:n])
	}
	w.size += int64(n)
	return n, err
}

// Digest returns the SHA-256 digest of what was written so far.
func (w *Writer) Digest() string {
	return "sha256:" + hex.EncodeToString(w.sha256.Sum(nil))
}

// Size returns the number of bytes written so far.
func (w *Writer) Size() int64 { return w.size }

// Commit syncs the temporary file to disk and renames it to its digest
// name. A blob that is already stored is kept and the temporary file
// removed. Commit returns the digest.
func (w *Writer) Commit() (string, error) {
	if w.done {
		return "", errors.New("blob writer already closed")
	}
	w.done = true
	if w.batch != nil {
		return w.batch.add(w)
	}
	digest := w.Digest()
	if err := w.file.Sync(); err != nil {
		w.discard()
		return "", fmt.Errorf("sync blob %s: %w", digest, err)
	}
	if err := w.file.Close(); err != nil {
		os.Remove(w.file.Name())
		return "", fmt.Errorf("close blob %s: %w", digest, err)
	}
	dst, _ := w.store.Path(digest)
	if _, err := os.Stat(dst); err == nil {
		os.Remove(w.file.Name())
		return digest, nil
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		os.Remove(w.file.Name())
		return "", fmt.Errorf("create blob folder: %w", err)
	}
	if err := os.Rename(w.file.Name(), dst); err != nil {
		os.Remove(w.file.Name())
		return "", fmt.Errorf("store blob %s: %w", digest, err)
	}
	if err := syncDir(filepath.Dir(dst)); err != nil {
		return "", fmt.Errorf("sync blob folder: %w", err)
	}
	return digest, nil
}

// Abort discards the temporary file. Calling Abort after Commit does
// nothing, so it can be deferred.
func (w *Writer) Abort() {
	if w.done {
		return
	}
	w.done = true
	w.discard()
}

func (w *Writer) discard() {
	w.file.Close()
	os.Remove(w.file.Name())
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
