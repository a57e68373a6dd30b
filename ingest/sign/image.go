package sign

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/sigstore/cosign/v2/pkg/cosign"
	"github.com/sigstore/cosign/v2/pkg/cosign/attestation"
	cremote "github.com/sigstore/cosign/v2/pkg/cosign/remote"
	"github.com/sigstore/cosign/v2/pkg/oci"
	"github.com/sigstore/cosign/v2/pkg/oci/mutate"
	ociremote "github.com/sigstore/cosign/v2/pkg/oci/remote"
	"github.com/sigstore/cosign/v2/pkg/oci/static"
	ctypes "github.com/sigstore/cosign/v2/pkg/types"
	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/sigstore/sigstore/pkg/signature/payload"
)

// Predicate types of the image attestations, as `cosign verify-attestation
// --type spdxjson` and `--type vuln` expect them (cosign v2.6.5).
const (
	SPDXPredicateType = "https://spdx.dev/Document"
	VulnPredicateType = attestation.CosignVulnProvenanceV01
)

// ErrNoValidSignature is returned when no signature on an image verifies
// with any configured key.
var ErrNoValidSignature = errors.New("no valid cosign signature")

// ImageOptions are the registry settings of the image functions.
type ImageOptions struct {
	// Auth authenticates to the registry; nil means anonymous.
	Auth authn.Authenticator
	// Transport carries the requests; nil means remote.DefaultTransport.
	Transport http.RoundTripper
	// Referrers, when true, also writes signatures and attestations as OCI
	// 1.1 referrers of the image, if the registry serves the referrers API.
	// The tag scheme (sha256-<hex>.sig and .att) is always written.
	Referrers bool
}

func (o ImageOptions) remote(ctx context.Context) []remote.Option {
	opts := []remote.Option{remote.WithContext(ctx), remote.WithTransport(o.transport())}
	if o.Auth != nil {
		opts = append(opts, remote.WithAuth(o.Auth))
	}
	return opts
}

func (o ImageOptions) transport() http.RoundTripper {
	if o.Transport == nil {
		return remote.DefaultTransport
	}
	return o.Transport
}

func (o ImageOptions) cosign(ctx context.Context) []ociremote.Option {
	return []ociremote.Option{ociremote.WithRemoteOptions(o.remote(ctx)...)}
}

// Attestation is an in-toto predicate to attach to an image.
type Attestation struct {
	PredicateType string
	Predicate     json.RawMessage
}

// SPDXAttestation returns an attestation of an SPDX JSON SBOM.
func SPDXAttestation(spdxJSON []byte) (Attestation, error) {
	if !json.Valid(spdxJSON) {
		return Attestation{}, errors.New("the SPDX SBOM is not valid JSON")
	}
	return Attestation{PredicateType: SPDXPredicateType, Predicate: spdxJSON}, nil
}

// VulnScan describes a vulnerability scan for the cosign vuln predicate.
type VulnScan struct {
	ScannerURI, ScannerVersion string
	DBURI, DBVersion           string
	// Result is the scanner's report, embedded as JSON.
	Result            json.RawMessage
	Started, Finished time.Time
}

// VulnAttestation returns an attestation in cosign's vulnerability scan
// predicate format.
func VulnAttestation(scan VulnScan) (Attestation, error) {
	pred := attestation.CosignVulnPredicate{
		Scanner: attestation.Scanner{URI: scan.ScannerURI, Version: scan.ScannerVersion,
			DB: attestation.DB{URI: scan.DBURI, Version: scan.DBVersion}, Result: scan.Result},
		Metadata: attestation.Metadata{ScanStartedOn: scan.Started, ScanFinishedOn: scan.Finished},
	}
	data, err := json.Marshal(pred)
	if err != nil {
		return Attestation{}, fmt.Errorf("encode vulnerability predicate: %w", err)
	}
	return Attestation{PredicateType: VulnPredicateType, Predicate: data}, nil
}

