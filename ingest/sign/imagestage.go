package sign

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"runtime/debug"
	"slices"
	"sort"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/sigstore/cosign/v2/pkg/oci/static"
	ctypes "github.com/sigstore/cosign/v2/pkg/types"
	"github.com/sigstore/sigstore/pkg/signature/payload"

	"github.com/sluice-dev/sluice/ingest"
	"github.com/sluice-dev/sluice/ingest/oci"
	"github.com/sluice-dev/sluice/ingest/state"
)

// StageName is the name of the signing stage, and the Source of the
// image attachments it makes.
const StageName = "sign"

// Option configures a Stage.
type Option func(*Stage)

// WithImageRepository sets how the stage finds the mirror repository an
// image is published to, which its signatures name as docker-reference.
// Pass the image publisher's own mapping, so both agree. Without it the
// upstream repository is named.
func WithImageRepository(f func(upstream string) (name.Repository, error)) Option {
	return func(s *Stage) { s.imageRepository = f }
}

// signImageArtifact makes, without contacting any registry, the cosign
// signature and the SBOM and vulnerability attestations of an image
// artifact. They are stored as OCI manifests under the cosign tag scheme
// and recorded as the artifact's attachments, which the image publisher
// pushes after the image. Only the top digest is signed: the index of a
// multi-platform image, the digest that pulling by tag resolves to.
func (s *Stage) signImageArtifact(ctx context.Context, a *state.Artifact) (ingest.Outcome, error) {
	repo, err := name.NewRepository(a.Name)
	if err == nil && s.imageRepository != nil {
		repo, err = s.imageRepository(a.Name)
	}
	if err != nil {
		return ingest.Outcome{}, fmt.Errorf("mirror repository of %s: %w", a.Name, err)
	}
	ref := repo.Digest(a.Digest)
	h, err := ociHash(ref)
	if err != nil {
		return ingest.Outcome{}, err
	}

	sigLayer, err := s.signatureLayer(ref)
	if err != nil {
		return ingest.Outcome{}, err
	}
	var ev Evidence
	if s.evidence != nil {
		if ev, err = s.evidence.Evidence(ctx, a); err != nil {
			return ingest.Outcome{}, err
		}
	}
	atts, err := s.imageAttestations(ev)
	if err != nil {
		return ingest.Outcome{}, err
	}
	var attLayers []attachmentLayer
	for _, att := range atts {
		st := &Statement{Type: StatementType, PredicateType: att.PredicateType, Predicate: att.Predicate,
			Subject: []Subject{{Name: repo.Name(), Digest: map[string]string{"sha256": h}}}}
		env, err := dsseEnvelope(s.signer, st)
		if err != nil {
			return ingest.Outcome{}, fmt.Errorf("attest %s: %w", att.PredicateType, err)
		}
		// cosign reads every layer as a signature and requires the
		// signature annotation, empty for a DSSE envelope.
		attLayers = append(attLayers, attachmentLayer{mediaType: ctypes.DssePayloadType, data: env,
			annotations: map[string]string{"predicateType": att.PredicateType, static.SignatureAnnotationKey: ""}})
	}

	tagged := []struct {
		suffix string
		layers []attachmentLayer
	}{{".sig", []attachmentLayer{sigLayer}}, {".att", attLayers}}
	var attachments []state.Attachment
	evidence := map[string]string{"signature.keyid": s.signer.KeyID(), "signature.reference": ref.String(),
		"attestations": fmt.Sprint(len(attLayers))}
	for _, m := range tagged {
		if len(m.layers) == 0 {
			continue
		}
		tag := oci.CosignTag(a.Digest, m.suffix)
		att, err := s.storeAttachment(a, tag, m.layers)
		if err != nil {
			return ingest.Outcome{}, fmt.Errorf("store %s: %w", tag, err)
		}
		attachments = append(attachments, att)
		evidence["attachment"+m.suffix] = att.Digest
	}
	s.log.Debug("signed image", "artifact", a.Key(), "reference", ref.String(), "key", s.signer.KeyID())
	return ingest.Outcome{To: state.StateSigned, Evidence: evidence, Update: func(x *state.Artifact) {
		// A signature made earlier for this artifact is replaced.
		x.Attachments = slices.DeleteFunc(x.Attachments, func(at state.Attachment) bool {
			return at.Source == StageName
		})
		x.Attachments = append(x.Attachments, attachments...)
	}}, nil
}

// signatureLayer signs the simple signing payload that names ref, as
// `cosign sign` does.
func (s *Stage) signatureLayer(ref name.Digest) (attachmentLayer, error) {
	body, err := payload.Cosign{Image: ref}.MarshalJSON()
	if err != nil {
		return attachmentLayer{}, fmt.Errorf("image %s: build signing payload: %w", ref, err)
	}
	sig, err := signSHA256(s.signer, body)
	if err != nil {
		return attachmentLayer{}, fmt.Errorf("image %s: %w", ref, err)
	}
	return attachmentLayer{mediaType: ctypes.SimpleSigningMediaType, data: body,
		annotations: map[string]string{static.SignatureAnnotationKey: base64.StdEncoding.EncodeToString(sig)}}, nil
}

