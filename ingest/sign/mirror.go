package sign

import (
	"context"
	"crypto/ecdsa"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/sluice-dev/sluice/ingest/npm"
	"github.com/sluice-dev/sluice/ingest/state"
)

// MirrorVerifier checks lockfile entries against what an npm mirror
// serves, for consumers that have the public key but not Sluice's data
// directory: each version's packument must carry a Sluice bundle that the
// key verifies and whose signed sha512 is the lockfile's and the mirror's
// integrity. npm checks the tarball against the lockfile's integrity on
// install, so the tarball itself is not downloaded.
type MirrorVerifier struct {
	Mirror *npm.Registry
	Key    *ecdsa.PublicKey
}

// VerifyNPM checks one version. A failure is a *VerificationError naming
// the artifact.
func (v *MirrorVerifier) VerifyNPM(ctx context.Context, name, version, integrity string) error {
	key := state.ArtifactKey(state.EcosystemNPM, name, version)
	if err := v.verifyNPM(ctx, key, name, version, integrity); err != nil {
		return &VerificationError{Artifact: key, Err: err}
	}
	return nil
}

func (v *MirrorVerifier) verifyNPM(ctx context.Context, key, name, version, integrity string) error {
	p, err := v.Mirror.Packument(ctx, name)
	if errors.Is(err, npm.ErrPackageNotFound) {
		return fmt.Errorf("%w: the mirror %s has no such package", ErrNotMirrored, v.Mirror.URL())
	}
	if err != nil {
		return err
	}
	meta, ok := p.Versions[version]
	if !ok {
		return fmt.Errorf("%w: the mirror %s has no such version", ErrNotMirrored, v.Mirror.URL())
	}
	if len(meta.Dist.SluiceBundle) == 0 {
		return fmt.Errorf("%w: the mirror's packument has no dist.%s", ErrNotSigned, DistFieldBundle)
	}

	st, err := VerifyBundle(v.Key, meta.Dist.SluiceBundle)
	if err != nil {
		return err
	}
	if st.PredicateType != ApprovalPredicateType {
		return fmt.Errorf("%w: predicate type %q, expected %q", ErrMalformedBundle, st.PredicateType,
			ApprovalPredicateType)
	}
	var pred Predicate
	if err := json.Unmarshal(st.Predicate, &pred); err != nil {
		return fmt.Errorf("%w: predicate: %v", ErrMalformedBundle, err)
	}
	if pred.Artifact != key {
		return fmt.Errorf("%w: the signature is for %s", ErrDigestMismatch, pred.Artifact)
	}

	if integrity == "" && meta.Dist.Integrity == "" {
		return fmt.Errorf("%w: neither the lockfile nor the mirror states an integrity", ErrDigestMismatch)
	}
	for _, c := range []struct{ source, sri string }{{"lockfile", integrity}, {"mirror", meta.Dist.Integrity}} {
		source, sri := c.source, c.sri
		if sri == "" {
			continue
		}
		alg, h, err := integrityHex(sri)
		if err != nil {
			return fmt.Errorf("%s: %w", source, err)
		}
		if alg != "sha512" {
			return fmt.Errorf("%w: the %s integrity uses %s; only sha512 can be compared with the "+
				"signed digests", ErrDigestMismatch, source, alg)
		}
		if err := st.Match(PackageURL(name, version), map[string]string{alg: h}); err != nil {
			return fmt.Errorf("%s integrity: %w", source, err)
		}
	}
	return nil
}
