package sign

import (
	"context"
	"crypto/ecdsa"
	"encoding/json"
	"errors"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/sluice-dev/sluice/internal/registrytest"
)

const testSPDX = `{"spdxVersion":"SPDX-2.3","dataLicense":"CC0-1.0","SPDXID":"SPDXRef-DOCUMENT",
"name":"test-image","documentNamespace":"https://example.invalid/spdx/test-image",
"creationInfo":{"created":"2026-01-01T00:00:00Z","creators":["Tool: sluice-test"]},"packages":[]}`

// signTestImage pushes an image and signs and attests it the way the image
// publisher does.
func signTestImage(t *testing.T, s Signer) name.Digest {
	t.Helper()
	return signImageIn(t, s, startRegistry(t))
}

func signImageIn(t *testing.T, s Signer, registry string) name.Digest {
	t.Helper()
	ctx := context.Background()
	ref := pushRandomImage(t, registry+"/mirror/app")
	opts := ImageOptions{Referrers: true}
	if err := SignImage(ctx, ref, s, opts); err != nil {
		t.Fatal(err)
	}
	sbom, err := SPDXAttestation([]byte(testSPDX))
	if err != nil {
		t.Fatal(err)
	}
	vuln, err := VulnAttestation(VulnScan{ScannerURI: "pkg:golang/github.com/anchore/grype",
		ScannerVersion: "v0.121.3", DBVersion: "6", Result: json.RawMessage(`{"matches":[]}`),
		Started: time.Unix(0, 0).UTC(), Finished: time.Unix(1, 0).UTC()})
	if err != nil {
		t.Fatal(err)
	}
	if err := AttestImage(ctx, ref, s, opts, sbom, vuln); err != nil {
		t.Fatal(err)
	}
	return ref
}

