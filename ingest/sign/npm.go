package sign

import (
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/sluice-dev/sluice/ingest"
	"github.com/sluice-dev/sluice/ingest/blobs"
	"github.com/sluice-dev/sluice/ingest/state"
)

// ApprovalPredicateType is the predicate type of the statement Sluice signs
// for each npm tarball.
const ApprovalPredicateType = "https://github.com/sluice-dev/sluice/attestation/approved/v1"

// SignaturesBucket is the state store bucket that keeps each artifact's
// Record, under the artifact's key.
const SignaturesBucket = "signatures"

// Evidence is the set of documents an artifact's signature vouches for
// besides the tarball.
type Evidence struct {
	// SBOMs maps an SBOM format ("spdx", "cyclonedx") to the blob digest
	// of the artifact's SBOM in that format.
	SBOMs map[string]string `json:"sbom,omitempty"`
	// Scan is the blob digest of the stored scan result.
	Scan string `json:"scan,omitempty"`
	// Platforms maps each platform of a multi-platform image
	// (os/architecture[/variant]) to its SBOMs, keyed like SBOMs.
	Platforms map[string]map[string]string `json:"platforms,omitempty"`
}

// EvidenceSource returns the evidence of an artifact, or an empty
// Evidence when it was not scanned.
type EvidenceSource interface {
	Evidence(ctx context.Context, a *state.Artifact) (Evidence, error)
}

// Predicate is the predicate of the statement signed for an npm tarball.
type Predicate struct {
	Artifact  string    `json:"artifact"`
	Integrity string    `json:"integrity"`
	Evidence  Evidence  `json:"evidence"`
	Signed    time.Time `json:"signed"`
}

// Record is the signature of an artifact as the state store keeps it.
type Record struct {
	Artifact string    `json:"artifact"`
	Digest   string    `json:"digest"`
	Bundle   string    `json:"bundle"`
	KeyID    string    `json:"keyId"`
	Signed   time.Time `json:"signed"`
}

// Stage is the signing stage of a sync (ingest.Runner.Sign). Wrap it in
// approvals.RequireApproved so that only approved artifacts are signed.
type Stage struct {
	signer   Signer
	db       *state.DB
	blobs    *blobs.Store
	evidence EvidenceSource
	log      *slog.Logger
	now      func() time.Time
	// imageRepository maps an image's upstream repository to the mirror
	// repository its signature names.
	imageRepository func(upstream string) (name.Repository, error)
}

var _ ingest.Stage = (*Stage)(nil)

// NewStage returns a signing stage. evidence may be nil when nothing was
// scanned; the signed statement then lists no SBOM or scan.
func NewStage(s Signer, db *state.DB, b *blobs.Store, evidence EvidenceSource, log *slog.Logger,
	opts ...Option) *Stage {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	st := &Stage{signer: s, db: db, blobs: b, evidence: evidence, log: log, now: time.Now}
	for _, o := range opts {
		o(st)
	}
	return st
}

// Name implements ingest.Stage.
func (s *Stage) Name() string { return StageName }

