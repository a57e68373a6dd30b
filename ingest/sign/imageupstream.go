package sign

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/sigstore/cosign/v2/pkg/cosign"

	"github.com/sluice-dev/sluice/ingest/oci"
	"github.com/sluice-dev/sluice/ingest/state"
)

// UpstreamImagesBucket is the state store bucket that keeps each image's
// latest upstream signature check (UpstreamImageRecord), under the
// artifact's key.
const UpstreamImagesBucket = "upstream-image-signatures"

// Results of an upstream image signature check. Missing and invalid are
// also the IDs of the upstream-signature findings the scan reports.
const (
	UpstreamVerified = "verified"
	UpstreamMissing  = "missing"
	UpstreamInvalid  = "invalid"
)

// UpstreamImageRecord is the result of checking an image's upstream
// cosign signature.
type UpstreamImageRecord struct {
	Artifact string `json:"artifact"`
	// Reference is the upstream digest reference that was checked.
	Reference string `json:"reference"`
	Result    string `json:"result"`
	// KeyID names the key that verified the signature.
	KeyID   string    `json:"keyId,omitempty"`
	Detail  string    `json:"detail,omitempty"`
	Checked time.Time `json:"checked"`
}

// UpstreamImageCheck verifies the cosign signatures of fetched images on
// their upstream registry, with the keys their manifest entry names, and
// stores the result for the scan stage (ImageSignatureFinding).
type UpstreamImageCheck struct {
	DB *state.DB
	// Keychain finds credentials for the upstream registry; nil means
	// anonymous.
	Keychain authn.Keychain
	// Options carries the transport; its Auth is replaced per registry
	// when Keychain is set.
	Options ImageOptions
}

// Verify checks the upstream signature of the image res resolved to and
// records the result for artifact a. It returns the ledger evidence. A
// missing or invalid signature is a result; an unreadable key file or a
// registry that cannot be reached is an error.
func (c UpstreamImageCheck) Verify(ctx context.Context, a *state.Artifact,
	res *oci.Resolved) (map[string]string, error) {
	keys := make([]*ecdsa.PublicKey, 0, len(res.VerifyKeys))
	for _, path := range res.VerifyKeys {
		k, err := LoadPublicKey(path)
		if err != nil {
			return nil, fmt.Errorf("%s: verify.keys: %w", res.RequestedBy, err)
		}
		keys = append(keys, k)
	}
	ref, err := name.NewDigest(res.Reference())
	if err != nil {
		return nil, err
	}
	opts := c.Options
	if c.Keychain != nil {
		if opts.Auth, err = c.Keychain.Resolve(ref.Context()); err != nil {
			return nil, fmt.Errorf("credentials for %s: %w", ref.Context(), err)
		}
	}
	rec := UpstreamImageRecord{Artifact: a.Key(), Reference: ref.String(), Checked: time.Now().UTC()}
	id, err := VerifyImage(ctx, ref, keys, opts)
	var none *cosign.ErrNoSignaturesFound
	var mismatch *cosign.ErrNoMatchingSignatures
	switch {
	case err == nil:
		rec.Result, rec.KeyID = UpstreamVerified, id
	case errors.As(err, &mismatch):
		rec.Result = UpstreamInvalid
		rec.Detail = fmt.Sprintf("no cosign signature of %s verifies with the configured keys %s",
			ref, strings.Join(res.VerifyKeys, ", "))
	case errors.As(err, &none):
		rec.Result = UpstreamMissing
		rec.Detail = fmt.Sprintf("the upstream registry has no cosign signature of %s", ref)
	default:
		return nil, err
	}
	if err := c.DB.Update(func(tx *state.Tx) error { return tx.Put(UpstreamImagesBucket, a.Key(), rec) }); err != nil {
		return nil, fmt.Errorf("record the upstream signature check of %s: %w", a.Key(), err)
	}
	ev := map[string]string{"upstream.signature": rec.Result}
	if rec.KeyID != "" {
		ev["upstream.signature.keyid"] = rec.KeyID
	}
	return ev, nil
}

// ImageSignatureFinding returns, for the scan stage, the upstream
// signature finding of an image from its stored check: the ID (missing or
// invalid) and a detail sentence, or "" when the signature verified or
// was never checked.
func ImageSignatureFinding(db *state.DB) func(ctx context.Context, a *state.Artifact) (string, string, error) {
	return func(_ context.Context, a *state.Artifact) (string, string, error) {
		var rec UpstreamImageRecord
		var ok bool
		err := db.View(func(tx *state.Tx) error {
			var err error
			ok, err = tx.Get(UpstreamImagesBucket, a.Key(), &rec)
			return err
		})
		if err != nil || !ok || rec.Result == UpstreamVerified {
			return "", "", err
		}
		return rec.Result, rec.Detail, nil
	}
}