func TestSignImageLayout(t *testing.T) {
	// The CNCF distribution registry v3.1.2 has no referrers API, so the
	// go-containerregistry registry, which has one, plays a registry that
	// does.
	referrers := httptest.NewServer(registry.New(registry.WithReferrersSupport(true),
		registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(referrers.Close)
	for name, addr := range map[string]string{"distribution": startRegistry(t),
		"referrers": strings.TrimPrefix(referrers.URL, "http://")} {
		t.Run(name, func(t *testing.T) { checkLayout(t, addr) })
	}
}

func checkLayout(t *testing.T, addr string) {
	s := newTestSigner(t)
	ref := signImageIn(t, s, addr)
	// Signing again must not add a second signature, and attesting an
	// SBOM again replaces the first.
	if err := SignImage(context.Background(), ref, s, ImageOptions{}); err != nil {
		t.Fatal(err)
	}
	sbom, err := SPDXAttestation([]byte(testSPDX))
	if err != nil {
		t.Fatal(err)
	}
	if err := AttestImage(context.Background(), ref, s, ImageOptions{}, sbom); err != nil {
		t.Fatal(err)
	}

	hexDigest := strings.TrimPrefix(ref.DigestStr(), "sha256:")
	for _, suffix := range []string{".sig", ".att"} {
		tag := ref.Context().Tag("sha256-" + hexDigest + suffix)
		img, err := remote.Image(tag)
		if err != nil {
			t.Fatalf("tag %s: %v", tag, err)
		}
		layers, err := img.Layers()
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]int{".sig": 1, ".att": 2}[suffix]
		if len(layers) != want {
			t.Errorf("tag %s has %d layers, expected %d", tag, len(layers), want)
		}
	}

	ok, err := SupportsReferrers(context.Background(), ref, ImageOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !ok {
		t.Log("the registry has no referrers API: only the tag scheme was written")
		return
	}
	index, err := remote.Referrers(ref)
	if err != nil {
		t.Fatal(err)
	}
	im, err := index.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	types := map[string]int{}
	for _, m := range im.Manifests {
		types[m.ArtifactType]++
	}
	// The attestation referrer's artifact type is whatever the registry
	// derives from it (go-containerregistry reports the config's media
	// type), so only the signature's is checked by name.
	sigs := types["application/vnd.dev.cosign.artifact.sig.v1+json"]
	if sigs != 1 || len(im.Manifests) != 2 {
		t.Errorf("referrers by artifact type: %v, expected one signature and one attestation manifest", types)
	}
}

func TestVerifyImageKeys(t *testing.T) {
	s := newTestSigner(t)
	ref := signTestImage(t, s)
	right := s.Public().(*ecdsa.PublicKey)
	wrong := newTestSigner(t).Public().(*ecdsa.PublicKey)
	cases := []struct {
		name string
		keys []*ecdsa.PublicKey
		ok   bool
	}{
		{"right key", []*ecdsa.PublicKey{right}, true},
		{"one of two keys", []*ecdsa.PublicKey{wrong, right}, true},
		{"wrong key", []*ecdsa.PublicKey{wrong}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			id, err := VerifyImage(context.Background(), ref, c.keys, ImageOptions{})
			if c.ok {
				if err != nil {
					t.Fatal(err)
				}
				if id != s.KeyID() {
					t.Errorf("verified by %s, expected %s", id, s.KeyID())
				}
				return
			}
			if !errors.Is(err, ErrNoValidSignature) {
				t.Fatalf("error %v, expected %v", err, ErrNoValidSignature)
			}
			if !strings.Contains(err.Error(), ref.String()) {
				t.Errorf("message does not name the image: %v", err)
			}
		})
	}
	unsigned := pushRandomImage(t, ref.Context().RegistryStr()+"/upstream/unsigned")
	if _, err := VerifyImage(context.Background(), unsigned, []*ecdsa.PublicKey{right}, ImageOptions{}); !errors.Is(err, ErrNoValidSignature) {
		t.Errorf("unsigned image: %v", err)
	}
}

// cosignCLI runs the cosign program with no way to reach a public host
// (see registrytest.Cosign), and skips the test when it is not installed.
func cosignCLI(t *testing.T, dir string, args ...string) (string, error) {
	t.Helper()
	findTool(t, "cosign")
	return registrytest.Cosign(dir, args...)
}

// offlineVerifyFlags keep `cosign verify` from asking Rekor, Fulcio or TUF.
var offlineVerifyFlags = registrytest.CosignOfflineVerifyFlags

func TestCosignCLIVerifiesSluiceImage(t *testing.T) {
	findTool(t, "cosign")
	dir := t.TempDir()
	pair, err := GenerateKeyPair([]byte("test-password"))
	if err != nil {
		t.Fatal(err)
	}
	s, err := ParsePrivateKey(pair.PrivatePEM, []byte("test-password"))
	if err != nil {
		t.Fatal(err)
	}
	pub := filepath.Join(dir, "cosign.pub")
	if err := os.WriteFile(pub, pair.PublicPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	ref := signTestImage(t, s)

	cases := []struct {
		name string
		args []string
	}{
		{"signature", []string{"verify", "--key", pub}},
		{"spdx attestation", []string{"verify-attestation", "--key", pub, "--type", "spdxjson"}},
		{"vuln attestation", []string{"verify-attestation", "--key", pub, "--type", "vuln"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			args := append(append(c.args, offlineVerifyFlags...), ref.String())
			out, err := cosignCLI(t, dir, args...)
			if err != nil {
				t.Fatalf("cosign %s: %v\n%s", strings.Join(args, " "), err, out)
			}
		})
	}

	// A key that did not sign must fail in the CLI as well.
	other, err := GenerateKeyPair([]byte("x"))
	if err != nil {
		t.Fatal(err)
	}
	otherPub := filepath.Join(dir, "other.pub")
	os.WriteFile(otherPub, other.PublicPEM, 0o644)
	args := append(append([]string{"verify", "--key", otherPub}, offlineVerifyFlags...), ref.String())
	if out, err := cosignCLI(t, dir, args...); err == nil {
		t.Errorf("cosign verify with another key succeeded:\n%s", out)
	}
}

func TestSluiceVerifiesCosignCLISignature(t *testing.T) {
	findTool(t, "cosign")
	dir := t.TempDir()
	ref := pushRandomImage(t, startRegistry(t)+"/upstream/app")
	if out, err := cosignCLI(t, dir, "generate-key-pair"); err != nil {
		t.Fatalf("cosign generate-key-pair: %v\n%s", err, out)
	}
	out, err := cosignCLI(t, dir, "sign", "--key", "cosign.key", "--tlog-upload=false", "--yes",
		ref.String())
	if err != nil {
		t.Fatalf("cosign sign: %v\n%s", err, out)
	}
	pub, err := LoadPublicKey(filepath.Join(dir, "cosign.pub"))
	if err != nil {
		t.Fatal(err)
	}
	id, err := VerifyImage(context.Background(), ref, []*ecdsa.PublicKey{pub}, ImageOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if want, _ := KeyID(pub); id != want {
		t.Errorf("verified by %s, expected %s", id, want)
	}
	// The cosign CLI's key file loads as a Sluice signing key too.
	if _, err := LoadPrivateKey(filepath.Join(dir, "cosign.key"), []byte("test-password")); err != nil {
		t.Error(err)
	}
}
