package sign

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"os"

	"github.com/secure-systems-lab/go-securesystemslib/encrypted"
	"github.com/sigstore/cosign/v2/pkg/cosign"
)

// PEM block types of cosign's encrypted private keys. cosign v2 writes the
// first and reads both.
const (
	pemSigstorePrivateKey = "ENCRYPTED SIGSTORE PRIVATE KEY"
	pemCosignPrivateKey   = "ENCRYPTED COSIGN PRIVATE KEY"
)

// ErrWrongPassword is returned when a key file cannot be decrypted with the
// password given.
var ErrWrongPassword = errors.New("wrong key password")

// Signer signs digests for Sluice. It is a crypto.Signer whose Sign
// receives a SHA-256 digest and returns an ASN.1 DER ECDSA signature, so a
// key held in a KMS or an HSM fits behind it as well as a key file.
type Signer interface {
	crypto.Signer
	// KeyID names the public key: "SHA256:" and the unpadded standard
	// base64 SHA-256 of its DER SubjectPublicKeyInfo, the form npm uses.
	KeyID() string
}

// keySigner is a Signer over a private key in memory.
type keySigner struct {
	*ecdsa.PrivateKey
	id string
}

func (k keySigner) KeyID() string { return k.id }

// NewSigner wraps an ECDSA private key as a Signer.
func NewSigner(key *ecdsa.PrivateKey) (Signer, error) {
	id, err := KeyID(key.Public())
	if err != nil {
		return nil, err
	}
	return keySigner{key, id}, nil
}

// KeyID returns the key id of a public key (see Signer.KeyID).
func KeyID(pub crypto.PublicKey) (string, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return "", fmt.Errorf("encode public key: %w", err)
	}
	sum := sha256.Sum256(der)
	return "SHA256:" + base64.RawStdEncoding.EncodeToString(sum[:]), nil
}

// KeyPair is a generated key pair in cosign's file formats.
type KeyPair struct {
	// PrivatePEM is the private key, encrypted with the password (scrypt
	// and secretbox, as cosign does), in an "ENCRYPTED SIGSTORE PRIVATE
	// KEY" PEM block.
	PrivatePEM []byte
	// PublicPEM is the public key in a "PUBLIC KEY" PEM block.
	PublicPEM []byte
}

// GenerateKeyPair creates an ECDSA P-256 key pair, the kind
// `cosign generate-key-pair` creates, encrypted with password.
func GenerateKeyPair(password []byte) (*KeyPair, error) {
	keys, err := cosign.GenerateKeyPair(func(bool) ([]byte, error) { return password, nil })
	if err != nil {
		return nil, fmt.Errorf("generate key pair: %w", err)
	}
	return &KeyPair{PrivatePEM: keys.PrivateBytes, PublicPEM: keys.PublicBytes}, nil
}

// ParsePrivateKey decrypts a cosign private key file's contents. Only ECDSA
// keys are supported, because Sluice signs SHA-256 digests.
func ParsePrivateKey(data, password []byte) (Signer, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, errors.New("no PEM block found: expected a cosign private key file")
	}
	if block.Type != pemSigstorePrivateKey && block.Type != pemCosignPrivateKey {
		return nil, fmt.Errorf("PEM block %q is not a cosign private key: expected %q",
			block.Type, pemSigstorePrivateKey)
	}
	der, err := encrypted.Decrypt(block.Bytes, password)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrWrongPassword, err)
	}
	key, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("parse private key: %w", err)
	}
	ec, ok := key.(*ecdsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("unsupported private key type %T: only ECDSA keys are supported", key)
	}
	return NewSigner(ec)
}

// LoadPrivateKey reads and decrypts a cosign private key file.
func LoadPrivateKey(path string, password []byte) (Signer, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read signing key: %w", err)
	}
	s, err := ParsePrivateKey(data, password)
	if err != nil {
		return nil, fmt.Errorf("signing key %s: %w", path, err)
	}
	return s, nil
}

// ParsePublicKey reads an ECDSA public key from a "PUBLIC KEY" PEM block,
// the format of cosign.pub.
func ParsePublicKey(data []byte) (*ecdsa.PublicKey, error) {
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "PUBLIC KEY" {
		return nil, errors.New("no PUBLIC KEY PEM block found: expected a cosign public key file")
	}
	key, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("parse public key: %w", err)
	}
	ec, ok := key.(*ecdsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("unsupported public key type %T: only ECDSA keys are supported", key)
	}
	return ec, nil
}

// LoadPublicKey reads a cosign public key file.
func LoadPublicKey(path string) (*ecdsa.PublicKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read public key: %w", err)
	}
	key, err := ParsePublicKey(data)
	if err != nil {
		return nil, fmt.Errorf("public key %s: %w", path, err)
	}
	return key, nil
}

// signSHA256 signs the SHA-256 digest of message.
func signSHA256(s Signer, message []byte) ([]byte, error) {
	sum := sha256.Sum256(message)
	sig, err := s.Sign(rand.Reader, sum[:], crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("sign with key %s: %w", s.KeyID(), err)
	}
	return sig, nil
}

// verifySHA256 checks an ASN.1 ECDSA signature over the SHA-256 digest of
// message.
func verifySHA256(pub *ecdsa.PublicKey, message, sig []byte) bool {
	sum := sha256.Sum256(message)
	return ecdsa.VerifyASN1(pub, sum[:], sig)
}
