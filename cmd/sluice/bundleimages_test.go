package main

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/sluice-dev/sluice/internal/bundletest"
	"github.com/sluice-dev/sluice/internal/registrytest"
)

// TestBundleImages syncs and signs a multi-arch image with its
// attachments from a loopback registry on the outside, carries it in a
// bundle, and publishes it to a second loopback registry on the inside.
func TestBundleImages(t *testing.T) {
	up := registrytest.Start(t)
	inside := registrytest.Start(t)
	appDigest := seedApp(t, up.Host)
	dir := t.TempDir()
	manifest := writeManifest(t, dir, imageManifest(up.Host+"/team/app:1.0.0"))
	outside := imageDataDir(t, dir)
	signKey, signPub := generateKeys(t, "secret")
	mustSluice(t, "sync", "-q", "--data-dir", outside, "--sign-key", signKey, manifest)

	key, pub, err := bundletest.KeyPair(t.TempDir(), "secret")
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("COSIGN_PASSWORD", "secret")
	media := t.TempDir() + "/"
	mustSluice(t, "export", "--data-dir", outside, "--to", media, "--key", key)
	r := mustSluice(t, "bundle", "inspect", media, "--key", pub)
	if want := "oci/" + up.Host + "/team/app@" + appDigest.String(); !strings.Contains(r.stdout, want) {
		t.Errorf("inspect output lacks %s:\n%s", want, r.stdout)
	}

	insideDir := filepath.Join(dir, "inside")
	r = sluice(t, "import", media, "--data-dir", insideDir, "--key", pub, "--npm-mirror", "http://127.0.0.1:9/")
	if r.err == nil || !strings.Contains(r.err.Error(), "--oci-mirror") {
		t.Errorf("import without --oci-mirror: %v", r.err)
	}
	r = mustSluice(t, "import", media, "--data-dir", insideDir, "--key", pub, "--oci-mirror", inside.Host+"/mirror")
	if !strings.Contains(r.stdout, "published  1;") {
		t.Errorf("import output:\n%s", r.stdout)
	}

	crane, err := registrytest.Tool("crane")
	if err != nil {
		t.Fatal(err)
	}
	mirrored := inside.Host + "/mirror/team/app:1.0.0"
	out, err := exec.Command(crane, "digest", mirrored).CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != appDigest.String() {
		t.Errorf("crane digest %s: %s %v, want %s", mirrored, out, err, appDigest)
	}
	tarball := filepath.Join(t.TempDir(), "app.tar")
	if out, err := exec.Command(crane, "pull", "--platform", "linux/arm64", mirrored, tarball).CombinedOutput(); err != nil {
		t.Errorf("crane pull %s: %v\n%s", mirrored, err, out)
	}
	// The outside's signature crossed with the image and verifies on
	// the inside registry.
	args := append(append([]string{"verify", "--key", signPub}, registrytest.CosignOfflineVerifyFlags...), mirrored)
	if out, err := registrytest.Cosign(t.TempDir(), args...); err != nil {
		t.Errorf("cosign %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// seedApp pushes the multi-arch image team/app:1.0.0 with a signature,
// an attestation and an SBOM to the registry at host, and returns its
// digest.
func seedApp(t *testing.T, host string) v1.Hash {
	t.Helper()
	digest, err := registrytest.Image(host, "team/app", "1.0.0", "app", 32<<10)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := name.ParseReference(host + "/team/app:1.0.0")
	if err != nil {
		t.Fatal(err)
	}
	desc, err := remote.Head(ref)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := registrytest.Attachments(host, "team/app", *desc); err != nil {
		t.Fatal(err)
	}
	return digest
}
