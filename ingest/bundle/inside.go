package bundle

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/sluice-dev/sluice/approvals"
	"github.com/sluice-dev/sluice/ingest/state"
)

// Buckets and ledger entry types of the inside gateway.
const (
	// ImportsBucket keeps one importRecord per bundle, by id, and the
	// outside ledger head imported last under OutsideHeadKey.
	ImportsBucket = "bundle-imports"
	// OutsideBucket keeps, per artifact key, what the imported outside
	// ledger records of the artifact (an outsideArtifact).
	OutsideBucket = "bundle-outside"
	// EntryImported records a bundle verified and its artifacts recorded
	// as approved; EntryPublished records that all of them are on the
	// mirror. Their subject is "bundle/<id>".
	EntryImported  = "bundle.imported"
	EntryPublished = "bundle.published"
)

// OutsideHeadKey is the key, in ImportsBucket, of the last outside ledger
// entry the inside imported.
const OutsideHeadKey = "outside-head"

// Import statuses.
const (
	statusVerified  = "verified"
	statusPublished = "published"
)

// importRecord is the inside's record of one bundle.
type importRecord struct {
	ID        string     `json:"id"`
	From      string     `json:"from,omitempty"`
	Index     string     `json:"index"`
	Before    state.Head `json:"before"`
	After     state.Head `json:"after"`
	Status    string     `json:"status"`
	Artifacts int        `json:"artifacts"`
	Imported  time.Time  `json:"imported"`
	Published time.Time  `json:"published,omitzero"`
}

// outsideArtifact is an artifact as the outside ledger recorded it: the
// latest state, the tarball digest fetched, the latest evidence document
// and every state it skipped, with the entry that said so last.
type outsideArtifact struct {
	State    state.State `json:"state"`
	Digest   string      `json:"digest,omitempty"`
	Evidence string      `json:"evidence,omitempty"`
	// Signature is the digest of the Sigstore bundle the outside signed
	// the artifact with, when it was signed.
	Signature string        `json:"signature,omitempty"`
	Skipped   []state.State `json:"skipped,omitempty"`
	Entry     state.Head    `json:"entry"`
}

// insideView is the inside's import state before a bundle is imported.
type insideView struct {
	head    state.Head
	records map[string]importRecord
	last    string // id of the bundle whose segment ended at head
}

func loadInside(db *state.DB) (*insideView, error) {
	v := &insideView{records: map[string]importRecord{}}
	err := db.View(func(tx *state.Tx) error {
		if _, err := tx.Get(ImportsBucket, OutsideHeadKey, &v.head); err != nil {
			return err
		}
		return tx.ForEach(ImportsBucket, func(key string, value []byte) error {
			if key == OutsideHeadKey {
				return nil
			}
			var r importRecord
			if err := json.Unmarshal(value, &r); err != nil {
				return fmt.Errorf("import record %s: %w", key, err)
			}
			v.records[key] = r
			if r.After == v.head {
				v.last = key
			}
			return nil
		})
	})
	return v, err
}

func (v *insideView) describeHead() string {
	if v.last != "" {
		return fmt.Sprintf("outside ledger entry %d (bundle %s)", v.head.Seq, v.last)
	}
	return fmt.Sprintf("outside ledger entry %d", v.head.Seq)
}

// checkOrder refuses, from the index alone, a bundle that is older than
// what the inside imported or that leaves a gap after it.
func (v *insideView) checkOrder(ix *Index, trustFirst bool) error {
	seg := ix.Ledger
	if seg.After.Seq <= v.head.Seq && v.head.Seq > 0 {
		return fmt.Errorf("bundle %s: %w: its ledger segment ends at outside entry %d, and the inside has "+
			"imported up to %s; import a newer bundle", ix.ID, ErrReplay, seg.After.Seq, v.describeHead())
	}
	if seg.Before.Seq > v.head.Seq {
		if v.head.Seq == 0 && trustFirst {
			return nil
		}
		if v.head.Seq == 0 {
			return fmt.Errorf("bundle %s: %w: it continues bundle %s from outside entry %d, and the inside "+
				"has imported nothing: import a full export first, or pass --trust-first to start from this bundle",
				ix.ID, ErrContinuity, ix.From, seg.Before.Seq)
		}
		return fmt.Errorf("bundle %s: %w: it starts after outside entry %d (bundle %s), and the inside has "+
			"imported only up to %s: import the bundles exported in between first",
			ix.ID, ErrContinuity, seg.Before.Seq, ix.From, v.describeHead())
	}
	if seg.Before.Seq == v.head.Seq && seg.Before.Hash != v.head.Hash {
		return fmt.Errorf("bundle %s: %w: it continues outside entry %d with hash %s, and the inside "+
			"imported that entry with hash %s: the bundle comes from another or a rewritten outside ledger",
			ix.ID, ErrContinuity, seg.Before.Seq, seg.Before.Hash, v.head.Hash)
	}
	return nil
}

