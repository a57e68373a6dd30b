package sign

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/sluice-dev/sluice/ingest/npm"
)

// Finding IDs of the upstream signature check. The approval policy reads
// "missing" as no signature and any other ID as a failed one.
const (
	FindingMissing = "missing"
	FindingInvalid = "invalid"
	FindingExpired = "expired-key"
	FindingUnknown = "unknown-key"
)

// NPMRegistryCheck verifies npm registry signatures of upstream versions
// with keys imported ahead of time.
type NPMRegistryCheck struct {
	Keys     *NPMKeys
	Registry *npm.Registry
}

// Check verifies the registry signature of one version, in the form that
// scanners.UpstreamChecks.Signatures takes. Provenance attestations
// (dist.attestations) are not verified: that needs Sigstore's public
// trust root and transparency log, which an air gap lacks.
func (c NPMRegistryCheck) Check(ctx context.Context, name, version string) (string, string, error) {
	p, err := c.Registry.Packument(ctx, name)
	if err != nil {
		return "", "", err
	}
	v, ok := p.Versions[version]
	if !ok {
		return "", "", fmt.Errorf("the upstream packument lists no version %s", version)
	}
	sigs := make([]NPMSignature, len(v.Dist.Signatures))
	for i, s := range v.Dist.Signatures {
		sigs[i] = NPMSignature{KeyID: s.KeyID, Sig: s.Sig}
	}
	var published time.Time
	if c.Keys.expiring(sigs) {
		times, err := c.Registry.PublishTimes(ctx, name)
		if err != nil {
			return "", "", err
		}
		published = times[version]
	}
	err = c.Keys.Verify(name, version, v.Dist.Integrity, sigs, published)
	switch {
	case err == nil:
		return "", "", nil
	case errors.Is(err, ErrNoUpstreamSignature):
		return FindingMissing, "the upstream registry publishes no signature for this version", nil
	case errors.Is(err, ErrKeyExpired):
		return FindingExpired, err.Error(), nil
	case errors.Is(err, ErrUnknownKey):
		return FindingUnknown, err.Error() + ": import the registry's current keys", nil
	}
	return FindingInvalid, err.Error(), nil
}

// expiring reports whether any key named by sigs has an expiry, so that
// the version's publish time matters.
func (k *NPMKeys) expiring(sigs []NPMSignature) bool {
	for _, s := range sigs {
		if key := k.find(s.KeyID); key != nil && key.Expires != nil {
			return true
		}
	}
	return false
}
