package sign

import (
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/sluice-dev/sluice/ingest/blobs"
	"github.com/sluice-dev/sluice/ingest/state"
)

// Errors of upstream npm signature checks. The policy decides what each
// means for an artifact.
var (
	ErrNoUpstreamSignature = errors.New("no registry signature")
	ErrUnknownKey          = errors.New("signed by a key that was not imported")
	ErrKeyExpired          = errors.New("signed by an expired key")
)

// EntryUpstreamKeysImported is the ledger entry type of an import of
// upstream registry keys.
const EntryUpstreamKeysImported = "keys.upstream-imported"

// upstreamKeysBucket keeps the digest of the imported npm registry keys
// document under the key "npm".
const upstreamKeysBucket = "upstream-keys"

// NPMKeys is the document an npm registry serves at /-/npm/v1/keys.
type NPMKeys struct {
	Keys []NPMKey `json:"keys"`
}

// NPMKey is one registry signing key. Key is the base64 DER
// SubjectPublicKeyInfo; a null Expires means the key does not expire.
type NPMKey struct {
	Expires *time.Time `json:"expires"`
	KeyID   string     `json:"keyid"`
	KeyType string     `json:"keytype"`
	Scheme  string     `json:"scheme"`
	Key     string     `json:"key"`

	public *ecdsa.PublicKey
}

// NPMSignature is one entry of a packument version's dist.signatures.
type NPMSignature struct {
	KeyID string `json:"keyid"`
	Sig   string `json:"sig"`
}

// ParseNPMKeys parses and checks a registry keys document. Only
// ecdsa-sha2-nistp256 keys are accepted, the only kind npm uses.
func ParseNPMKeys(data []byte) (*NPMKeys, error) {
	var doc NPMKeys
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("parse npm registry keys: %w", err)
	}
	if len(doc.Keys) == 0 {
		return nil, errors.New("the npm registry keys document lists no keys")
	}
	for i := range doc.Keys {
		k := &doc.Keys[i]
		if k.KeyType != "ecdsa-sha2-nistp256" || k.Scheme != "ecdsa-sha2-nistp256" {
			return nil, fmt.Errorf("npm registry key %s: unsupported type %s/%s: expected "+
				"ecdsa-sha2-nistp256", k.KeyID, k.KeyType, k.Scheme)
		}
		der, err := base64.StdEncoding.DecodeString(k.Key)
		if err != nil {
			return nil, fmt.Errorf("npm registry key %s: %w", k.KeyID, err)
		}
		pub, err := x509.ParsePKIXPublicKey(der)
		if err != nil {
			return nil, fmt.Errorf("npm registry key %s: %w", k.KeyID, err)
		}
		ec, ok := pub.(*ecdsa.PublicKey)
		if !ok {
			return nil, fmt.Errorf("npm registry key %s: a %T, expected ECDSA", k.KeyID, pub)
		}
		k.public = ec
	}
	return &doc, nil
}

// Verify checks the registry signature over "<name>@<version>:<integrity>"
// that npm publishes for each version. published is the version's release
// time: a key that expired before it does not count, as in `npm audit
// signatures`. A zero published time is checked against now.
func (k *NPMKeys) Verify(name, version, integrity string, sigs []NPMSignature, published time.Time) error {
	if len(sigs) == 0 {
		return ErrNoUpstreamSignature
	}
	if published.IsZero() {
		published = time.Now()
	}
	message := []byte(name + "@" + version + ":" + integrity)
	var errs []error
	for _, sig := range sigs {
		key := k.find(sig.KeyID)
		if key == nil {
			errs = append(errs, fmt.Errorf("%w: %s", ErrUnknownKey, sig.KeyID))
			continue
		}
		raw, err := base64.StdEncoding.DecodeString(sig.Sig)
		if err != nil {
			errs = append(errs, fmt.Errorf("%w: signature is not base64", ErrMalformedBundle))
			continue
		}
		if !verifySHA256(key.public, message, raw) {
			errs = append(errs, fmt.Errorf("%w %s", ErrBadSignature, sig.KeyID))
			continue
		}
		if key.Expires != nil && !published.Before(*key.Expires) {
			errs = append(errs, fmt.Errorf("%w: key %s expired %s, the version was published %s",
				ErrKeyExpired, key.KeyID, key.Expires.Format(time.RFC3339), published.Format(time.RFC3339)))
			continue
		}
		return nil
	}
	return errors.Join(errs...)
}

func (k *NPMKeys) find(id string) *NPMKey {
	for i := range k.Keys {
		if k.Keys[i].KeyID == id {
			return &k.Keys[i]
		}
	}
	return nil
}

// ImportNPMKeys stores a registry keys document in the blob store, makes
// it the one LoadNPMKeys returns, and records the import in the ledger.
// The keys come in as a file through the gateway, never fetched at
// verification time.
func ImportNPMKeys(db *state.DB, b *blobs.Store, data []byte, source, actor string) (*NPMKeys, string, error) {
	keys, err := ParseNPMKeys(data)
	if err != nil {
		return nil, "", err
	}
	digest, err := b.Put(data)
	if err != nil {
		return nil, "", fmt.Errorf("store npm registry keys: %w", err)
	}
	ev := map[string]string{"digest": digest, "source": source}
	for i, key := range keys.Keys {
		ev[fmt.Sprintf("key.%d", i)] = key.KeyID
	}
	err = db.Update(func(tx *state.Tx) error {
		if err := tx.Put(upstreamKeysBucket, "npm", digest); err != nil {
			return err
		}
		return tx.Append(state.Entry{Type: EntryUpstreamKeysImported, Subject: "npm", Actor: actor,
			Evidence: ev})
	})
	if err != nil {
		return nil, "", fmt.Errorf("record npm registry keys: %w", err)
	}
	return keys, digest, nil
}

// LoadNPMKeys returns the imported npm registry keys, or nil when none
// were imported.
func LoadNPMKeys(db *state.DB, b *blobs.Store) (*NPMKeys, error) {
	var digest string
	var ok bool
	err := db.View(func(tx *state.Tx) error {
		var err error
		ok, err = tx.Get(upstreamKeysBucket, "npm", &digest)
		return err
	})
	if err != nil || !ok {
		return nil, err
	}
	data, err := readBlob(b, digest)
	if err != nil {
		return nil, fmt.Errorf("npm registry keys %s: %w", digest, err)
	}
	return ParseNPMKeys(data)
}
