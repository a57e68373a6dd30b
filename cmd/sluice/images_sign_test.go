package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluice-dev/sluice/internal/grypetest"
	"github.com/sluice-dev/sluice/internal/registrytest"
)

// TestSyncSignsImages syncs an image that upstream signed with the cosign
// CLI, signs it with --sign-key, and checks the mirror with the cosign
// CLI: Sluice's signature and attestations verify, and so does the
// upstream signature that shares the .sig tag.
func TestSyncSignsImages(t *testing.T) {
	if _, err := registrytest.Tool("cosign"); err != nil {
		t.Fatal(err)
	}
	up := registrytest.Start(t)
	target := registrytest.Start(t)
	appDigest, err := registrytest.Image(up.Host, "team/app", "1.0.0", "app", 16<<10)
	if err != nil {
		t.Fatal(err)
	}
	upstreamKeys := t.TempDir()
	if out, err := registrytest.Cosign(upstreamKeys, "generate-key-pair"); err != nil {
		t.Fatalf("cosign generate-key-pair: %v\n%s", err, out)
	}
	upstreamRef := up.Host + "/team/app@" + appDigest.String()
	if out, err := registrytest.Cosign(upstreamKeys, "sign", "--key", "cosign.key", "--tlog-upload=false",
		"--yes", upstreamRef); err != nil {
		t.Fatalf("cosign sign %s: %v\n%s", upstreamRef, err, out)
	}

	key, pub := generateKeys(t, "pw")
	dir := t.TempDir()
	manifest := writeManifest(t, dir, imageManifest(up.Host+"/team/app:1.0.0"))
	dataDir := filepath.Join(dir, "data")
	mustSluice(t, "db", "import", "--data-dir", dataDir, buildDBArchive(t, grypetest.Options{}))
	allowAll, err := filepath.Abs("testdata/approvals/allow-all.yaml")
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("SLUICE_POLICY", allowAll)
	r := mustSluice(t, "sync", "--data-dir", dataDir, "--sign-key", key, "--oci-mirror",
		target.Host+"/mirror", manifest)
	if !strings.Contains(r.stdout, "published  1;") {
		t.Errorf("summary:\n%s", r.stdout)
	}

	mirrored := target.Host + "/mirror/team/app:1.0.0"
	cases := []struct {
		name string
		args []string
	}{
		{"sluice signature", []string{"verify", "--key", pub}},
		{"spdx attestation", []string{"verify-attestation", "--key", pub, "--type", "spdxjson"}},
		{"vuln attestation", []string{"verify-attestation", "--key", pub, "--type", "vuln"}},
		{"upstream signature", []string{"verify", "--key", filepath.Join(upstreamKeys, "cosign.pub")}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			args := append(append(c.args, registrytest.CosignOfflineVerifyFlags...), mirrored)
			if out, err := registrytest.Cosign(t.TempDir(), args...); err != nil {
				t.Fatalf("cosign %s: %v\n%s", strings.Join(args, " "), err, out)
			}
		})
	}

	ledger := mustSluice(t, "ledger", "export", "--data-dir", dataDir)
	for _, want := range []string{"attachment.sig", "attachment.att", "signature.reference"} {
		if !strings.Contains(ledger.stdout, want) {
			t.Errorf("ledger lacks the signing evidence %s", want)
		}
	}
}