// imageAttestations builds one SPDX attestation per scanned platform (or
// one for a single-platform image) and the vulnerability attestation of
// the stored scan result. An unscanned image gets none.
func (s *Stage) imageAttestations(ev Evidence) ([]Attestation, error) {
	var spdx []string
	platforms := make([]string, 0, len(ev.Platforms))
	for p := range ev.Platforms {
		platforms = append(platforms, p)
	}
	sort.Strings(platforms)
	for _, p := range platforms {
		if d := ev.Platforms[p]["spdx"]; d != "" {
			spdx = append(spdx, d)
		}
	}
	if len(spdx) == 0 && ev.SBOMs["spdx"] != "" {
		spdx = append(spdx, ev.SBOMs["spdx"])
	}
	var out []Attestation
	for _, d := range spdx {
		doc, err := readBlob(s.blobs, d)
		if err != nil {
			return nil, fmt.Errorf("SPDX SBOM %s: %w", d, err)
		}
		att, err := SPDXAttestation(doc)
		if err != nil {
			return nil, fmt.Errorf("SPDX SBOM %s: %w", d, err)
		}
		out = append(out, att)
	}
	if ev.Scan == "" {
		return out, nil
	}
	result, err := readBlob(s.blobs, ev.Scan)
	if err != nil {
		return nil, fmt.Errorf("scan result %s: %w", ev.Scan, err)
	}
	var scan struct {
		Scanned time.Time `json:"scanned"`
		DB      struct {
			SchemaVersion string    `json:"schemaVersion"`
			Built         time.Time `json:"built"`
			Checksum      string    `json:"checksum"`
		} `json:"db"`
	}
	if err := json.Unmarshal(result, &scan); err != nil {
		return nil, fmt.Errorf("scan result %s: %w", ev.Scan, err)
	}
	vuln, err := VulnAttestation(VulnScan{ScannerURI: "pkg:golang/" + grypeModule,
		ScannerVersion: moduleVersion(grypeModule), DBURI: "grype-db:v" + scan.DB.SchemaVersion,
		DBVersion: scan.DB.Checksum, Result: result, Started: scan.Scanned, Finished: scan.Scanned})
	if err != nil {
		return nil, err
	}
	return append(out, vuln), nil
}

const grypeModule = "github.com/anchore/grype"

// moduleVersion returns the version of a module built into the program,
// or "unknown" when the build carries no module information.
func moduleVersion(path string) string {
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, d := range info.Deps {
			if d.Path == path {
				return d.Version
			}
		}
	}
	return "unknown"
}

// attachmentLayer is one layer of a cosign signature or attestation
// manifest.
type attachmentLayer struct {
	mediaType   types.MediaType
	data        []byte
	annotations map[string]string
}

// storeAttachment stores a cosign-layout manifest with layers under tag
// and returns it as an attachment. When an upstream attachment has the
// same tag, its layers come first, as `cosign sign` appends to an
// existing signature manifest, so both signatures stay verifiable on the
// mirror.
// NOTE: the upstream layers are those of the attachment as fetched before
// signing; a signature the upstream adds later is not merged in.
func (s *Stage) storeAttachment(a *state.Artifact, tag string, layers []attachmentLayer) (state.Attachment, error) {
	m := v1.Manifest{SchemaVersion: 2, MediaType: types.OCIManifestSchema1}
	for _, up := range a.Attachments {
		if up.Tag != tag || up.Source != oci.SourceUpstream {
			continue
		}
		raw, err := readBlob(s.blobs, up.Digest)
		if err != nil {
			return state.Attachment{}, fmt.Errorf("upstream %s: %w", tag, err)
		}
		var base v1.Manifest
		if err := json.Unmarshal(raw, &base); err != nil {
			return state.Attachment{}, fmt.Errorf("upstream %s (%s): %w", tag, up.Digest, err)
		}
		m.Layers = append(m.Layers, base.Layers...)
	}
	for _, l := range layers {
		d, err := s.blobs.Put(l.data)
		if err != nil {
			return state.Attachment{}, err
		}
		h, err := v1.NewHash(d)
		if err != nil {
			return state.Attachment{}, err
		}
		m.Layers = append(m.Layers, v1.Descriptor{MediaType: l.mediaType, Digest: h,
			Size: int64(len(l.data)), Annotations: l.annotations})
	}
	// The layers are stored uncompressed, so each diff ID is the layer's
	// digest, as in the manifests cosign writes.
	cfg := v1.ConfigFile{RootFS: v1.RootFS{Type: "layers"}}
	for _, l := range m.Layers {
		cfg.RootFS.DiffIDs = append(cfg.RootFS.DiffIDs, l.Digest)
	}
	cfgRaw, err := json.Marshal(cfg)
	if err != nil {
		return state.Attachment{}, err
	}
	cfgDigest, err := s.blobs.Put(cfgRaw)
	if err != nil {
		return state.Attachment{}, err
	}
	cfgHash, err := v1.NewHash(cfgDigest)
	if err != nil {
		return state.Attachment{}, err
	}
	m.Config = v1.Descriptor{MediaType: types.OCIConfigJSON, Digest: cfgHash, Size: int64(len(cfgRaw))}
	raw, err := json.Marshal(m)
	if err != nil {
		return state.Attachment{}, err
	}
	digest, err := s.blobs.Put(raw)
	if err != nil {
		return state.Attachment{}, err
	}
	return state.Attachment{Digest: digest, MediaType: string(types.OCIManifestSchema1),
		ArtifactType: string(types.OCIConfigJSON), Tag: tag, Subject: a.Digest, Source: StageName}, nil
}
