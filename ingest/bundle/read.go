package bundle

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"io"

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
			return fmt.Errorf("bundle %s: %w: part %d of %d (%s) has %d bytes, the index lists %d: "+
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
	return fmt.Errorf("bundle %s: %w: part %d of %d (%s) hashes to %s, the index lists %s: "+
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

// readBlob decodes a staged JSON blob.
func readBlob(bs *blobs.Store, digest string, v any) error {
	f, err := bs.Open(digest)
	if err != nil {
		return err
	}
	defer f.Close()
	return json.NewDecoder(f).Decode(v)
}
