package bundle

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
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
	"github.com/sluice-dev/sluice/scanners"
)

// ImportOptions configure an import.
type ImportOptions struct {
	// Verifier holds the trusted key of the outside gateway.
	Verifier Verifier
	// SignKey is the trusted public key of the outside's signing stage.
	// Import verifies the Sigstore bundle of every signed artifact with
	// it, and refuses a bundle that carries one when SignKey is nil.
	SignKey *ecdsa.PublicKey
	// Publisher is the inside npm mirror. Import wraps it in
	// approvals.Gate.
	Publisher ingest.Publisher
	// ImagePublisher is the inside registry for container images. Import
	// wraps it in approvals.GateImages.
	ImagePublisher ingest.ImagePublisher
	// TrustFirst accepts a first bundle whose ledger segment does not
	// start at the outside ledger's first entry.
	TrustFirst  bool
	Actor       string
	Concurrency int
	Log         *slog.Logger
	Progress    ingest.Progress
}

// ImportSummary counts what an import did.
type ImportSummary struct {
	ID string
	// AlreadyImported is set when the bundle had been imported and
	// published completely before, so nothing was done.
	AlreadyImported bool
	// Resumed is set when an earlier import of the bundle was verified
	// and recorded but did not finish publishing.
	Resumed   bool
	Artifacts int
	// Staged counts blobs written to the blob store; Bytes is the size of
	// all files of the stream.
	Staged    int
	Bytes     int64
	Published int
	Present   int
	Verify    time.Duration
	Publish   time.Duration
}

