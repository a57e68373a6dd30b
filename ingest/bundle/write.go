package bundle

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"io"
	"sort"
	"strconv"

	"github.com/klauspost/compress/zstd"

	"github.com/sluice-dev/sluice/ingest/blobs"
	"github.com/sluice-dev/sluice/ingest/state"
)

// writeBundle streams ix.Files as a zstd-compressed tar into parts, then
// writes the signed index.
// It returns the index as signed.
func writeBundle(ctx context.Context, out sink, bs *blobs.Store, ix *Index, opts ExportOptions) ([]byte, error) {
	parts := &partWriter{sink: out, max: opts.MaxPartSize}
	// Tarballs and layers are compressed already, so a higher level buys
	// little and costs throughput.
	zw, err := zstd.NewWriter(parts, zstd.WithEncoderLevel(zstd.SpeedFastest))
	if err != nil {
		return nil, err
	}
	tw := tar.NewWriter(zw)
	opts.Progress.Start("export", len(ix.Files))
	defer opts.Progress.Done()
	buf := make([]byte, 1<<20)
	for _, f := range ix.Files {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("export interrupted; nothing was recorded: %w", err)
		}
		if err := writeFile(tw, bs, f, ix, buf); err != nil {
			return nil, err
		}
		opts.Progress.Add(1, f.Size)
	}
	if err := tw.Close(); err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	if err := parts.Close(); err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	ix.Parts = parts.parts
	data, err := json.MarshalIndent(ix, "", "  ")
	if err != nil {
		return nil, err
	}
	sig, err := opts.Signer.Sign(data)
	if err != nil {
		return nil, fmt.Errorf("export: sign index: %w", err)
	}
	if err := out.put(IndexName, data); err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	if err := out.put(SignatureName, encodeSignature(sig)); err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	return data, out.close()
}

// writeFile copies one blob into the tar and checks on the way that the
// blob store still holds the bytes of its digest.
func writeFile(tw *tar.Writer, bs *blobs.Store, f File, ix *Index, buf []byte) error {
	r, err := bs.Open(f.Digest)
	if err != nil {
		return fmt.Errorf("export %s: %w", f.Path, err)
	}
	defer r.Close()
	err = tw.WriteHeader(&tar.Header{Name: f.Path, Size: f.Size, Mode: 0o644, ModTime: ix.Created,
		Typeflag: tar.TypeReg})
	if err != nil {
		return fmt.Errorf("export %s: %w", f.Path, err)
	}
	h := sha256.New()
	n, err := io.CopyBuffer(io.MultiWriter(tw, h), io.LimitReader(r, f.Size), buf)
	if err != nil {
		return fmt.Errorf("export %s: %w", f.Path, err)
	}
	if got := "sha256:" + hex.EncodeToString(h.Sum(nil)); n != f.Size || got != f.Digest {
		return fmt.Errorf("export %s: blob %s is damaged in the blob store (%d bytes hashing to %s); "+
			"run sluice sync again to fetch it anew", f.Path, f.Digest, n, got)
	}
	return nil
}

// partWriter cuts a byte stream into parts of at most max bytes (no limit
// when max is 0) and records each part's digest and size.
type partWriter struct {
	sink  sink
	max   int64
	cur   io.WriteCloser
	size  int64
	hash  hash.Hash
	parts []Part
}

func (p *partWriter) Write(b []byte) (int, error) {
	written := 0
	for len(b) > 0 {
		if p.cur == nil {
			w, err := p.sink.create(partName(len(p.parts) + 1))
			if err != nil {
				return written, err
			}
			p.cur, p.size, p.hash = w, 0, sha256.New()
		}
		chunk := b
		if p.max > 0 && int64(len(chunk)) > p.max-p.size {
			chunk = chunk[:p.max-p.size]
		}
		n, err := p.cur.Write(chunk)
		p.hash.Write(chunk[:n])
		p.size += int64(n)
		written += n
		b = b[n:]
		if err != nil {
			return written, err
		}
		if p.max > 0 && p.size == p.max {
			if err := p.finish(); err != nil {
				return written, err
			}
		}
	}
	return written, nil
}

func (p *partWriter) finish() error {
	if err := p.cur.Close(); err != nil {
		return err
	}
	p.parts = append(p.parts, Part{Name: partName(len(p.parts) + 1),
		Digest: "sha256:" + hex.EncodeToString(p.hash.Sum(nil)), Size: p.size})
	p.cur = nil
	return nil
}

// Close finishes the last part.
func (p *partWriter) Close() error {
	if p.cur == nil {
		return nil
	}
	return p.finish()
}

// recordExport stores the index and the export record, and appends the
// export's ledger entry.
func recordExport(db *state.DB, bs *blobs.Store, ix *Index, data []byte, actor string) error {
	indexDigest, err := bs.Put(data)
	if err != nil {
		return fmt.Errorf("export: store index: %w", err)
	}
	rec := exportRecord{ID: ix.ID, From: ix.From, Created: ix.Created, Index: indexDigest,
		After: ix.Ledger.After}
	for _, a := range ix.Artifacts {
		rec.Artifacts = append(rec.Artifacts, a.Key()+"@"+a.Record.Digest)
	}
	for _, f := range ix.Files {
		if f.Path != LedgerPath {
			rec.Blobs = append(rec.Blobs, f.Digest)
		}
	}
	return db.Update(func(tx *state.Tx) error {
		if err := tx.Put(ExportsBucket, ix.ID, &rec); err != nil {
			return err
		}
		return tx.Append(state.Entry{Type: EntryExported, Subject: "bundle/" + ix.ID, Actor: actor,
			Evidence: map[string]string{"index": indexDigest, "from": ix.From, "signer": ix.Signer,
				"artifacts": strconv.Itoa(len(ix.Artifacts)), "parts": strconv.Itoa(len(ix.Parts)),
				"ledger.before": headString(ix.Ledger.Before), "ledger.after": headString(ix.Ledger.After)}})
	})
}

func headString(h state.Head) string {
	if h.Seq == 0 {
		return "genesis"
	}
	return strconv.FormatUint(h.Seq, 10) + ":" + h.Hash
}

func sortedRoles(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

type nopProgress struct{}

func (nopProgress) Start(string, int) {}
func (nopProgress) Add(int, int64)    {}
func (nopProgress) Done()             {}
