package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/sluice-dev/sluice/ingest/sign"
	"github.com/sluice-dev/sluice/scanners"
)

// generateKeys writes a key pair with `sluice keys generate` and returns
// the private and public key files.
func generateKeys(t *testing.T, password string) (string, string) {
	t.Helper()
	t.Setenv("COSIGN_PASSWORD", password)
	prefix := filepath.Join(t.TempDir(), "sluice")
	r := mustSluice(t, "keys", "generate", "--output-key-prefix", prefix)
	if !strings.Contains(r.stdout, "key id SHA256:") {
		t.Errorf("keys generate output: %s", r.stdout)
	}
	if again := sluice(t, "keys", "generate", "--output-key-prefix", prefix); again.exitCode() != exitUsage {
		t.Errorf("generating over existing keys: exit %d, %v", again.exitCode(), again.err)
	}
	return prefix + ".key", prefix + ".pub"
}

// editLock copies a package-lock.json with its packages map changed by
// edit.
func editLock(t *testing.T, lock string, edit func(packages map[string]any)) string {
	t.Helper()
	data, err := os.ReadFile(lock)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	edit(doc["packages"].(map[string]any))
	out, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "package-lock.json")
	if err := os.WriteFile(path, out, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// addUnmirroredEntry copies a package-lock.json with one more package that
// never went through Sluice.
func addUnmirroredEntry(t *testing.T, lock string) string {
	return editLock(t, lock, func(packages map[string]any) {
		packages["node_modules/left-pad"] = map[string]any{
			"version":   "1.3.0",
			"resolved":  "https://registry.npmjs.org/left-pad/-/left-pad-1.3.0.tgz",
			"integrity": "sha512-XI5MPzVNApjAyhQzphX8BkmKsKUxD4LdyK24iZeQEe6dT7Ey5X5PzUY+Q/mITwr6d6gP+Bu5lX+DN9tqYRwQ9Vw==",
		}
	})
}

// changeIntegrity copies a package-lock.json with the integrity of package
// name replaced by another sha512.
func changeIntegrity(t *testing.T, lock, name string) string {
	return editLock(t, lock, func(packages map[string]any) {
		entry := packages["node_modules/"+name].(map[string]any)
		entry["integrity"] = "sha512-" + strings.Repeat("A", 86) + "=="
	})
}

func TestSyncSignVerify(t *testing.T) {
	e := newEnv(t)
	key, pub := generateKeys(t, "correct horse")
	if r := e.sync(t, "--sign-key", key); r.err != nil {
		t.Fatalf("sync: %v\n%s%s", r.err, r.stdout, r.stderr)
	}
	lock := filepath.Join(e.app, "package-lock.json")
	yarnLock := filepath.Join(e.app, "yarn.lock")
	r := mustSluice(t, "verify", "--data-dir", e.dataDir, "--key", pub, lock, yarnLock)
	if !strings.Contains(r.stdout, "verified ") {
		t.Errorf("verify output: %s", r.stdout)
	}

	// The mirror serves each version's bundle in its dist object, and the
	// bundle verifies with the public key.
	resp, err := http.Get(e.verdaccio.URL + "/chalk")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var doc struct {
		Versions map[string]struct {
			Dist map[string]json.RawMessage `json:"dist"`
		} `json:"versions"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
		t.Fatal(err)
	}
	bundle := doc.Versions["4.1.2"].Dist[sign.DistFieldBundle]
	if len(bundle) == 0 {
		t.Fatalf("the mirror's chalk@4.1.2 dist has no %s", sign.DistFieldBundle)
	}
	pubKey, err := sign.LoadPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sign.VerifyBundle(pubKey, bundle); err != nil {
		t.Errorf("bundle from the mirror: %v", err)
	}

	// A consumer without the data directory verifies against the mirror.
	r = mustSluice(t, "verify", "--data-dir", filepath.Join(t.TempDir(), "none"), "--key", pub,
		"--npm-mirror", e.verdaccio.URL, lock, yarnLock)
	if !strings.Contains(r.stdout, "verified ") {
		t.Errorf("verify --npm-mirror output: %s", r.stdout)
	}

	dataDir := []string{"--data-dir", e.dataDir}
	fromMirror := []string{"--npm-mirror", e.verdaccio.URL}
	cases := []struct {
		name, lock, key string
		source          []string
		want            []string
	}{
		{"unmirrored entry", addUnmirroredEntry(t, lock), pub, dataDir,
			[]string{"npm/left-pad@1.3.0: not mirrored through Sluice", "1 of "}},
		{"wrong key", lock, generateOtherKey(t), dataDir,
			[]string{"npm/chalk@4.1.2: signature does not verify"}},
		{"unmirrored entry on the mirror", addUnmirroredEntry(t, lock), pub, fromMirror,
			[]string{"npm/left-pad@1.3.0: not mirrored through Sluice: the mirror", "1 of "}},
		{"wrong key on the mirror", lock, generateOtherKey(t), fromMirror,
			[]string{"npm/chalk@4.1.2: signature does not verify"}},
		{"changed integrity on the mirror", changeIntegrity(t, lock, "ms"), pub, fromMirror,
			[]string{"npm/ms@2.1.2: lockfile integrity: signed digest does not match"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			args := append(append([]string{"verify", "--key", c.key}, c.source...), c.lock)
			r := sluice(t, args...)
			if r.exitCode() != exitOffenders {
				t.Fatalf("exit %d, expected %d: %v\n%s", r.exitCode(), exitOffenders, r.err, r.stdout)
			}
			for _, w := range c.want {
				if !strings.Contains(r.stdout+r.err.Error(), w) {
					t.Errorf("output lacks %q:\n%s\n%v", w, r.stdout, r.err)
				}
			}
		})
	}
}

func generateOtherKey(t *testing.T) string {
	t.Helper()
	pair, err := sign.GenerateKeyPair(nil)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "other.pub")
	if err := os.WriteFile(path, pair.PublicPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestVerifyUnsignedSync(t *testing.T) {
	e := newEnv(t)
	_, pub := generateKeys(t, "")
	if r := e.sync(t); r.err != nil {
		t.Fatalf("sync: %v\n%s%s", r.err, r.stdout, r.stderr)
	}
	r := sluice(t, "verify", "--data-dir", e.dataDir, "--key", pub, filepath.Join(e.app, "package-lock.json"))
	if r.exitCode() != exitOffenders {
		t.Fatalf("exit %d, expected %d: %v", r.exitCode(), exitOffenders, r.err)
	}
	if !strings.Contains(r.stdout, "npm/chalk@4.1.2: not signed by Sluice: it was published while no signing key was configured") {
		t.Errorf("verify output:\n%s", r.stdout)
	}
}

func TestVerifyImageReference(t *testing.T) {
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	host := strings.TrimPrefix(srv.URL, "http://")
	key, pub := generateKeys(t, "pw")
	signer, err := sign.LoadPrivateKey(key, []byte("pw"))
	if err != nil {
		t.Fatal(err)
	}
	push := func(repo string) name.Digest {
		img, err := random.Image(256, 1)
		if err != nil {
			t.Fatal(err)
		}
		tag, err := name.NewTag(host + "/" + repo + ":v1")
		if err != nil {
			t.Fatal(err)
		}
		if err := remote.Write(tag, img); err != nil {
			t.Fatal(err)
		}
		h, _ := img.Digest()
		return tag.Context().Digest(h.String())
	}

	signed, unsigned := push("mirror/signed"), push("mirror/unsigned")
	if err := sign.SignImage(context.Background(), signed, signer, sign.ImageOptions{}); err != nil {
		t.Fatal(err)
	}

	r := mustSluice(t, "verify", "--key", pub, signed.String())
	if !strings.Contains(r.stdout, "verified 1 entry") {
		t.Errorf("verify output: %s", r.stdout)
	}
	r = sluice(t, "verify", "--key", pub, signed.String(), unsigned.String())
	if r.exitCode() != exitOffenders {
		t.Fatalf("exit %d, expected %d: %v", r.exitCode(), exitOffenders, r.err)
	}
	if !strings.Contains(r.stdout, unsigned.String()) || strings.Contains(r.stdout, signed.String()+":") {
		t.Errorf("offenders should name only the unsigned image:\n%s", r.stdout)
	}
}

func TestKeysImportUpstreamChecksSignatures(t *testing.T) {
	e := newEnv(t)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(key.Public())
	if err != nil {
		t.Fatal(err)
	}
	id, err := sign.KeyID(key.Public())
	if err != nil {
		t.Fatal(err)
	}
	doc, err := json.Marshal(sign.NPMKeys{Keys: []sign.NPMKey{{KeyID: id, KeyType: "ecdsa-sha2-nistp256",
		Scheme: "ecdsa-sha2-nistp256", Key: base64.StdEncoding.EncodeToString(der)}}})
	if err != nil {
		t.Fatal(err)
	}
	keysFile := filepath.Join(t.TempDir(), "npm-keys.json")
	if err := os.WriteFile(keysFile, doc, 0o644); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(t.TempDir(), "bad.json")
	os.WriteFile(bad, []byte(`{"keys":[]}`), 0o644)
	if r := sluice(t, "keys", "import-upstream", "--data-dir", e.dataDir, bad); r.err == nil ||
		!strings.Contains(r.err.Error(), bad) {
		t.Errorf("importing an empty keys document: %v", r.err)
	}

	r := mustSluice(t, "keys", "import-upstream", "--data-dir", e.dataDir, keysFile)
	if !strings.Contains(r.stdout, "imported 1 npm registry key ") {
		t.Errorf("import output: %s", r.stdout)
	}
	// The recorded packuments carry no registry signatures, so every
	// version is scanned with a "missing" upstream-signature finding; the
	// allow-all policy still approves it.
	if r := e.sync(t); r.err != nil {
		t.Fatalf("sync: %v\n%s%s", r.err, r.stdout, r.stderr)
	}
	st := openForTest(t, e.dataDir)
	defer st.Close()
	res, err := scanners.LoadResult(st.db, "npm/chalk@4.1.2")
	if err != nil || res == nil {
		t.Fatalf("scan result: %v, %v", res, err)
	}
	found := false
	for _, f := range res.Findings {
		found = found || (f.Kind == scanners.KindUpstreamSignature && f.ID == sign.FindingMissing)
	}
	if !found {
		t.Errorf("chalk@4.1.2 has no missing upstream-signature finding: %+v", res.Findings)
	}
	entries, err := st.db.Ledger("npm")
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Type != sign.EntryUpstreamKeysImported || entries[0].Evidence["key.0"] != id {
		t.Errorf("ledger entries for the import: %+v", entries)
	}
}