// Import verifies the bundle at path and publishes its artifacts. It
// checks the signature against the trusted key, every part and file
// against the index, the ledger segment's chain and its continuity with
// the outside ledger imported before, and each artifact's approval against
// that ledger. Only then does it record the artifacts as approved, in one
// transaction, and publish them. A refused bundle leaves no record and
// publishes nothing. An import that stopped after recording continues
// with publishing when run again; one that finished does nothing.
func Import(ctx context.Context, db *state.DB, bs *blobs.Store, path string, opts ImportOptions) (*ImportSummary, error) {
	if opts.Verifier == nil || (opts.Publisher == nil && opts.ImagePublisher == nil) {
		return nil, errors.New("import: a trusted key and a mirror are required")
	}
	if opts.Progress == nil {
		opts.Progress = nopProgress{}
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	b, err := Open(path)
	if err != nil {
		return nil, fmt.Errorf("import: %w", err)
	}
	defer b.Close()
	if err := b.Verify(opts.Verifier); err != nil {
		return nil, err
	}
	ix := b.Index
	if err := checkPublishers(ix, opts); err != nil {
		return nil, err
	}
	sum := &ImportSummary{ID: ix.ID, Artifacts: len(ix.Artifacts), Bytes: ix.Size()}
	inside, err := loadInside(db)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	rec, seen := inside.records[ix.ID]
	switch {
	case seen && rec.Status == statusPublished && rec.After == inside.head:
		sum.AlreadyImported = true
		return sum, nil
	case seen && rec.Status == statusPublished:
		return nil, fmt.Errorf("bundle %s: %w: it was imported on %s, and the inside has imported up to %s since",
			ix.ID, ErrReplay, rec.Imported.Format(time.RFC3339), inside.describeHead())
	case seen:
		sum.Resumed = true
		if err := restage(ctx, b, bs, opts, sum); err != nil {
			return nil, err
		}
	default:
		if err := inside.checkOrder(ix, opts.TrustFirst); err != nil {
			return nil, err
		}
		if sum.Staged, err = b.stage(ctx, bs, opts.Progress); err != nil {
			return nil, err
		}
		if err := record(db, bs, b, inside, opts); err != nil {
			return nil, err
		}
	}
	sum.Verify = time.Since(start)
	start = time.Now()
	err = publish(ctx, db, bs, ix, opts, sum)
	sum.Publish = time.Since(start)
	return sum, err
}

// checkPublishers refuses, before anything is staged, a bundle with an
// artifact of an ecosystem that has no mirror to publish to.
func checkPublishers(ix *Index, opts ImportOptions) error {
	for _, a := range ix.Artifacts {
		switch {
		case a.Record.Ecosystem == state.EcosystemOCI && opts.ImagePublisher == nil:
			return fmt.Errorf("bundle %s carries container images (%s): give the inside registry with --oci-mirror",
				ix.ID, a.Key())
		case a.Record.Ecosystem != state.EcosystemOCI && opts.Publisher == nil:
			return fmt.Errorf("bundle %s carries npm packages (%s): give the inside npm mirror with --npm-mirror",
				ix.ID, a.Key())
		}
	}
	return nil
}

// restage makes sure the blob store holds every file of a bundle whose
// import was recorded, staging the stream again when one is missing.
func restage(ctx context.Context, b *Bundle, bs *blobs.Store, opts ImportOptions, sum *ImportSummary) error {
	for _, f := range b.Index.Files {
		if !bs.Has(f.Digest) {
			n, err := b.stage(ctx, bs, opts.Progress)
			sum.Staged = n
			return err
		}
	}
	return nil
}

// record checks the staged bundle's ledger segment and every artifact's
// approval, then records the import, the outside's view of each artifact
// and each artifact as approved on the inside, in one transaction.
func record(db *state.DB, bs *blobs.Store, b *Bundle, inside *insideView, opts ImportOptions) error {
	ix := b.Index
	segment, err := readStaged(bs, ix, LedgerPath)
	if err != nil {
		return err
	}
	ver, entries, err := state.VerifySegment(bytes.NewReader(segment), ix.Ledger.Before)
	if err != nil {
		return fmt.Errorf("bundle %s: %s: %w", ix.ID, LedgerPath, err)
	}
	if err := inside.checkSegment(ix, ver, entries); err != nil {
		return err
	}
	known := map[string]*outsideArtifact{}
	err = db.View(func(tx *state.Tx) error {
		return tx.ForEach(OutsideBucket, func(key string, value []byte) error {
			o := new(outsideArtifact)
			known[key] = o
			return json.Unmarshal(value, o)
		})
	})
	if err != nil {
		return err
	}
	applyEntries(known, entries)
	scans := make([]json.RawMessage, len(ix.Artifacts))
	sigs := make([]*sign.Record, len(ix.Artifacts))
	for i := range ix.Artifacts {
		a := &ix.Artifacts[i]
		if err := checkApproved(ix, a, known[a.Key()]); err != nil {
			return err
		}
		if scans[i], err = checkStaged(bs, ix, a); err != nil {
			return err
		}
		if sigs[i], err = checkSignature(bs, ix, a, opts.SignKey); err != nil {
			return err
		}
	}
	indexDigest, err := bs.Put(b.IndexData)
	if err != nil {
		return err
	}
	rec := importRecord{ID: ix.ID, From: ix.From, Index: indexDigest, Before: ix.Ledger.Before,
		After: ix.Ledger.After, Status: statusVerified, Artifacts: len(ix.Artifacts)}
	return db.Update(func(tx *state.Tx) error {
		rec.Imported = tx.Now()
		if err := tx.Put(ImportsBucket, ix.ID, &rec); err != nil {
			return err
		}
		if err := tx.Put(ImportsBucket, OutsideHeadKey, ix.Ledger.After); err != nil {
			return err
		}
		for key, o := range known {
			if err := tx.Put(OutsideBucket, key, o); err != nil {
				return err
			}
		}
		for i := range ix.Artifacts {
			err := recordArtifact(tx, ix, &ix.Artifacts[i], known[ix.Artifacts[i].Key()], scans[i], sigs[i], opts.Actor)
			if err != nil {
				return err
			}
		}
		return tx.Append(state.Entry{Type: EntryImported, Subject: "bundle/" + ix.ID, Actor: opts.Actor,
			Evidence: map[string]string{"index": indexDigest, "from": ix.From, "signer": ix.Signer,
				"artifacts": fmt.Sprint(len(ix.Artifacts)), "outside.before": headString(ix.Ledger.Before),
				"outside.after": headString(ix.Ledger.After)}})
	})
}

// checkStaged checks that every blob an artifact needs is in the blob
// store, from this bundle or an earlier one, and that its evidence
// document is about its tarball and names its scan result. It returns the
// scan result.
func checkStaged(bs *blobs.Store, ix *Index, a *Artifact) (json.RawMessage, error) {
	for _, role := range sortedRoles(a.Blobs) {
		if !bs.Has(a.Blobs[role]) {
			return nil, fmt.Errorf("bundle %s: %s: %w: its %s blob %s is neither in this bundle nor imported "+
				"before: import bundle %s first, or export without --since", ix.ID, a.Key(), ErrMissing,
				role, a.Blobs[role], ix.From)
		}
	}
	if a.Record.Ecosystem == state.EcosystemOCI {
		// Every blob the image's manifests name must have crossed.
		if _, err := imageBlobs(bs, &a.Record); err != nil {
			return nil, fmt.Errorf("bundle %s: %s: %w: %v", ix.ID, a.Key(), ErrMissing, err)
		}
	}
	ev, _, err := approvals.LoadEvidence(bs, a.Blobs["evidence"])
	if err != nil {
		return nil, fmt.Errorf("bundle %s: %s: %w: %v", ix.ID, a.Key(), ErrEvidence, err)
	}
	if ev.Digest != a.Record.Digest || ev.Inputs["scan"] != a.Blobs["scan"] {
		return nil, fmt.Errorf("bundle %s: %s: %w: its evidence document is about %s with scan %s",
			ix.ID, a.Key(), ErrEvidence, ev.Digest, ev.Inputs["scan"])
	}
	var scan json.RawMessage
	if err := readBlob(bs, a.Blobs["scan"], &scan); err != nil {
		return nil, fmt.Errorf("bundle %s: %s: scan result: %w", ix.ID, a.Key(), err)
	}
	return scan, nil
}

func readStaged(bs *blobs.Store, ix *Index, path string) ([]byte, error) {
	for _, f := range ix.Files {
		if f.Path != path {
			continue
		}
		r, err := bs.Open(f.Digest)
		if err != nil {
			return nil, fmt.Errorf("bundle %s: %s: %w", ix.ID, path, err)
		}
		defer r.Close()
		return io.ReadAll(r)
	}
	return nil, fmt.Errorf("bundle %s: %w: the index lists no %s", ix.ID, ErrMissing, path)
}

// recordArtifact creates the artifact on the inside and moves it through
// each state the outside passed, up to approved (or signed), each move
// naming the bundle and the outside ledger entry it rests on. An artifact
// the inside holds already with the same digest is left as it is.
func recordArtifact(tx *state.Tx, ix *Index, a *Artifact, o *outsideArtifact, scan json.RawMessage,
	sig *sign.Record, actor string) error {
	key := a.Key()
	if have, err := tx.Artifact(key); err == nil {
		if have.Digest != a.Record.Digest {
			return fmt.Errorf("bundle %s: %s: the inside holds it with tarball %s, the bundle carries %s",
				ix.ID, key, have.Digest, a.Record.Digest)
		}
		return nil
	} else if !errors.Is(err, state.ErrNotFound) {
		return err
	}
	rec := a.Record
	rec.Mirrors, rec.Skipped = nil, nil
	run := "bundle/" + ix.ID
	if _, _, err := tx.Create(&rec, run, actor); err != nil {
		return err
	}
	base := map[string]string{"bundle": ix.ID, "outside.entry": headString(o.Entry)}
	with := func(extra map[string]string) map[string]string {
		ev := map[string]string{}
		for k, v := range base {
			ev[k] = v
		}
		for k, v := range extra {
			ev[k] = v
		}
		return ev
	}
	type step struct {
		to       state.State
		evidence map[string]string
	}
	steps := []step{
		{state.StateResolved, with(map[string]string{"tarball": a.Record.TarballURL})},
		{state.StateFetched, with(map[string]string{"digest": a.Record.Digest, "integrity": a.Record.Integrity,
			"size": fmt.Sprint(a.Record.Size)})},
		{state.StateScanned, with(map[string]string{"scan": a.Blobs["scan"], "sbom.spdx": a.Blobs["sbom.spdx"],
			"sbom.cyclonedx": a.Blobs["sbom.cyclonedx"]})},
		{state.StateEvaluated, with(map[string]string{"evidence": a.Blobs["evidence"]})},
		{state.StateApproved, with(map[string]string{"evidence": a.Blobs["evidence"]})},
	}
	switch {
	case sig != nil:
		steps = append(steps, step{state.StateSigned, with(map[string]string{"signature.bundle": sig.Bundle,
			"signature.keyid": sig.KeyID, "signature.type": sign.ApprovalPredicateType})})
		if err := tx.Put(sign.SignaturesBucket, key, sig); err != nil {
			return err
		}
	case a.Record.Ecosystem == state.EcosystemOCI && state.Reached(o.State, state.StateSigned) &&
		!slices.Contains(o.Skipped, state.StateSigned):
		// The image's signatures are attachments the publisher pushes
		// with it; checkApproved made sure it carries one.
		var own []string
		for _, att := range a.Record.Attachments {
			if att.Source == signSource {
				own = append(own, att.Digest)
			}
		}
		steps = append(steps, step{state.StateSigned, with(map[string]string{
			"signature.attachments": strings.Join(own, ",")})})
	}
	for _, s := range steps {
		if _, err := tx.Transition(key, state.Change{To: s.to, Run: run, Actor: actor, Evidence: s.evidence}); err != nil {
			return fmt.Errorf("bundle %s: record %s: %w", ix.ID, key, err)
		}
	}
	if err := tx.Put(scanners.ResultsBucket, key, scan); err != nil {
		return err
	}
	if err := tx.Put(approvals.EvaluationsBucket, key, a.Evaluation); err != nil {
		return err
	}
	if len(a.Approval) > 0 && string(a.Approval) != "null" {
		return tx.Put(approvals.RequestsBucket, key, a.Approval)
	}
	return nil
}

// checkSignature verifies the Sigstore bundle of a signed artifact with
// the trusted signing key, against its staged tarball, and returns the
// signature record the inside keeps. It returns nil for an unsigned one.
func checkSignature(bs *blobs.Store, ix *Index, a *Artifact, pub *ecdsa.PublicKey) (*sign.Record, error) {
	digest := a.Blobs["signature"]
	if digest == "" {
		return nil, nil
	}
	if pub == nil {
		return nil, fmt.Errorf("bundle %s: %s: it is signed, and no signing public key is trusted: "+
			"pass the outside's signing public key with --sign-pub", ix.ID, a.Key())
	}
	keyID, err := sign.KeyID(pub)
	if err != nil {
		return nil, err
	}
	var data json.RawMessage
	if err := readBlob(bs, digest, &data); err != nil {
		return nil, fmt.Errorf("bundle %s: %s: signature: %w", ix.ID, a.Key(), err)
	}
	pred, err := sign.VerifyNPMBundle(pub, data, &a.Record, func() (*os.File, error) {
		return bs.Open(a.Record.Digest)
	})
	if err != nil {
		return nil, fmt.Errorf("bundle %s: %s: %w: Sigstore bundle %s: %w", ix.ID, a.Key(), ErrArtifactSignature,
			digest, err)
	}
	return &sign.Record{Artifact: a.Key(), Digest: a.Record.Digest, Bundle: digest, KeyID: keyID,
		Signed: pred.Signed}, nil
}

// publish publishes every artifact of the bundle that is not on the
// mirror yet, through the normal publish path, and marks the import done.
func publish(ctx context.Context, db *state.DB, bs *blobs.Store, ix *Index, opts ImportOptions, sum *ImportSummary) error {
	var arts []*state.Artifact
	for _, a := range ix.Artifacts {
		have, err := db.Artifact(a.Key())
		if err != nil {
			return err
		}
		arts = append(arts, have)
	}
	run, err := db.StartRun(map[string]string{"bundle/" + ix.ID: ix.ID}, opts.Actor)
	if err != nil {
		return err
	}
	r := &ingest.Runner{DB: db, Blobs: bs, Concurrency: opts.Concurrency, Actor: opts.Actor, Log: opts.Log,
		Progress: opts.Progress}
	var mirrors []string
	if opts.Publisher != nil {
		r.Publish = approvals.Gate(opts.Publisher)
		mirrors = append(mirrors, opts.Publisher.URL())
	}
	if opts.ImagePublisher != nil {
		r.PublishImages = approvals.GateImages(opts.ImagePublisher)
		mirrors = append(mirrors, opts.ImagePublisher.URL())
	}
	ps, err := r.PublishStored(ctx, run.ID, arts)
	if ferr := db.FinishRun(run, err); ferr != nil {
		err = errors.Join(err, ferr)
	}
	sum.Published, sum.Present = ps.Published, ps.Present
	if err != nil {
		return fmt.Errorf("bundle %s: %w; run import again to publish the rest", ix.ID, err)
	}
	return db.Update(func(tx *state.Tx) error {
		var rec importRecord
		if _, err := tx.Get(ImportsBucket, ix.ID, &rec); err != nil {
			return err
		}
		rec.Status, rec.Published = statusPublished, tx.Now()
		if err := tx.Put(ImportsBucket, ix.ID, &rec); err != nil {
			return err
		}
		return tx.Append(state.Entry{Type: EntryPublished, Subject: "bundle/" + ix.ID, Actor: opts.Actor,
			Run: run.ID, Evidence: map[string]string{"mirror": strings.Join(mirrors, " "),
				"published": fmt.Sprint(ps.Published), "alreadyPresent": fmt.Sprint(ps.Present)}})
	})
}
