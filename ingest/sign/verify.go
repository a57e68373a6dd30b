package sign

import (
	"context"
	"crypto/ecdsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"

	"github.com/sluice-dev/sluice/ingest/blobs"
	"github.com/sluice-dev/sluice/ingest/state"
)

// ErrNotSigned is returned for an artifact that Sluice holds but did not
// sign or publish.
var ErrNotSigned = errors.New("not signed by Sluice")

// ErrNotMirrored is returned for a package version that never came
// through Sluice.
var ErrNotMirrored = errors.New("not mirrored through Sluice")

// VerificationError is the failed verification of one artifact, with the reason.
type VerificationError struct {
	Artifact string
	Err      error
}

func (e *VerificationError) Error() string { return e.Artifact + ": " + e.Err.Error() }
func (e *VerificationError) Unwrap() error { return e.Err }

// Verifier checks that artifacts in a data directory were approved,
// signed and published by Sluice, with a signature that the public key
// verifies over the stored tarball.
type Verifier struct {
	DB    *state.DB
	Blobs *blobs.Store
	Key   *ecdsa.PublicKey
}

// VerifyNPM checks one npm package version. integrity, when not empty, is
// the integrity a lockfile records, which must be the signed tarball's.
// A failure is a *VerificationError naming the artifact. It does no
// network I/O, so ctx is unused.
func (v *Verifier) VerifyNPM(_ context.Context, name, version, integrity string) error {
	key := state.ArtifactKey(state.EcosystemNPM, name, version)
	if err := v.verifyNPM(key, integrity); err != nil {
		return &VerificationError{Artifact: key, Err: err}
	}
	return nil
}

func (v *Verifier) verifyNPM(key, integrity string) error {
	a, err := v.DB.Artifact(key)
	if errors.Is(err, state.ErrNotFound) {
		return fmt.Errorf("%w: the data directory has no such artifact", ErrNotMirrored)
	}
	if err != nil {
		return err
	}
	if err := checkState(a); err != nil {
		return err
	}

	if integrity != "" && integrity != a.Integrity && integrity != a.LockIntegrity {
		return fmt.Errorf("%w: the lockfile's integrity %s is not the approved tarball's %s",
			ErrDigestMismatch, integrity, a.Integrity)
	}
	rec, err := LoadRecord(v.DB, key)
	if err != nil {
		return err
	}
	if rec == nil {
		return fmt.Errorf("%w: no signature is recorded", ErrNotSigned)
	}

	bundle, err := readBlob(v.Blobs, rec.Bundle)
	if err != nil {
		return fmt.Errorf("signature bundle %s: %w", rec.Bundle, err)
	}
	_, err = VerifyNPMBundle(v.Key, bundle, a, func() (*os.File, error) { return v.Blobs.Open(a.Digest) })
	return err
}

// VerifyNPMBundle checks that an npm artifact's Sigstore bundle is signed
// by pub and vouches for this artifact and its tarball, and returns the
// signed predicate.
func VerifyNPMBundle(pub *ecdsa.PublicKey, bundle []byte, a *state.Artifact,
	tarball func() (*os.File, error)) (*Predicate, error) {
	st, err := VerifyBundle(pub, bundle)
	if err != nil {
		return nil, err
	}
	if st.PredicateType != ApprovalPredicateType {
		return nil, fmt.Errorf("%w: predicate type %q, expected %q", ErrMalformedBundle, st.PredicateType,
			ApprovalPredicateType)
	}
	var pred Predicate
	if err := json.Unmarshal(st.Predicate, &pred); err != nil {
		return nil, fmt.Errorf("%w: predicate: %v", ErrMalformedBundle, err)
	}
	if pred.Artifact != a.Key() {
		return nil, fmt.Errorf("%w: the signature is for %s", ErrDigestMismatch, pred.Artifact)
	}
	digests, err := tarballDigests(tarball)
	if err != nil {
		return nil, fmt.Errorf("stored tarball %s: %w", a.Digest, err)
	}
	if err := st.Match(PackageURL(a.Name, a.Version), digests); err != nil {
		return nil, fmt.Errorf("stored tarball: %w", err)
	}
	if alg, h, err := integrityHex(a.Integrity); err == nil && digests[alg] != "" && digests[alg] != h {
		return nil, fmt.Errorf("%w: the stored tarball's %s is not the upstream integrity %s",
			ErrDigestMismatch, alg, a.Integrity)
	}
	return &pred, nil
}

// checkState requires an artifact to have been signed by a configured
// signing stage and published.
func checkState(a *state.Artifact) error {
	switch {
	case a.State == state.StateRejected:
		return fmt.Errorf("%w: it was rejected", ErrNotSigned)
	case !state.Reached(a.State, state.StateSigned):
		return fmt.Errorf("%w: its state is %s", ErrNotSigned, a.State)
	case slices.Contains(a.Skipped, state.StateSigned):
		return fmt.Errorf("%w: it was published while no signing key was configured", ErrNotSigned)
	case !state.Reached(a.State, state.StatePublished):
		return fmt.Errorf("%w: signed but not published (state %s)", ErrNotSigned, a.State)
	}
	return nil
}

// readBlob reads a whole blob. Blobs.Open does not check the content
// against the digest, so the signature check catches a changed bundle.
func readBlob(b *blobs.Store, digest string) ([]byte, error) {
	f, err := b.Open(digest)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(f)
}
