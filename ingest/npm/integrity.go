package npm

import (
	"bytes"
	"crypto/sha1"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"strings"
)

// ErrIntegrity is returned when a tarball's bytes do not match the digest
// the registry or a lockfile published for it.
var ErrIntegrity = errors.New("integrity mismatch")

// Hashes computes the digests npm uses for a tarball while it streams into
// the blob store.
type Hashes struct {
	SHA512 hash.Hash
	SHA1   hash.Hash
}

// NewHashes returns fresh hashes.
func NewHashes() Hashes { return Hashes{SHA512: sha512.New(), SHA1: sha1.New()} }

// Integrity returns the Subresource Integrity string of what was hashed,
// in npm's form "sha512-<base64>".
func (h Hashes) Integrity() string {
	return "sha512-" + base64.StdEncoding.EncodeToString(h.SHA512.Sum(nil))
}

// Shasum returns the hex SHA-1, npm's legacy dist.shasum.
func (h Hashes) Shasum() string { return hex.EncodeToString(h.SHA1.Sum(nil)) }

// Verify checks the hashed bytes against an integrity string (one or more
// space-separated "algo-base64" entries, as npm writes them) and a shasum.
// Every sha512 and sha1 entry present must match; algorithms Sluice does
// not compute are ignored, but at least one digest must be checked.
func (h Hashes) Verify(integrity, shasum string) error {
	got512, got1 := h.SHA512.Sum(nil), h.SHA1.Sum(nil)
	checked := 0
	for _, entry := range strings.Fields(integrity) {
		algo, b64, ok := strings.Cut(entry, "-")
		if !ok {
			return fmt.Errorf("invalid integrity entry %q", entry)
		}
		if i := strings.IndexByte(b64, '?'); i >= 0 {
			b64 = b64[:i]
		}
		want, err := base64.StdEncoding.DecodeString(b64)
		if err != nil {
			return fmt.Errorf("invalid integrity entry %q: %w", entry, err)
		}
		var got []byte
		switch algo {
		case "sha512":
			got = got512
		case "sha1":
			got = got1
		default:
			continue
		}
		if !bytes.Equal(got, want) {
			return fmt.Errorf("%w: expected %s, got %s-%s", ErrIntegrity, entry, algo,
				base64.StdEncoding.EncodeToString(got))
		}
		checked++
	}
	if shasum != "" {
		if !strings.EqualFold(shasum, hex.EncodeToString(got1)) {
			return fmt.Errorf("%w: expected shasum %s, got %s", ErrIntegrity, shasum, hex.EncodeToString(got1))
		}
		checked++
	}
	if checked == 0 {
		return fmt.Errorf("%w: the registry published no sha512 or sha1 digest to check against", ErrIntegrity)
	}
	return nil
}

// checkLockIntegrity compares the integrity a lockfile recorded with the
// registry's, digest by digest for each algorithm both name. A lockfile
// that disagrees was edited or made against another registry's packages.
func checkLockIntegrity(lock, registry string) error {
	if lock == "" || registry == "" {
		return nil
	}
	want := map[string]string{}
	for _, entry := range strings.Fields(registry) {
		if algo, digest, ok := strings.Cut(entry, "-"); ok {
			want[algo] = digest
		}
	}
	for _, entry := range strings.Fields(lock) {
		algo, digest, ok := strings.Cut(entry, "-")
		if ok && want[algo] != "" && want[algo] != digest {
			return fmt.Errorf("%w: the lockfile records %s but the registry publishes %s-%s; "+
				"the lockfile was edited or made against another registry: regenerate it",
				ErrIntegrity, entry, algo, want[algo])
		}
	}
	return nil
}