// Process signs an npm tarball's sha512 and sha256 digests with the
// evidence digests, stores the bundle as a blob and its Record, and moves
// the artifact to signed with the bundle digest as evidence. An image is
// signed in cosign's layout instead (see signImageArtifact).
func (s *Stage) Process(ctx context.Context, a *state.Artifact, tarball func() (*os.File, error)) (ingest.Outcome, error) {
	if a.Ecosystem == state.EcosystemOCI {
		return s.signImageArtifact(ctx, a)
	}
	digests, err := tarballDigests(tarball)
	if err != nil {
		return ingest.Outcome{}, err
	}
	if "sha256:"+digests["sha256"] != a.Digest {
		return ingest.Outcome{}, fmt.Errorf("the stored tarball has sha256:%s, the artifact records %s",
			digests["sha256"], a.Digest)
	}
	var ev Evidence
	if s.evidence != nil {
		if ev, err = s.evidence.Evidence(ctx, a); err != nil {
			return ingest.Outcome{}, err
		}
	}
	now := s.now().UTC()
	pred, err := json.Marshal(Predicate{Artifact: a.Key(), Integrity: a.Integrity, Evidence: ev,
		Signed: now})
	if err != nil {
		return ingest.Outcome{}, err
	}
	st := &Statement{Type: StatementType, PredicateType: ApprovalPredicateType, Predicate: pred,
		Subject: []Subject{{Name: PackageURL(a.Name, a.Version), Digest: digests}}}
	bundle, err := SignStatement(s.signer, st)
	if err != nil {
		return ingest.Outcome{}, err
	}
	bundleDigest, err := s.blobs.Put(bundle)
	if err != nil {
		return ingest.Outcome{}, fmt.Errorf("store signature bundle: %w", err)
	}
	rec := Record{Artifact: a.Key(), Digest: a.Digest, Bundle: bundleDigest, KeyID: s.signer.KeyID(),
		Signed: now}
	if err := s.db.Update(func(tx *state.Tx) error { return tx.Put(SignaturesBucket, a.Key(), rec) }); err != nil {
		return ingest.Outcome{}, fmt.Errorf("record signature: %w", err)
	}
	s.log.Debug("signed", "artifact", a.Key(), "bundle", bundleDigest, "key", rec.KeyID)
	return ingest.Outcome{To: state.StateSigned, Evidence: map[string]string{
		"signature.bundle": bundleDigest,
		"signature.keyid":  rec.KeyID,
		"signature.type":   ApprovalPredicateType,
	}}, nil
}

// LoadRecord returns an artifact's signature record, or nil when it has
// none.
func LoadRecord(db *state.DB, key string) (*Record, error) {
	var rec Record
	var ok bool
	err := db.View(func(tx *state.Tx) error {
		var err error
		ok, err = tx.Get(SignaturesBucket, key, &rec)
		return err
	})
	if err != nil || !ok {
		return nil, err
	}
	return &rec, nil
}

// PackageURL returns the purl of an npm package version, the subject name
// of its statement: pkg:npm/%40scope/name@1.0.0.
func PackageURL(name, version string) string {
	if strings.HasPrefix(name, "@") {
		name = "%40" + name[1:]
	}
	return "pkg:npm/" + name + "@" + version
}

// tarballDigests returns the hex sha256 and sha512 digests of a tarball.
func tarballDigests(tarball func() (*os.File, error)) (map[string]string, error) {
	f, err := tarball()
	if err != nil {
		return nil, err
	}
	defer f.Close()
	h256, h512 := sha256.New(), sha512.New()
	if _, err := io.Copy(io.MultiWriter(h256, h512), f); err != nil {
		return nil, fmt.Errorf("read stored tarball: %w", err)
	}
	return map[string]string{"sha256": hex.EncodeToString(h256.Sum(nil)),
		"sha512": hex.EncodeToString(h512.Sum(nil))}, nil
}

// integrityHex converts an SRI string "sha512-<base64>" to its algorithm
// and hex digest.
func integrityHex(sri string) (alg, hexDigest string, err error) {
	alg, b64, ok := strings.Cut(sri, "-")
	if !ok {
		return "", "", fmt.Errorf("invalid integrity %q: expected <algorithm>-<base64>", sri)
	}
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return "", "", fmt.Errorf("invalid integrity %q: %w", sri, err)
	}
	return alg, hex.EncodeToString(raw), nil
}

// DistFieldBundle is the key of the packument dist field that carries an
// npm version's Sigstore bundle on the mirror.
const DistFieldBundle = "sluiceBundle"

// DistFields returns the dist fields a publisher adds to a signed
// version: the Sigstore bundle under DistFieldBundle, so that consumers
// can fetch it with the package. Unsigned artifacts get none.
func DistFields(db *state.DB, b *blobs.Store) func(a *state.Artifact) (map[string]any, error) {
	return func(a *state.Artifact) (map[string]any, error) {
		rec, err := LoadRecord(db, a.Key())
		if err != nil || rec == nil {
			return nil, err
		}
		bundle, err := readBlob(b, rec.Bundle)
		if err != nil {
			return nil, fmt.Errorf("signature bundle %s: %w", rec.Bundle, err)
		}
		return map[string]any{DistFieldBundle: json.RawMessage(bundle)}, nil
	}
}
