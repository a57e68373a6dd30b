package bundle

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/sluice-dev/sluice/approvals"
	"github.com/sluice-dev/sluice/ingest"
	"github.com/sluice-dev/sluice/ingest/blobs"
	"github.com/sluice-dev/sluice/ingest/sign"
	"github.com/sluice-dev/sluice/ingest/state"
)

// Buckets and ledger entry types of the outside gateway.
const (
	// ExportsBucket keeps one exportRecord per bundle exported, by id.
	ExportsBucket = "bundle-exports"
	// EntryExported records an export; its subject is "bundle/<id>".
	EntryExported = "bundle.exported"
)

// exportRecord is the outside's record of one export, so that a later
// export with --since can leave out what it carried.
type exportRecord struct {
	ID      string     `json:"id"`
	From    string     `json:"from,omitempty"`
	Created time.Time  `json:"created"`
	Index   string     `json:"index"`
	After   state.Head `json:"after"`
	// Artifacts are "<key>@<digest>" of the artifacts carried; Blobs the
	// digests of every blob carried.
	Artifacts []string `json:"artifacts"`
	Blobs     []string `json:"blobs"`
}

// ExportOptions configure an export.
type ExportOptions struct {
	// To is a folder (existing, or ending in "/") that receives the
	// bundle's files, or a new file for a single-file bundle.
	To string
	// Since is the id of an earlier export that the inside imported. The
	// bundle then leaves out what that export and those it continued
	// carried, and its ledger segment starts where that export's ended.
	Since string
	// MaxPartSize is the largest part in bytes; 0 writes one part.
	MaxPartSize int64
	Signer      Signer
	Actor       string
	Log         *slog.Logger
	Progress    ingest.Progress
}

// ExportResult describes a written bundle.
type ExportResult struct {
	Index *Index
	// Held lists the stored artifacts that were left out because they
	// lack an approval or a scan, with the reason.
	Held []string
}

// Export writes a bundle of every approved artifact the inside does not
// have yet, with its evidence and the outside ledger since the last
// export, and records the export in the ledger.
func Export(ctx context.Context, db *state.DB, bs *blobs.Store, opts ExportOptions) (*ExportResult, error) {
	if opts.Signer == nil {
		return nil, errors.New("export: a signing key is required")
	}
	if opts.Progress == nil {
		opts.Progress = nopProgress{}
	}
	signer, err := KeyID(opts.Signer.PublicKey())
	if err != nil {
		return nil, fmt.Errorf("export: signing key: %w", err)
	}
	carried, before, err := carriedSince(db, opts.Since)
	if err != nil {
		return nil, err
	}
	after, err := db.LedgerHead()
	if err != nil {
		return nil, err
	}
	now := time.Now().UTC()
	id, err := newID(now)
	if err != nil {
		return nil, err
	}
	ix := &Index{Format: FormatV1, ID: id, Created: now, From: opts.Since, Signer: signer,
		Ledger: Segment{Before: before, After: after}}
	res := &ExportResult{Index: ix}
	if err := collect(db, bs, ix, carried, res); err != nil {
		return nil, err
	}
	if len(ix.Artifacts) == 0 && after == before {
		if opts.Since == "" {
			return nil, errors.New("export: nothing to export: the data directory holds no approved " +
				"artifact and no ledger entry; run sluice sync first")
		}
		return nil, fmt.Errorf("export: nothing new since bundle %s: no artifact was approved and "+
			"the ledger did not move", opts.Since)
	}
	var segment bytes.Buffer
	if err := db.ExportSegment(&segment, before.Seq, after.Seq); err != nil {
		return nil, err
	}
	ledgerDigest, err := bs.Put(segment.Bytes())
	if err != nil {
		return nil, fmt.Errorf("export: store ledger segment: %w", err)
	}
	ix.Files = append([]File{{Path: LedgerPath, Digest: ledgerDigest, Size: int64(segment.Len())}}, ix.Files...)

	out, err := newSink(opts.To, id, opts.MaxPartSize > 0, now)
	if err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	signed, err := writeBundle(ctx, out, bs, ix, opts)
	if err != nil {
		out.abort()
		return nil, err
	}
	if err := recordExport(db, bs, ix, signed, opts.Actor); err != nil {
		return nil, err
	}
	return res, nil
}

// carried lists the artifacts and blobs of earlier exports in a --since chain.
type carried struct {
	artifacts map[string]bool
	blobs     map[string]bool
}

// carriedSince walks the chain of exports that since continues and
// returns what they carried and where the newest one's ledger ended.
func carriedSince(db *state.DB, since string) (*carried, state.Head, error) {
	c := &carried{artifacts: map[string]bool{}, blobs: map[string]bool{}}
	var head state.Head
	for id := since; id != ""; {
		var rec exportRecord
		var ok bool
		err := db.View(func(tx *state.Tx) error {
			var err error
			ok, err = tx.Get(ExportsBucket, id, &rec)
			return err
		})
		if err != nil {
			return nil, head, fmt.Errorf("export record %s: %w", id, err)
		}
		if !ok {
			return nil, head, fmt.Errorf("export: no bundle %s was exported from this data directory: "+
				"give the id that an earlier export printed", id)
		}
		if id == since {
			head = rec.After
		}
		for _, a := range rec.Artifacts {
			c.artifacts[a] = true
		}
		for _, b := range rec.Blobs {
			c.blobs[b] = true
		}
		id = rec.From
	}
	return c, head, nil
}

