package approvals

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/sluice-dev/sluice/ingest/blobs"
	"github.com/sluice-dev/sluice/ingest/state"
	"github.com/sluice-dev/sluice/manifests/policy"
)

// EvaluationsBucket is the state store bucket that keeps each artifact's
// latest Evaluation, under the artifact's key.
const EvaluationsBucket = "evaluations"

// ErrNoEvaluation is returned for an artifact that was never evaluated.
var ErrNoEvaluation = errors.New("artifact was not evaluated")

// Evidence is the document that backs one verdict: which policy decided,
// on which inputs, and why. It is stored as JSON in the blob store; its
// digest is recorded in the ledger and in the approval request.
type Evidence struct {
	Artifact  string `json:"artifact"`
	Digest    string `json:"digest"`
	Requester string `json:"requester,omitempty"`
	// PolicyFile is the path the policy was loaded from.
	PolicyFile string `json:"policyFile"`
	// Inputs names the digests of the documents the facts come from: the
	// stored scan result ("scan") and what it refers to ("sbom.spdx",
	// "sbom.cyclonedx", "vulndb.checksum").
	Inputs   map[string]string `json:"inputs,omitempty"`
	Facts    Facts             `json:"facts"`
	Decision Decision          `json:"decision"`
	// Reason is why the artifact was evaluated again, for example a
	// rescan. It is empty for the first evaluation.
	Reason string `json:"reason,omitempty"`
}

// Evaluation is the index entry of an artifact's latest verdict.
type Evaluation struct {
	Artifact     string      `json:"artifact"`
	Digest       string      `json:"digest"`
	Evidence     string      `json:"evidence"`
	Policy       string      `json:"policy"`
	PolicyDigest string      `json:"policyDigest"`
	Tier         policy.Tier `json:"tier"`
	Rules        []string    `json:"rules,omitempty"`
	At           time.Time   `json:"at"`
}

// writeEvidence stores ev in the blob store and returns its digest and
// encoding.
func writeEvidence(bs *blobs.Store, ev *Evidence) (string, []byte, error) {
	data, err := json.MarshalIndent(ev, "", "  ")
	if err != nil {
		return "", nil, fmt.Errorf("encode evidence of %s: %w", ev.Artifact, err)
	}
	digest, err := bs.Put(data)
	if err != nil {
		return "", nil, fmt.Errorf("store evidence of %s: %w", ev.Artifact, err)
	}
	return digest, data, nil
}

// LoadEvidence reads the evidence document with the given digest and
// returns it decoded and as stored.
func LoadEvidence(bs *blobs.Store, digest string) (*Evidence, []byte, error) {
	f, err := bs.Open(digest)
	if err != nil {
		return nil, nil, fmt.Errorf("evidence %s: %w", digest, err)
	}
	defer f.Close()
	data, err := io.ReadAll(f)
	if err != nil {
		return nil, nil, fmt.Errorf("read evidence %s: %w", digest, err)
	}
	var ev Evidence
	if err := json.Unmarshal(data, &ev); err != nil {
		return nil, nil, fmt.Errorf("evidence %s: %w", digest, err)
	}
	return &ev, data, nil
}

// LoadEvaluation returns an artifact's latest evaluation, or
// ErrNoEvaluation.
func LoadEvaluation(db *state.DB, key string) (*Evaluation, error) {
	var e Evaluation
	var ok bool
	err := db.View(func(tx *state.Tx) error {
		var err error
		ok, err = tx.Get(EvaluationsBucket, key, &e)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("evaluation of %s: %w", key, err)
	}
	if !ok {
		return nil, fmt.Errorf("%s: %w", key, ErrNoEvaluation)
	}
	return &e, nil
}

// Evaluations returns every artifact's latest evaluation, in key order.
func Evaluations(db *state.DB) ([]*Evaluation, error) {
	var out []*Evaluation
	err := db.View(func(tx *state.Tx) error {
		return tx.ForEach(EvaluationsBucket, func(key string, value []byte) error {
			e := new(Evaluation)
			if err := json.Unmarshal(value, e); err != nil {
				return fmt.Errorf("evaluation of %s: %w", key, err)
			}
			out = append(out, e)
			return nil
		})
	})
	return out, err
}

func evaluationOf(ev *Evidence, digest string) *Evaluation {
	d := &ev.Decision
	return &Evaluation{Artifact: ev.Artifact, Digest: ev.Digest, Evidence: digest, Policy: d.Policy,
		PolicyDigest: d.PolicyDigest, Tier: d.Tier, Rules: d.RuleNames(), At: ev.Facts.At}
}
