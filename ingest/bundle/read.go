package bundle

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"

	"github.com/klauspost/compress/zstd"

	"github.com/sluice-dev/sluice/ingest"
	"github.com/sluice-dev/sluice/ingest/blobs"
)

// Bundle is an opened bundle whose index was read. Its index is trusted
// only after Verify returned nil.
type Bundle struct {
	Index *Index
	// IndexData is the index file as stored, which the signature covers.
	IndexData []byte
	src       *source
}

// Open reads the index of the bundle at path: a folder holding one
// bundle, a bundle's index file, or a single-file bundle.
func Open(path string) (*Bundle, error) {
	src, err := openSource(path)
	if err != nil {
		return nil, err
	}
	data, err := src.readAll(IndexName)
	if err != nil {
		src.close()
		return nil, err
	}
	ix, err := decodeIndex(data)
	if err != nil {
		src.close()
		return nil, fmt.Errorf("%s: %w", src.where(IndexName), err)
	}
	return &Bundle{Index: ix, IndexData: data, src: src}, nil
}

// Close releases the bundle's files.
func (b *Bundle) Close() error { return b.src.close() }

// Where names a member's location, for messages.
func (b *Bundle) Where(member string) string { return b.src.where(member) }

// Verify checks the index signature against the trusted key.
func (b *Bundle) Verify(v Verifier) error {
	trusted, err := KeyID(v.PublicKey())
	if err != nil {
		return err
	}
	data, err := b.src.readAll(SignatureName)
	if err != nil {
		return fmt.Errorf("bundle %s: %w", b.Index.ID, err)
	}
	sig, err := decodeSignature(data)
	if err == nil {
		err = v.Verify(b.IndexData, sig)
	}
	if err == nil {
		return nil
	}
	if b.Index.Signer != trusted {
		return fmt.Errorf("bundle %s: %w: %s names signing key %s, the trusted key is %s: "+
			"import only bundles of the outside gateway whose key you trust", b.Index.ID, ErrSignature,
			b.src.where(SignatureName), b.Index.Signer, trusted)
	}
	return fmt.Errorf("bundle %s: %w with the trusted key %s: %s or %s was changed after signing (%v)",
		b.Index.ID, ErrSignature, trusted, b.src.where(IndexName), b.src.where(SignatureName), err)
}

// checkParts verifies that every part is present with its size, before
// any byte is decompressed.
func (b *Bundle) checkParts() error {
	for i, p := range b.Index.Parts {
		r, size, err := b.src.open(p.Name)
		if err != nil {
			return fmt.Errorf("bundle %s: part %d of %d: %w", b.Index.ID, i+1, len(b.Index.Parts), err)
		}
		r.Close()
		if size != p.Size {
			return fmt.Errorf("bundle %s: %w: part %d of %d (%s) has %d bytes, the index says %d: "+
				"copy it again from the medium", b.Index.ID, ErrMissing, i+1, len(b.Index.Parts),
				b.src.where(p.Name), size, p.Size)
		}
	}
	return nil
}

// verifyParts hashes every part and names the first whose digest is not
// the index's.
func (b *Bundle) verifyParts() error {
	for i, p := range b.Index.Parts {
		r, _, err := b.src.open(p.Name)
		if err != nil {
			return fmt.Errorf("bundle %s: part %d: %w", b.Index.ID, i+1, err)
		}
		h := sha256.New()
		_, err = io.Copy(h, r)
		r.Close()
		if err != nil {
			return fmt.Errorf("bundle %s: read %s: %w", b.Index.ID, b.src.where(p.Name), err)
		}
		if got := "sha256:" + hex.EncodeToString(h.Sum(nil)); got != p.Digest {
			return b.partMismatch(i, got)
		}
	}
	return nil
}

func (b *Bundle) partMismatch(i int, got string) error {
	p := b.Index.Parts[i]
	return fmt.Errorf("bundle %s: %w: part %d of %d (%s) hashes to %s, the index says %s: "+
		"the part was damaged in transfer; copy it again from the medium", b.Index.ID, ErrDigest,
		i+1, len(b.Index.Parts), b.src.where(p.Name), got, p.Digest)
}

// partsReader reads the parts in order as one stream and checks each
// part's digest when it reaches the part's end.
type partsReader struct {
	b    *Bundle
	i    int
	cur  io.ReadCloser
	hash hash.Hash
}