// Eligible returns nil when an artifact may cross to the inside: it was
// scanned and approved (see approvals.Approved) without skipping either.
// Otherwise the error names what it lacks.
func Eligible(a *state.Artifact) error {
	if !state.Reached(a.State, state.StateApproved) {
		return fmt.Errorf("%s is %s, not approved", a.Key(), a.State)
	}
	for _, s := range []state.State{state.StateScanned, state.StateEvaluated, state.StateApproved} {
		if slices.Contains(a.Skipped, s) {
			return fmt.Errorf("%s skipped %s", a.Key(), s)
		}
	}
	return nil
}

// collect adds every eligible artifact that was not carried before, and
// its blobs, to the index.
func collect(db *state.DB, bs *blobs.Store, ix *Index, c *carried, res *ExportResult) error {
	arts, err := db.Artifacts(func(a *state.Artifact) bool { return state.Reached(a.State, state.StateFetched) })
	if err != nil {
		return err
	}
	seen := map[string]bool{}
	for _, a := range arts {
		if c.artifacts[a.Key()+"@"+a.Digest] {
			continue
		}
		if err := Eligible(a); err != nil {
			res.Held = append(res.Held, err.Error())
			continue
		}
		entry, err := describe(db, bs, a)
		if err != nil {
			return err
		}
		for _, role := range sortedRoles(entry.Blobs) {
			digest := entry.Blobs[role]
			if seen[digest] || c.blobs[digest] {
				continue
			}
			seen[digest] = true
			path, err := bs.Path(digest)
			if err != nil {
				return fmt.Errorf("export %s: %s: %w", a.Key(), role, err)
			}
			info, err := os.Stat(path)
			if err != nil {
				return fmt.Errorf("export %s: %s blob %s is not in the blob store: %w", a.Key(), role, digest, err)
			}
			ix.Files = append(ix.Files, File{Path: BlobsDir + strings.TrimPrefix(digest, "sha256:"),
				Digest: digest, Size: info.Size()})
		}
		ix.Artifacts = append(ix.Artifacts, *entry)
	}
	return nil
}

// describe gathers an artifact's record, evaluation, approval request and
// the digests of its evidence blobs.
func describe(db *state.DB, bs *blobs.Store, a *state.Artifact) (*Artifact, error) {
	entry := &Artifact{Record: *a, Blobs: map[string]string{primaryRole(a): a.Digest}}
	entry.Record.Mirrors = nil
	if a.Ecosystem == state.EcosystemOCI {
		roles, err := imageBlobs(bs, a)
		if err != nil {
			return nil, fmt.Errorf("export %s: %w", a.Key(), err)
		}
		entry.Blobs = roles
	}
	var eval approvals.Evaluation
	err := db.View(func(tx *state.Tx) error {
		ok, err := tx.Get(approvals.EvaluationsBucket, a.Key(), &entry.Evaluation)
		if err != nil || !ok {
			return errors.Join(err, fmt.Errorf("%w: %s has no stored evaluation", ErrEvidence, a.Key()))
		}
		if err := json.Unmarshal(entry.Evaluation, &eval); err != nil {
			return err
		}
		_, err = tx.Get(approvals.RequestsBucket, a.Key(), &entry.Approval)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("export %s: %w", a.Key(), err)
	}
	if eval.Digest != a.Digest {
		return nil, fmt.Errorf("export %s: %w: the stored evaluation is of %s, the artifact is %s",
			a.Key(), ErrEvidence, eval.Digest, a.Digest)
	}
	entry.Blobs["evidence"] = eval.Evidence
	ev, _, err := approvals.LoadEvidence(bs, eval.Evidence)
	if err != nil {
		return nil, fmt.Errorf("export %s: %w", a.Key(), err)
	}
	for _, role := range []string{"scan", "sbom.spdx", "sbom.cyclonedx"} {
		if d := ev.Inputs[role]; d != "" {
			entry.Blobs[role] = d
		}
	}
	if entry.Blobs["scan"] == "" {
		return nil, fmt.Errorf("export %s: %w: its evidence names no scan result", a.Key(), ErrEvidence)
	}
	if err := describeSignature(db, a, entry); err != nil {
		return nil, err
	}
	return entry, nil
}

// describeSignature adds the Sigstore bundle of a signed npm artifact to
// its blobs as "signature".
func describeSignature(db *state.DB, a *state.Artifact, entry *Artifact) error {
	if !state.Reached(a.State, state.StateSigned) || slices.Contains(a.Skipped, state.StateSigned) ||
		a.Ecosystem != state.EcosystemNPM {
		return nil
	}
	rec, err := sign.LoadRecord(db, a.Key())
	if err != nil {
		return fmt.Errorf("export %s: signature record: %w", a.Key(), err)
	}
	if rec == nil || rec.Digest != a.Digest {
		return fmt.Errorf("export %s: %w: it is %s, and no signature of its tarball is recorded",
			a.Key(), ErrEvidence, a.State)
	}
	entry.Blobs["signature"] = rec.Bundle
	return nil
}
