package bundle

import (
	"bytes"
	"crypto"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"os"

	"github.com/sigstore/cosign/v2/pkg/cosign"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/signature"
)

// Signer signs a bundle's index. Any signer whose signatures a Verifier
// loaded from its public key accepts will do: a cosign key file
// (LoadSigner), or the signing stage's key.
type Signer interface {
	// Sign returns the signature of payload.
	Sign(payload []byte) ([]byte, error)
	// PublicKey returns the key that verifies the signatures.
	PublicKey() crypto.PublicKey
}

// Verifier checks a bundle index signature against a trusted key.
type Verifier interface {
	// Verify returns an error unless sig is a signature of payload by the
	// trusted key.
	Verify(payload, sig []byte) error
	// PublicKey returns the trusted key.
	PublicKey() crypto.PublicKey
}

// sigstoreSigner adapts a sigstore SignerVerifier, which is what cosign's
// key loading returns.
type sigstoreSigner struct{ sv signature.SignerVerifier }

func (s sigstoreSigner) Sign(payload []byte) ([]byte, error) {
	return s.sv.SignMessage(bytes.NewReader(payload))
}

func (s sigstoreSigner) PublicKey() crypto.PublicKey {
	pub, _ := s.sv.PublicKey()
	return pub
}

// NewSigner returns a Signer for a sigstore SignerVerifier.
func NewSigner(sv signature.SignerVerifier) Signer { return sigstoreSigner{sv} }

// LoadSigner reads a cosign private key file (an encrypted PEM block, as
// cosign generate-key-pair writes) and decrypts it with password.
func LoadSigner(path string, password []byte) (Signer, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read signing key: %w", err)
	}
	sv, err := cosign.LoadPrivateKey(data, password, nil)
	if err != nil {
		return nil, fmt.Errorf("load signing key %s: %w; check the file and the password in COSIGN_PASSWORD", path, err)
	}
	return sigstoreSigner{sv}, nil
}

type sigstoreVerifier struct {
	v   signature.Verifier
	pub crypto.PublicKey
}

func (v sigstoreVerifier) Verify(payload, sig []byte) error {
	return v.v.VerifySignature(bytes.NewReader(sig), bytes.NewReader(payload))
}

func (v sigstoreVerifier) PublicKey() crypto.PublicKey { return v.pub }

// NewVerifier returns a Verifier for a public key, with the hash sigstore
// uses for its type (SHA-256 for ECDSA P-256).
func NewVerifier(pub crypto.PublicKey) (Verifier, error) {
	v, err := signature.LoadDefaultVerifier(pub)
	if err != nil {
		return nil, err
	}
	return sigstoreVerifier{v: v, pub: pub}, nil
}

// LoadVerifier reads a PEM public key file, as cosign generate-key-pair
// writes next to the private key.
func LoadVerifier(path string) (Verifier, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read trusted key: %w", err)
	}
	pub, err := cryptoutils.UnmarshalPEMToPublicKey(data)
	if err != nil {
		return nil, fmt.Errorf("trusted key %s: %w; give the PEM public key of the outside's bundle key", path, err)
	}
	v, err := NewVerifier(pub)
	if err != nil {
		return nil, fmt.Errorf("trusted key %s: %w", path, err)
	}
	return v, nil
}

// KeyID returns "sha256:<hex>" of the key's PKIX DER encoding, the name
// bundles and messages use for a key.
func KeyID(pub crypto.PublicKey) (string, error) {
	der, err := cryptoutils.MarshalPublicKeyToDER(pub)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(der)
	return "sha256:" + hex.EncodeToString(sum[:]), nil
}

// encodeSignature writes a signature the way cosign sign-blob does:
// standard base64 of the raw signature.
func encodeSignature(sig []byte) []byte {
	return []byte(base64.StdEncoding.EncodeToString(sig))
}

func decodeSignature(data []byte) ([]byte, error) {
	return base64.StdEncoding.DecodeString(string(bytes.TrimSpace(data)))
}