// verifier returns the sigstore verifier of a Signer's public key.
func verifier(pub crypto.PublicKey) (signature.Verifier, error) {
	ec, ok := pub.(*ecdsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("unsupported public key type %T: only ECDSA keys are supported", pub)
	}
	return signature.LoadECDSAVerifier(ec, crypto.SHA256)
}

// SignImage signs an image digest in the layout cosign reads: a simple
// signing payload naming the digest, signed with s, stored under the tag
// sha256-<hex>.sig of the image's repository. Signing the same digest with
// the same key again adds nothing.
func SignImage(ctx context.Context, ref name.Digest, s Signer, opts ImageOptions) error {
	body, err := payload.Cosign{Image: ref}.MarshalJSON()
	if err != nil {
		return fmt.Errorf("image %s: build signing payload: %w", ref, err)
	}
	sig, err := signSHA256(s, body)
	if err != nil {
		return fmt.Errorf("image %s: %w", ref, err)
	}
	ociSig, err := static.NewSignature(body, base64.StdEncoding.EncodeToString(sig))
	if err != nil {
		return fmt.Errorf("image %s: %w", ref, err)
	}

	v, err := verifier(s.Public())
	if err != nil {
		return err
	}
	se := ociremote.SignedUnknown(ref, opts.cosign(ctx)...)
	signed, err := mutate.AttachSignatureToEntity(se, ociSig, mutate.WithDupeDetector(cremote.NewDupeDetector(v)))
	if err != nil {
		return fmt.Errorf("image %s: attach signature: %w", ref, err)
	}
	if err := ociremote.WriteSignatures(ref.Repository, signed, opts.cosign(ctx)...); err != nil {
		return fmt.Errorf("image %s: write signature: %w", ref, err)
	}

	if !opts.Referrers {
		return nil
	}
	ok, err := SupportsReferrers(ctx, ref, opts)
	if err != nil || !ok {
		return err
	}
	if err := ociremote.WriteSignaturesExperimentalOCI(ref, signed, opts.cosign(ctx)...); err != nil {
		return fmt.Errorf("image %s: write signature referrer: %w", ref, err)
	}
	return nil
}

// AttestImage attaches signed in-toto attestations to an image digest,
// stored under the tag sha256-<hex>.att as cosign attest does. An earlier
// attestation of the same predicate type is replaced in the tag. With
// referrers, one referrer manifest carries all of atts.
//
// NOTE: an earlier referrer is not removed, so attesting the same image
// again (after a rescan) leaves the older referrer beside the new one.
func AttestImage(ctx context.Context, ref name.Digest, s Signer, opts ImageOptions, atts ...Attestation) error {
	h, err := ociHash(ref)
	if err != nil {
		return err
	}
	var se oci.SignedEntity = ociremote.SignedUnknown(ref, opts.cosign(ctx)...)
	for _, att := range atts {
		st := &Statement{Type: StatementType, PredicateType: att.PredicateType, Predicate: att.Predicate,
			Subject: []Subject{{Name: ref.Repository.Name(), Digest: map[string]string{"sha256": h}}}}
		env, err := dsseEnvelope(s, st)
		if err != nil {
			return fmt.Errorf("image %s: %w", ref, err)
		}
		ociAtt, err := static.NewAttestation(env, static.WithLayerMediaType(ctypes.DssePayloadType),
			static.WithAnnotations(map[string]string{"predicateType": att.PredicateType}))
		if err != nil {
			return fmt.Errorf("image %s: %w", ref, err)
		}
		se, err = mutate.AttachAttestationToEntity(se, ociAtt,
			mutate.WithReplaceOp(cremote.NewReplaceOp(att.PredicateType)))
		if err != nil {
			return fmt.Errorf("image %s: attach %s attestation: %w", ref, att.PredicateType, err)
		}
	}
	if err := ociremote.WriteAttestations(ref.Repository, se, opts.cosign(ctx)...); err != nil {
		return fmt.Errorf("image %s: write attestations: %w", ref, err)
	}
	if !opts.Referrers {
		return nil
	}
	ok, err := SupportsReferrers(ctx, ref, opts)
	if err != nil || !ok {
		return err
	}
	if err := ociremote.WriteAttestationsReferrer(ref, se, opts.cosign(ctx)...); err != nil {
		return fmt.Errorf("image %s: write attestation referrer: %w", ref, err)
	}
	return nil
}

