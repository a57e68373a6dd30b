package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/sluice-dev/sluice/internal/bundletest"
	"github.com/sluice-dev/sluice/internal/npmclient"
)

// TestBundleAcrossAirGap syncs on an outside data directory with no
// mirror, carries the bundle to an inside data directory whose only mirror
// is a Verdaccio on loopback, and installs from that mirror.
func TestBundleAcrossAirGap(t *testing.T) {
	e := newEnv(t)
	outside := e.dataDir
	inside := filepath.Join(t.TempDir(), "inside")
	mustSluice(t, "sync", "-q", "--data-dir", outside, "--npm-upstream", e.upstream.URL, "--retries", "2", e.manifest)
	key, pub, err := bundletest.KeyPair(t.TempDir(), "secret")
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("COSIGN_PASSWORD", "secret")

	media := t.TempDir() + "/"
	r := mustSluice(t, "export", "--data-dir", outside, "--to", media, "--key", key, "--max-part-size", "256KiB")
	m := regexp.MustCompile(`bundle (\S+) written`).FindStringSubmatch(r.stdout)
	if m == nil || !strings.Contains(r.stdout, "artifacts  27") {
		t.Fatalf("export output:\n%s", r.stdout)
	}
	id := m[1]
	parts, _ := filepath.Glob(filepath.Join(media, id+".part-*.tar.zst"))
	if len(parts) < 2 {
		t.Errorf("export wrote %d parts of at most 256 KiB, want several", len(parts))
	}

	r = mustSluice(t, "bundle", "inspect", media, "--key", pub)
	for _, want := range []string{"bundle     " + id, "signature  valid", "npm/lodash@4.17.20"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("inspect output lacks %q:\n%s", want, r.stdout)
		}
	}

	// A key the inside does not trust is refused before anything else.
	_, otherPub, err := bundletest.KeyPair(t.TempDir(), "other")
	if err != nil {
		t.Fatal(err)
	}
	r = sluice(t, "import", media, "--data-dir", inside, "--key", otherPub, "--npm-mirror", e.verdaccio.URL)
	if r.err == nil || !strings.Contains(r.err.Error(), "signature does not verify") {
		t.Errorf("import with a foreign key: %v", r.err)
	}

	r = mustSluice(t, "import", media, "--data-dir", inside, "--key", pub, "--npm-mirror", e.verdaccio.URL)
	if !strings.Contains(r.stdout, "published  27;") {
		t.Errorf("import output:\n%s", r.stdout)
	}
	r = mustSluice(t, "import", media, "--data-dir", inside, "--key", pub, "--npm-mirror", e.verdaccio.URL)
	if !strings.Contains(r.stdout, "imported already") {
		t.Errorf("second import output:\n%s", r.stdout)
	}

	// The inside data directory alone pins the lockfile, and npm ci
	// installs from the inside mirror with every other host refused.
	lock := filepath.Join(e.app, "package-lock.json")
	mustSluice(t, "pin", "--data-dir", inside, "--npm-mirror", e.verdaccio.URL, lock)
	if out, err := npmclient.CI(t, e.app, e.verdaccio.URL); err != nil {
		t.Fatalf("npm ci from the inside mirror: %v\n%s", err, out)
	}
	if _, err := os.Stat(filepath.Join(e.app, "node_modules", "lodash", "package.json")); err != nil {
		t.Errorf("npm ci did not install lodash: %v", err)
	}
	// The inside holds the outside's verdict and scan records.
	ev := mustSluice(t, "evidence", "--data-dir", inside, "lodash@4.17.20")
	if !strings.Contains(ev.stdout, "allow-all") {
		t.Errorf("inside evidence of lodash does not name the outside policy:\n%s", ev.stdout)
	}
	v := mustSluice(t, "ledger", "verify", "--data-dir", inside)
	if !strings.HasPrefix(v.stdout, "ledger ok:") {
		t.Errorf("inside ledger verify: %s", v.stdout)
	}
}

// TestBundleSigned carries the signatures of a signed outside sync: the
// inside verifies them on import, serves them from its mirror, and
// verifies the pinned lockfile from its own data directory.
func TestBundleSigned(t *testing.T) {
	e := newEnv(t)
	signKey, signPub := generateKeys(t, "secret")
	mustSluice(t, "sync", "-q", "--data-dir", e.dataDir, "--npm-upstream", e.upstream.URL, "--retries", "2",
		"--sign-key", signKey, e.manifest)
	key, pub, err := bundletest.KeyPair(t.TempDir(), "secret")
	if err != nil {
		t.Fatal(err)
	}
	media := t.TempDir() + "/"
	mustSluice(t, "export", "--data-dir", e.dataDir, "--to", media, "--key", key)

	// The bundle key is not the signing key, so without --sign-pub the
	// signatures are refused.
	inside := filepath.Join(t.TempDir(), "inside")
	r := sluice(t, "import", media, "--data-dir", inside, "--key", pub, "--npm-mirror", e.verdaccio.URL)
	if r.err == nil || !strings.Contains(r.err.Error(), "artifact signature does not verify") ||
		!strings.Contains(r.err.Error(), "npm/") {
		t.Errorf("import without the signing key: %v", r.err)
	}
	r = mustSluice(t, "import", media, "--data-dir", inside, "--key", pub, "--sign-pub", signPub,
		"--npm-mirror", e.verdaccio.URL)
	if !strings.Contains(r.stdout, "published  27;") {
		t.Errorf("import output:\n%s", r.stdout)
	}

	lock := filepath.Join(e.app, "package-lock.json")
	mustSluice(t, "pin", "--data-dir", inside, "--npm-mirror", e.verdaccio.URL, lock)
	r = mustSluice(t, "verify", "--data-dir", inside, "--key", signPub, lock)
	if !strings.Contains(r.stdout, "verified ") {
		t.Errorf("inside verify output: %s", r.stdout)
	}
	// The inside mirror serves the outside's signatures.
	r = mustSluice(t, "verify", "--data-dir", filepath.Join(t.TempDir(), "none"), "--key", signPub,
		"--npm-mirror", e.verdaccio.URL, lock)
	if !strings.Contains(r.stdout, "verified ") {
		t.Errorf("verify --npm-mirror output: %s", r.stdout)
	}
}
