package bundletest

import (
	"os"
	"path/filepath"

	"github.com/sigstore/cosign/v2/pkg/cosign"
)

// KeyPair writes a new cosign key pair, the private key encrypted with
// password, to dir as cosign.key and cosign.pub, and returns their paths.
func KeyPair(dir, password string) (key, pub string, err error) {
	kb, err := cosign.GenerateKeyPair(func(bool) ([]byte, error) { return []byte(password), nil })
	if err != nil {
		return "", "", err
	}
	key, pub = filepath.Join(dir, "cosign.key"), filepath.Join(dir, "cosign.pub")
	if err := os.WriteFile(key, kb.PrivateBytes, 0o600); err != nil {
		return "", "", err
	}
	return key, pub, os.WriteFile(pub, kb.PublicBytes, 0o644)
}