func (r *partsReader) Read(p []byte) (int, error) {
	for {
		if r.cur == nil {
			if r.i == len(r.b.Index.Parts) {
				return 0, io.EOF
			}
			cur, _, err := r.b.src.open(r.b.Index.Parts[r.i].Name)
			if err != nil {
				return 0, err
			}
			r.cur, r.hash = cur, sha256.New()
		}
		n, err := r.cur.Read(p)
		r.hash.Write(p[:n])
		if err == io.EOF {
			r.cur.Close()
			r.cur = nil
			if got := "sha256:" + hex.EncodeToString(r.hash.Sum(nil)); got != r.b.Index.Parts[r.i].Digest {
				return n, r.b.partMismatch(r.i, got)
			}
			r.i++
			err = nil
		}
		if n > 0 || err != nil {
			return n, err
		}
	}
}

func (r *partsReader) Close() {
	if r.cur != nil {
		r.cur.Close()
	}
}

// stage decompresses the stream into the blob store, checking every
// file's path, size and digest against the index. A file whose blob is
// stored already is read and checked but not written again. The blob
// store holds only blobs whose digest was checked, so what a failed or
// interrupted stage leaves there is harmless, and nothing is recorded.
func (b *Bundle) stage(ctx context.Context, bs *blobs.Store, progress ingest.Progress) (written int, err error) {
	if err := b.checkParts(); err != nil {
		return 0, err
	}
	parts := &partsReader{b: b}
	defer parts.Close()
	defer func() {
		// A damaged part usually shows first as a decompression or digest
		// error; name the part when one is to blame.
		if err != nil && !errors.Is(err, ErrDigest) && !errors.Is(err, context.Canceled) {
			if perr := b.verifyParts(); perr != nil {
				err = perr
			}
		}
	}()
	zr, err := zstd.NewReader(parts, zstd.WithDecoderConcurrency(2))
	if err != nil {
		return 0, err
	}
	defer zr.Close()
	tr := tar.NewReader(zr)
	progress.Start("verify", len(b.Index.Files))
	defer progress.Done()
	buf := make([]byte, 1<<20)
	for i, want := range b.Index.Files {
		if err := ctx.Err(); err != nil {
			return written, err
		}
		h, err := tr.Next()
		if err == io.EOF {
			return written, fmt.Errorf("bundle %s: %w: the stream ends after %d of %d files; %s is missing",
				b.Index.ID, ErrMissing, i, len(b.Index.Files), want.Path)
		}
		if err != nil {
			return written, fmt.Errorf("bundle %s: read the stream at file %d (%s): %w", b.Index.ID, i+1, want.Path, err)
		}
		if h.Name != want.Path || h.Size != want.Size {
			return written, fmt.Errorf("bundle %s: %w: file %d of the stream is %s (%d bytes), the index lists %s (%d bytes)",
				b.Index.ID, ErrDigest, i+1, h.Name, h.Size, want.Path, want.Size)
		}
		stored, err := stageFile(bs, tr, want, buf)
		if err != nil {
			return written, fmt.Errorf("bundle %s: %w", b.Index.ID, err)
		}
		if stored {
			written++
		}
		progress.Add(1, want.Size)
	}
	if h, err := tr.Next(); err != io.EOF {
		if err != nil {
			return written, fmt.Errorf("bundle %s: read the stream after its last file: %w", b.Index.ID, err)
		}
		return written, fmt.Errorf("bundle %s: %w: the stream holds %s, which the index does not list",
			b.Index.ID, ErrDigest, h.Name)
	}
	// Drain the stream so the last part's digest is checked.
	if _, err := io.Copy(io.Discard, zr); err != nil {
		return written, fmt.Errorf("bundle %s: %w", b.Index.ID, err)
	}
	return written, nil
}

// stageFile stores one file of the stream as a blob after checking its
// digest, and reports whether it wrote a new blob.
func stageFile(bs *blobs.Store, r io.Reader, want File, buf []byte) (bool, error) {
	if bs.Has(want.Digest) {
		h := sha256.New()
		if _, err := io.CopyBuffer(h, r, buf); err != nil {
			return false, fmt.Errorf("read %s: %w", want.Path, err)
		}
		return false, checkDigest(want, "sha256:"+hex.EncodeToString(h.Sum(nil)))
	}
	w, err := bs.Create()
	if err != nil {
		return false, err
	}
	defer w.Abort()
	if _, err := io.CopyBuffer(w, r, buf); err != nil {
		return false, fmt.Errorf("read %s: %w", want.Path, err)
	}
	if err := checkDigest(want, w.Digest()); err != nil {
		return false, err
	}
	_, err = w.Commit()
	return err == nil, err
}

func checkDigest(want File, got string) error {
	if got != want.Digest {
		return fmt.Errorf("%w: %s hashes to %s, the index says %s", ErrDigest, want.Path, got, want.Digest)
	}
	return nil
}

// readBlob decodes a staged JSON blob.
func readBlob(bs *blobs.Store, digest string, v any) error {
	f, err := bs.Open(digest)
	if err != nil {
		return err
	}
	defer f.Close()
	return json.NewDecoder(f).Decode(v)
}
