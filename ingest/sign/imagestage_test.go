package sign

import (
	"context"
	"crypto/ecdsa"
	"encoding/base64"
	"encoding/json"
	"os"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/sigstore/cosign/v2/pkg/oci/static"
	"github.com/sigstore/sigstore/pkg/signature/payload"

	"github.com/sluice-dev/sluice/ingest/blobs"
	"github.com/sluice-dev/sluice/ingest/oci"
	"github.com/sluice-dev/sluice/ingest/state"
	"github.com/sluice-dev/sluice/internal/storetest"
)

// imageEvidence stores two platform SBOMs and a scan result and returns
// them as the evidence of an image.
func imageEvidence(t *testing.T, bs *blobs.Store) Evidence {
	t.Helper()
	put := func(data string) string {
		d, err := bs.Put([]byte(data))
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	amd, arm := put(testSPDX), put(testSPDX+" ")
	scan := put(`{"artifact":"x","scanned":"2026-01-01T00:00:00Z","db":{"schemaVersion":"6","checksum":"c"},` +
		`"findings":[]}`)
	return Evidence{SBOMs: map[string]string{"spdx": amd}, Scan: scan,
		Platforms: map[string]map[string]string{"linux/amd64": {"spdx": amd}, "linux/arm64": {"spdx": arm}}}
}

// storedManifest reads an attachment's manifest from the blob store.
func storedManifest(t *testing.T, bs *blobs.Store, digest string) v1.Manifest {
	t.Helper()
	raw, err := readBlob(bs, digest)
	if err != nil {
		t.Fatal(err)
	}
	var m v1.Manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestSignImageArtifact(t *testing.T) {
	const digest = "sha256:1111111111111111111111111111111111111111111111111111111111111111"
	sigTag := oci.CosignTag(digest, ".sig")
	tests := []struct {
		name string
		// upstreamSig adds an upstream attachment under the .sig tag.
		upstreamSig bool
		wantLayers  int
	}{
		{"no upstream signature", false, 1},
		{"upstream signature kept", true, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			db, bs := storetest.Open(t)
			a := &state.Artifact{Ecosystem: state.EcosystemOCI, Name: "upstream.example/team/app",
				Version: digest, Digest: digest, State: state.StateApproved}
			if tc.upstreamSig {
				layer := `{"mediaType":"application/vnd.dev.cosign.simplesigning.v1+json","digest":` +
					`"sha256:2222222222222222222222222222222222222222222222222222222222222222","size":1,` +
					`"annotations":{"dev.cosignproject.cosign/signature":"upstream"}}`
				up, err := bs.Put([]byte(`{"schemaVersion":2,"layers":[` + layer + `]}`))
				if err != nil {
					t.Fatal(err)
				}
				a.Attachments = []state.Attachment{{Digest: up, Tag: sigTag, Subject: digest,
					Source: oci.SourceUpstream}}
			}
			s := newTestSigner(t)
			mirror, err := name.NewRepository("mirror.example/prefix/team/app")
			if err != nil {
				t.Fatal(err)
			}
			st := NewStage(s, db, bs, fixedEvidence(imageEvidence(t, bs)), nil,
				WithImageRepository(func(string) (name.Repository, error) { return mirror, nil }))
			out, err := st.Process(context.Background(), a, func() (*os.File, error) {
				t.Fatal("the image stage opened the manifest as a tarball")
				return nil, nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if out.To != state.StateSigned {
				t.Errorf("outcome %s, want signed", out.To)
			}
			out.Update(a)
			byTag := map[string]state.Attachment{}
			for _, at := range a.Attachments {
				if at.Source == StageName {
					byTag[at.Tag] = at
				}
			}
			if len(byTag) != 2 {
				t.Fatalf("stage attachments %+v, want .sig and .att", a.Attachments)
			}
			if out.Evidence["attachment.sig"] != byTag[sigTag].Digest {
				t.Errorf("evidence %v lacks the .sig digest %s", out.Evidence, byTag[sigTag].Digest)
			}

			sig := storedManifest(t, bs, byTag[sigTag].Digest)
			if len(sig.Layers) != tc.wantLayers {
				t.Fatalf(".sig has %d layers, want %d", len(sig.Layers), tc.wantLayers)
			}
			own := sig.Layers[len(sig.Layers)-1]
			body, err := readBlob(bs, own.Digest.String())
			if err != nil {
				t.Fatal(err)
			}
			var p payload.SimpleContainerImage
			if err := json.Unmarshal(body, &p); err != nil {
				t.Fatal(err)
			}
			if got := p.Critical.Identity.DockerReference; got != mirror.Name() {
				t.Errorf("docker-reference %s, want %s", got, mirror.Name())
			}
			if got := p.Critical.Image.DockerManifestDigest; got != digest {
				t.Errorf("signed digest %s, want %s", got, digest)
			}
			raw, err := base64.StdEncoding.DecodeString(own.Annotations[static.SignatureAnnotationKey])
			if err != nil {
				t.Fatal(err)
			}
			if !verifySHA256(s.Public().(*ecdsa.PublicKey), body, raw) {
				t.Error("the signature does not verify with the signing key")
			}

			att := storedManifest(t, bs, byTag[oci.CosignTag(digest, ".att")].Digest)
			count := map[string]int{}
			for _, l := range att.Layers {
				count[l.Annotations["predicateType"]]++
			}
			if count[SPDXPredicateType] != 2 || count[VulnPredicateType] != 1 {
				t.Errorf("attestation predicate types %v, want 2 SPDX and 1 vuln", count)
			}
		})
	}
}
