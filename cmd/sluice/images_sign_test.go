package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/sluice-dev/sluice/ingest/sign"
	"github.com/sluice-dev/sluice/ingest/state"
	"github.com/sluice-dev/sluice/internal/grypetest"
	"github.com/sluice-dev/sluice/internal/registrytest"
	"github.com/sluice-dev/sluice/scanners"
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
	dataDir := imageDataDir(t, dir)
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

	// An image signed with the same key but not synced is an offender
	// once the data directory is consulted.
	stray, err := registrytest.Image(target.Host, "mirror/stray", "1.0.0", "stray", 4<<10)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := sign.LoadPrivateKey(key, []byte("pw"))
	if err != nil {
		t.Fatal(err)
	}
	strayRef, err := name.NewDigest(target.Host + "/mirror/stray@" + stray.String())
	if err != nil {
		t.Fatal(err)
	}
	if err := sign.SignImage(context.Background(), strayRef, signer, sign.ImageOptions{}); err != nil {
		t.Fatal(err)
	}
	mustSluice(t, "verify", "--key", pub, strayRef.String())
	mustSluice(t, "verify", "--data-dir", dataDir, "--key", pub, mirrored)
	v := sluice(t, "verify", "--data-dir", dataDir, "--key", pub, mirrored, strayRef.String())
	if v.exitCode() != exitOffenders {
		t.Fatalf("verify exit %d, want %d: %v", v.exitCode(), exitOffenders, v.err)
	}
	if !strings.Contains(v.stdout, strayRef.String()+": "+stray.String()+" is not an image in the data directory") ||
		strings.Contains(v.stdout, mirrored+":") {
		t.Errorf("verify offenders should name only the stray image:\n%s", v.stdout)
	}

	ledger := mustSluice(t, "ledger", "export", "--data-dir", dataDir)
	for _, want := range []string{"attachment.sig", "attachment.att", "signature.reference"} {
		if !strings.Contains(ledger.stdout, want) {
			t.Errorf("ledger lacks the signing evidence %s", want)
		}
	}
}

// TestSyncVerifiesUpstreamImages checks upstream cosign signatures with
// the keys of a manifest's verify field. An image signed with the key
// passes. An unsigned one gets a missing finding, and one signed with
// another key an invalid finding, and the policy blocks both.
func TestSyncVerifiesUpstreamImages(t *testing.T) {
	if _, err := registrytest.Tool("cosign"); err != nil {
		t.Fatal(err)
	}
	up := registrytest.Start(t)
	dir := t.TempDir()
	trusted, other := filepath.Join(dir, "trusted"), filepath.Join(dir, "other")
	for _, keys := range []string{trusted, other} {
		if err := os.Mkdir(keys, 0o755); err != nil {
			t.Fatal(err)
		}
		if out, err := registrytest.Cosign(keys, "generate-key-pair"); err != nil {
			t.Fatalf("cosign generate-key-pair: %v\n%s", err, out)
		}
	}
	digests := map[string]string{}
	for _, repo := range []string{"signed", "unsigned", "wrong-key"} {
		h, err := registrytest.Image(up.Host, "team/"+repo, "1.0.0", repo, 8<<10)
		if err != nil {
			t.Fatal(err)
		}
		digests[repo] = h.String()
	}
	for repo, keys := range map[string]string{"signed": trusted, "wrong-key": other} {
		ref := up.Host + "/team/" + repo + "@" + digests[repo]
		if out, err := registrytest.Cosign(keys, "sign", "--key", "cosign.key", "--tlog-upload=false",
			"--yes", ref); err != nil {
			t.Fatalf("cosign sign %s: %v\n%s", ref, err, out)
		}
	}

	var entries []string
	for _, repo := range []string{"signed", "unsigned", "wrong-key"} {
		entries = append(entries, `{ref: "`+up.Host+`/team/`+repo+`:1.0.0", verify: {keys: [trusted/cosign.pub]}}`)
	}
	manifest := writeManifest(t, dir, imageManifest(entries...))
	policyFile := filepath.Join(dir, "policy.yaml")
	writeFile(t, policyFile, `apiVersion: sluice.dev/v1
kind: RiskPolicy
metadata: {name: signed-images}
tiers:
  low: {approval: auto}
rules:
  - name: bad-signature
    when: {upstreamSignature: [failed, missing]}
    then: blocked
default: low
`)
	dataDir := filepath.Join(dir, "data")
	mustSluice(t, "db", "import", "--data-dir", dataDir, buildDBArchive(t, grypetest.Options{}))
	r := sluice(t, "sync", "--data-dir", dataDir, "--policy", policyFile, manifest)
	if r.err != nil {
		t.Fatalf("sync: %v\n%s%s", r.err, r.stdout, r.stderr)
	}
	if !strings.Contains(r.stdout, "0 awaiting approval, 2 rejected") {
		t.Errorf("summary:\n%s", r.stdout)
	}

	db, err := state.Open(filepath.Join(dataDir, "sluice.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	cases := []struct {
		repo      string
		finding   string
		wantState state.State
	}{
		{"signed", "", state.StateApproved},
		{"unsigned", sign.UpstreamMissing, state.StateRejected},
		{"wrong-key", sign.UpstreamInvalid, state.StateRejected},
	}
	for _, c := range cases {
		t.Run(c.repo, func(t *testing.T) {
			key := state.ArtifactKey(state.EcosystemOCI, up.Host+"/team/"+c.repo, digests[c.repo])
			a, err := db.Artifact(key)
			if err != nil {
				t.Fatal(err)
			}
			if a.State != c.wantState {
				t.Errorf("state %s, want %s", a.State, c.wantState)
			}
			res, err := scanners.LoadResult(db, key)
			if err != nil || res == nil {
				t.Fatalf("scan result: %v %v", res, err)
			}
			var got []string
			for _, f := range res.Findings {
				if f.Kind == scanners.KindUpstreamSignature {
					got = append(got, f.ID)
				}
			}
			want := []string{}
			if c.finding != "" {
				want = append(want, c.finding)
			}
			if strings.Join(got, ",") != strings.Join(want, ",") {
				t.Errorf("upstream-signature findings %v, want %v", got, want)
			}
		})
	}
}
