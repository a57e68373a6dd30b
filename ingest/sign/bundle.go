package sign

import (
	"bytes"
	"crypto/ecdsa"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"

	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	protodsse "github.com/sigstore/protobuf-specs/gen/pb-go/dsse"
	"google.golang.org/protobuf/encoding/protojson"
)

// Media and payload types of what Sluice signs.
const (
	// BundleMediaType is the Sigstore bundle format written (protobuf-specs
	// v0.3, JSON encoding).
	BundleMediaType = "application/vnd.dev.sigstore.bundle.v0.3+json"
	// InTotoPayloadType is the DSSE payload type of an in-toto statement.
	InTotoPayloadType = "application/vnd.in-toto+json"
	// StatementType is the in-toto statement version written.
	StatementType = "https://in-toto.io/Statement/v1"
)

// Errors that verification returns, wrapped with the artifact and detail.
var (
	ErrBadSignature    = errors.New("signature does not verify with the key")
	ErrDigestMismatch  = errors.New("signed digest does not match the artifact")
	ErrMalformedBundle = errors.New("malformed signature bundle")
)

// Statement is an in-toto v1 statement.
type Statement struct {
	Type          string          `json:"_type"`
	Subject       []Subject       `json:"subject"`
	PredicateType string          `json:"predicateType"`
	Predicate     json.RawMessage `json:"predicate"`
}

// Subject is an in-toto statement subject: a name and its digests by
// algorithm ("sha256", "sha512"), hex-encoded.
type Subject struct {
	Name   string            `json:"name"`
	Digest map[string]string `json:"digest"`
}

// pae is DSSE's pre-authentication encoding, the bytes a DSSE signature
// covers: "DSSEv1 <len(type)> <type> <len(payload)> <payload>".
func pae(payloadType string, payload []byte) []byte {
	var b bytes.Buffer
	b.WriteString("DSSEv1 ")
	b.WriteString(strconv.Itoa(len(payloadType)))
	b.WriteByte(' ')
	b.WriteString(payloadType)
	b.WriteByte(' ')
	b.WriteString(strconv.Itoa(len(payload)))
	b.WriteByte(' ')
	b.Write(payload)
	return b.Bytes()
}

// SignStatement signs st in a DSSE envelope and returns it as a Sigstore
// bundle in JSON. The bundle names the key by its id only and carries no
// transparency log entry or timestamp, because none can be had in an air
// gap, so a verifier needs the public key.
func SignStatement(s Signer, st *Statement) ([]byte, error) {
	payload, err := json.Marshal(st)
	if err != nil {
		return nil, fmt.Errorf("encode statement: %w", err)
	}
	sig, err := signSHA256(s, pae(InTotoPayloadType, payload))
	if err != nil {
		return nil, err
	}
	b := &protobundle.Bundle{
		MediaType: BundleMediaType,
		VerificationMaterial: &protobundle.VerificationMaterial{
			Content: &protobundle.VerificationMaterial_PublicKey{
				PublicKey: &protocommon.PublicKeyIdentifier{Hint: s.KeyID()},
			},
		},
		Content: &protobundle.Bundle_DsseEnvelope{DsseEnvelope: &protodsse.Envelope{
			Payload:     payload,
			PayloadType: InTotoPayloadType,
			Signatures:  []*protodsse.Signature{{Sig: sig, Keyid: s.KeyID()}},
		}},
	}
	return protojson.Marshal(b)
}

// VerifyBundle checks that a bundle's DSSE envelope carries an in-toto
// statement signed by pub, and returns the statement. It does not look at
// the subject: see Statement.Match.
func VerifyBundle(pub *ecdsa.PublicKey, data []byte) (*Statement, error) {
	var b protobundle.Bundle
	if err := protojson.Unmarshal(data, &b); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformedBundle, err)
	}
	if b.GetMediaType() != BundleMediaType {
		return nil, fmt.Errorf("%w: media type %q, expected %q", ErrMalformedBundle, b.GetMediaType(),
			BundleMediaType)
	}
	env := b.GetDsseEnvelope()
	if env == nil {
		return nil, fmt.Errorf("%w: no DSSE envelope", ErrMalformedBundle)
	}
	if env.GetPayloadType() != InTotoPayloadType {
		return nil, fmt.Errorf("%w: payload type %q, expected %q", ErrMalformedBundle,
			env.GetPayloadType(), InTotoPayloadType)
	}
	if len(env.GetSignatures()) == 0 {
		return nil, fmt.Errorf("%w: the envelope has no signature", ErrMalformedBundle)
	}

	message := pae(env.GetPayloadType(), env.GetPayload())
	verified := false
	for _, sig := range env.GetSignatures() {
		if verifySHA256(pub, message, sig.GetSig()) {
			verified = true
			break
		}
	}
	if !verified {
		keyID, _ := KeyID(pub)
		return nil, fmt.Errorf("%w %s (the bundle names key %s)", ErrBadSignature, keyID,
			env.GetSignatures()[0].GetKeyid())
	}

	var st Statement
	if err := json.Unmarshal(env.GetPayload(), &st); err != nil {
		return nil, fmt.Errorf("%w: statement: %v", ErrMalformedBundle, err)
	}
	if st.Type != StatementType {
		return nil, fmt.Errorf("%w: statement type %q, expected %q", ErrMalformedBundle, st.Type,
			StatementType)
	}
	return &st, nil
}

// Match checks that the statement's subject named name has every digest
// in want, by algorithm.
func (st *Statement) Match(name string, want map[string]string) error {
	for _, sub := range st.Subject {
		if sub.Name != name {
			continue
		}
		for _, alg := range slices.Sorted(maps.Keys(want)) {
			if got, hexDigest := sub.Digest[alg], want[alg]; got != hexDigest {
				return fmt.Errorf("%w: %s %s was signed, the artifact has %s", ErrDigestMismatch, alg,
					shortHex(got), shortHex(hexDigest))
			}
		}
		return nil
	}
	return fmt.Errorf("%w: the statement has no subject %s", ErrDigestMismatch, name)
}

func shortHex(h string) string {
	if len(h) > 16 {
		return h[:16] + "…"
	}
	if h == "" {
		return "nothing"
	}
	return h
}
