package bundle

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"sync/atomic"

	"github.com/klauspost/compress/zstd"
	"golang.org/x/sync/errgroup"

	"github.com/sluice-dev/sluice/ingest"
	"github.com/sluice-dev/sluice/ingest/blobs"
)

// Staging hashes and writes blobs from several goroutines. Files up to
// maxBuffered bytes are read into memory and handed to a writer, and
// larger ones are written by the goroutine that reads the stream. At most
// stageWorkers*maxBuffered bytes are buffered at a time.
const (
	stageWorkers = 8
	maxBuffered  = 4 << 20
)

// stage decompresses the stream into the blob store, checking every
// file's path, size and digest against the index. A file whose blob is
// stored already is read and checked but not written again. The new blobs
// are one blobs.Batch, committed only when the whole stream and every part
// checked out, so a failed or interrupted stage stores nothing.
func (b *Bundle) stage(ctx context.Context, bs *blobs.Store, progress ingest.Progress) (written int, err error) {
	if err := b.checkParts(); err != nil {
		return 0, err
	}
	parts := &partsReader{b: b}
	defer parts.Close()
	defer func() {
		// A damaged part usually shows first as a decompression or digest
		// error; name the part when one is to blame.
		if err != nil && !errors.Is(err, context.Canceled) {
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
	progress.Start("verify", len(b.Index.Files))
	defer progress.Done()
	var stored atomic.Int64
	batch := bs.NewBatch()
	defer batch.Abort()
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(stageWorkers)
	readErr := b.readStream(gctx, tar.NewReader(zr), bs, batch, g, &stored, progress)
	if err := g.Wait(); err != nil {
		return int(stored.Load()), fmt.Errorf("bundle %s: %w", b.Index.ID, err)
	}
	if readErr != nil {
		return int(stored.Load()), readErr
	}
	// Drain the stream so the last part's digest is checked.
	if _, err := io.Copy(io.Discard, zr); err != nil {
		return int(stored.Load()), fmt.Errorf("bundle %s: %w", b.Index.ID, err)
	}
	if err := batch.Commit(); err != nil {
		return 0, fmt.Errorf("bundle %s: %w", b.Index.ID, err)
	}
	return int(stored.Load()), nil
}

// readStream reads the tar entries in index order and has g store each.
func (b *Bundle) readStream(ctx context.Context, tr *tar.Reader, bs *blobs.Store, batch *blobs.Batch,
	g *errgroup.Group, stored *atomic.Int64, progress ingest.Progress) error {
	count := func(ok bool) {
		if ok {
			stored.Add(1)
		}
	}
	for i, want := range b.Index.Files {
		if err := ctx.Err(); err != nil {
			return err
		}
		h, err := tr.Next()
		if err == io.EOF {
			return fmt.Errorf("bundle %s: %w: the stream ends after %d of %d files; %s is missing",
				b.Index.ID, ErrMissing, i, len(b.Index.Files), want.Path)
		}
		if err != nil {
			return fmt.Errorf("bundle %s: read the stream at file %d (%s): %w", b.Index.ID, i+1, want.Path, err)
		}
		if h.Name != want.Path || h.Size != want.Size {
			return fmt.Errorf("bundle %s: %w: file %d of the stream is %s (%d bytes), the index lists %s (%d bytes)",
				b.Index.ID, ErrDigest, i+1, h.Name, h.Size, want.Path, want.Size)
		}
		if want.Size > maxBuffered {
			ok, err := storeBlob(bs, batch, tr, want)
			if err != nil {
				return fmt.Errorf("bundle %s: %w", b.Index.ID, err)
			}
			count(ok)
		} else {
			data := make([]byte, want.Size)
			if _, err := io.ReadFull(tr, data); err != nil {
				return fmt.Errorf("bundle %s: read %s: %w", b.Index.ID, want.Path, err)
			}
			g.Go(func() error {
				ok, err := storeBlob(bs, batch, bytes.NewReader(data), want)
				count(ok)
				return err
			})
		}
		progress.Add(1, want.Size)
	}
	if h, err := tr.Next(); err != io.EOF {
		if err != nil {
			return fmt.Errorf("bundle %s: read the stream after its last file: %w", b.Index.ID, err)
		}
		return fmt.Errorf("bundle %s: %w: the stream holds %s, which the index does not list",
			b.Index.ID, ErrDigest, h.Name)
	}
	return nil
}

// storeBlob writes one file of the stream to the batch after checking its
// digest, and reports whether it wrote a new blob.
func storeBlob(bs *blobs.Store, batch *blobs.Batch, r io.Reader, want File) (bool, error) {
	if bs.Has(want.Digest) {
		h := sha256.New()
		if _, err := io.Copy(h, r); err != nil {
			return false, fmt.Errorf("read %s: %w", want.Path, err)
		}
		return false, checkDigest(want, "sha256:"+hex.EncodeToString(h.Sum(nil)))
	}
	w, err := batch.Create()
	if err != nil {
		return false, err
	}
	defer w.Abort()
	if _, err := io.Copy(w, r); err != nil {
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
		return fmt.Errorf("%w: %s hashes to %s, the index lists %s", ErrDigest, want.Path, got, want.Digest)
	}
	return nil
}