// dsseEnvelope signs a statement into the DSSE JSON envelope that cosign
// stores in attestation layers.
func dsseEnvelope(s Signer, st *Statement) ([]byte, error) {
	body, err := json.Marshal(st)
	if err != nil {
		return nil, fmt.Errorf("encode statement: %w", err)
	}
	sig, err := signSHA256(s, pae(InTotoPayloadType, body))
	if err != nil {
		return nil, err
	}
	type envSig struct {
		KeyID string `json:"keyid"`
		Sig   string `json:"sig"`
	}
	return json.Marshal(struct {
		PayloadType string   `json:"payloadType"`
		Payload     string   `json:"payload"`
		Signatures  []envSig `json:"signatures"`
	}{InTotoPayloadType, base64.StdEncoding.EncodeToString(body),
		[]envSig{{KeyID: s.KeyID(), Sig: base64.StdEncoding.EncodeToString(sig)}}})
}

func ociHash(ref name.Digest) (string, error) {
	const prefix = "sha256:"
	d := ref.DigestStr()
	if len(d) != len(prefix)+64 || d[:len(prefix)] != prefix {
		return "", fmt.Errorf("image %s: unsupported digest %q: expected sha256", ref, d)
	}
	return d[len(prefix):], nil
}

// SupportsReferrers reports whether the registry serves the OCI 1.1
// referrers API for the image's repository.
func SupportsReferrers(ctx context.Context, ref name.Digest, opts ImageOptions) (bool, error) {
	// The remote package falls back to the tag scheme on its own when the
	// API is missing, so ask the endpoint directly.
	auth := opts.Auth
	if auth == nil {
		auth = authn.Anonymous
	}
	tr, err := transport.NewWithContext(ctx, ref.Context().Registry, auth, opts.transport(),
		[]string{ref.Context().Scope(transport.PullScope)})
	if err != nil {
		return false, fmt.Errorf("image %s: connect to the registry: %w", ref, err)
	}
	u := fmt.Sprintf("%s://%s/v2/%s/referrers/%s", ref.Context().Scheme(), ref.Context().RegistryStr(),
		ref.Context().RepositoryStr(), ref.DigestStr())
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return false, err
	}
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		return false, fmt.Errorf("image %s: probe the referrers API: %w", ref, err)
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK, nil
}

// VerifyImage checks that a cosign signature on the image verifies with
// one of keys, without a transparency log or certificate, and returns the
// key id that verified it. ref may be a tag; the signature must name the
// digest the tag resolves to.
func VerifyImage(ctx context.Context, ref name.Reference, keys []*ecdsa.PublicKey, opts ImageOptions) (string, error) {
	if len(keys) == 0 {
		return "", fmt.Errorf("image %s: no public key configured to verify it", ref)
	}
	var errs []error
	for _, key := range keys {
		v, err := verifier(key)
		if err != nil {
			return "", err
		}
		co := &cosign.CheckOpts{SigVerifier: v, IgnoreTlog: true, IgnoreSCT: true, Offline: true,
			ClaimVerifier: cosign.SimpleClaimVerifier, RegistryClientOpts: opts.cosign(ctx)}
		_, _, err = cosign.VerifyImageSignatures(ctx, ref, co)
		id, _ := KeyID(key)
		if err == nil {
			return id, nil
		}
		errs = append(errs, fmt.Errorf("key %s: %w", id, err))
	}
	return "", fmt.Errorf("image %s: %w: %w", ref, ErrNoValidSignature, errors.Join(errs...))
}