// checkSegment verifies the chain of the carried ledger segment and that
// it passes through the outside head the inside imported last.
func (v *insideView) checkSegment(ix *Index, ver *state.Verification, entries []state.Entry) error {
	if !ver.OK() {
		p := ver.Problems[0]
		return fmt.Errorf("bundle %s: %w: %s, entry %d: %s", ix.ID, ErrContinuity, LedgerPath, p.Seq, p.Message)
	}
	last := ix.Ledger.Before
	if len(entries) > 0 {
		last = state.Head{Seq: entries[len(entries)-1].Seq, Hash: entries[len(entries)-1].Hash}
	}
	if last != ix.Ledger.After {
		return fmt.Errorf("bundle %s: %w: %s ends at entry %d, the index lists %d", ix.ID, ErrContinuity,
			LedgerPath, last.Seq, ix.Ledger.After.Seq)
	}
	if v.head.Seq > ix.Ledger.Before.Seq {
		e := entries[v.head.Seq-ix.Ledger.Before.Seq-1]
		if e.Hash != v.head.Hash {
			return fmt.Errorf("bundle %s: %w: its entry %d has hash %s, and the inside imported that entry "+
				"with hash %s: the bundle comes from another or a rewritten outside ledger",
				ix.ID, ErrContinuity, e.Seq, e.Hash, v.head.Hash)
		}
	}
	return nil
}

// applyEntries folds ledger entries into what the outside records of each
// artifact. known holds earlier imports' view and is updated in place.
func applyEntries(known map[string]*outsideArtifact, entries []state.Entry) {
	for _, e := range entries {
		if !strings.Contains(e.Subject, "@") || strings.HasPrefix(e.Subject, "bundle/") {
			continue
		}
		o := known[e.Subject]
		if o == nil {
			o = &outsideArtifact{}
			known[e.Subject] = o
		}
		switch {
		case e.Type == state.EntryTransition && e.To == state.StateRequested:
			*o = outsideArtifact{State: e.To}
		case e.Type == state.EntryTransition:
			o.State = e.To
			o.Skipped = append(o.Skipped, e.Skipped...)
			if e.To == state.StateFetched && e.Evidence["digest"] != "" {
				o.Digest = e.Evidence["digest"]
			}
			if e.To == state.StateSigned {
				o.Signature = e.Evidence["signature.bundle"]
			}
		case e.Type == "artifact.refetched" && e.Evidence["digest"] != "":
			o.Digest = e.Evidence["digest"]
		}
		if d := e.Evidence["evidence"]; d != "" {
			o.Evidence = d
		}
		o.Entry = state.Head{Seq: e.Seq, Hash: e.Hash}
	}
}

// checkApproved checks an artifact of the bundle against what the outside
// ledger recorded of it and against its own evidence documents.
func checkApproved(ix *Index, a *Artifact, o *outsideArtifact) error {
	key := a.Key()
	fail := func(format string, args ...any) error {
		return fmt.Errorf("bundle %s: %s: %w: %s", ix.ID, key, ErrEvidence, fmt.Sprintf(format, args...))
	}
	if o == nil {
		return fail("the outside ledger records nothing of it")
	}
	if !state.Reached(o.State, state.StateApproved) {
		return fail("the outside ledger leaves it %s, not approved (entry %d)", o.State, o.Entry.Seq)
	}
	for _, s := range []state.State{state.StateScanned, state.StateEvaluated, state.StateApproved} {
		if slices.Contains(o.Skipped, s) {
			return fail("the outside ledger records that it skipped %s", s)
		}
	}
	if role := primaryRole(&a.Record); a.Record.Digest == "" || a.Record.Digest != o.Digest || a.Blobs[role] != o.Digest {
		return fail("its %s is %s, the outside ledger recorded %s as fetched", role, a.Blobs[role], o.Digest)
	}
	if a.Blobs["evidence"] == "" || a.Blobs["evidence"] != o.Evidence {
		return fail("its evidence is %q, the outside ledger's latest verdict rests on %q",
			a.Blobs["evidence"], o.Evidence)
	}
	if a.Blobs["scan"] == "" {
		return fail("it carries no scan result")
	}
	signed := state.Reached(o.State, state.StateSigned) && !slices.Contains(o.Skipped, state.StateSigned)
	switch sig := a.Blobs["signature"]; {
	case a.Record.Ecosystem == state.EcosystemOCI:
		if signed && !hasOwnSignature(&a.Record) {
			return fail("the outside ledger records it as signed, and it carries no attachment of the signing stage")
		}
	case signed && sig == "":
		return fail("the outside ledger records it as signed, and it carries no signature")
	case !signed && sig != "":
		return fail("it carries signature %s, and the outside ledger records no signature of it", sig)
	case sig != o.Signature:
		return fail("its signature is %s, the outside ledger recorded signature %s", sig, o.Signature)
	}
	var eval approvals.Evaluation
	if err := json.Unmarshal(a.Evaluation, &eval); err != nil {
		return fail("its evaluation is not valid JSON: %v", err)
	}
	if eval.Evidence != a.Blobs["evidence"] || eval.Digest != a.Record.Digest {
		return fail("its evaluation names evidence %s of %s", eval.Evidence, eval.Digest)
	}
	return nil
}
