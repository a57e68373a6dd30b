package main

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sluice-dev/sluice/internal/grypetest"
	"github.com/sluice-dev/sluice/internal/npmclient"
	"github.com/sluice-dev/sluice/internal/npmfixture"
	"github.com/sluice-dev/sluice/internal/verdacciotest"
)

const smallAppManifest = `apiVersion: sluice.dev/v1
kind: Manifest
metadata:
  name: small-app
  owner: team-platform
  dataClass: internal
spec:
  npm:
    packages:
      - lodash@4.17.20
      - name: minimist
        version: "1.2.5"
    lockfiles:
      - path: small/package-lock.json
      - path: small/yarn.lock
`

// env points the CLI at a loopback upstream and Verdaccio.
type env struct {
	upstream  *npmfixture.Registry
	verdaccio *verdacciotest.Server
	app       string
	manifest  string
	dataDir   string
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{upstream: npmfixture.New(t), verdaccio: verdacciotest.Start(t)}
	e.app = npmfixture.CopyApp(t, "small")
	e.manifest = writeManifest(t, filepath.Dir(e.app), smallAppManifest)
	e.dataDir = filepath.Join(t.TempDir(), "data")
	// Every sync scans, as in production: the test vulnerability database
	// enters the way an air-gapped site imports one.
	mustSluice(t, "db", "import", "--data-dir", e.dataDir, buildDBArchive(t, grypetest.Options{}))
	// A policy that approves everything by a recorded verdict: these tests
	// are about moving bytes; the approvals tests cover the policies.
	allowAll, err := filepath.Abs("testdata/approvals/allow-all.yaml")
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("SLUICE_POLICY", allowAll)
	t.Setenv("SLUICE_NPM_MIRROR_TOKEN", e.verdaccio.Token)
	t.Setenv("SLUICE_NPM_MIRROR_USER", "")
	t.Setenv("SLUICE_NPM_MIRROR_PASSWORD", "")
	return e
}

func (e *env) sync(t *testing.T, extra ...string) result {
	t.Helper()
	args := append([]string{"sync", "-q", "--data-dir", e.dataDir, "--npm-upstream", e.upstream.URL,
		"--npm-mirror", e.verdaccio.URL, "--retries", "2"}, extra...)
	return sluice(t, append(args, e.manifest)...)
}

func TestSyncPinInstall(t *testing.T) {
	e := newEnv(t)
	r := e.sync(t)
	if r.err != nil {
		t.Fatalf("sync: %v\n%s%s", r.err, r.stdout, r.stderr)
	}
	if !strings.Contains(r.stdout, "fetched    27 tarballs") {
		t.Errorf("first sync summary:\n%s", r.stdout)
	}

	// Every tarball on the mirror has upstream's integrity, and its bytes
	// hash to it.
	for _, name := range []string{"lodash", "minimist", "chalk", "chokidar", "fsevents", "debug", "ms"} {
		up := packumentVersions(t, e.upstream.URL, name)
		mirrored := packumentVersions(t, e.verdaccio.URL, name)
		if len(mirrored) == 0 {
			t.Errorf("%s is not on the mirror", name)
		}
		for v, d := range mirrored {
			if d.Integrity != up[v].Integrity || d.Shasum != up[v].Shasum {
				t.Errorf("%s@%s on the mirror: integrity %s shasum %s, upstream %s %s",
					name, v, d.Integrity, d.Shasum, up[v].Integrity, up[v].Shasum)
			}
			if got := sriOf(t, d.Tarball); got != up[v].Integrity {
				t.Errorf("%s@%s tarball from the mirror hashes to %s, upstream states %s", name, v, got, up[v].Integrity)
			}
		}
	}

	lock := filepath.Join(e.app, "package-lock.json")
	yarnLock := filepath.Join(e.app, "yarn.lock")
	mustSluice(t, "pin", "--data-dir", e.dataDir, "--npm-mirror", e.verdaccio.URL, lock, yarnLock)
	pinned, _ := os.ReadFile(lock)
	pinnedYarn, _ := os.ReadFile(yarnLock)
	if bytes.Contains(pinned, []byte("registry.npmjs.org")) || bytes.Contains(pinnedYarn, []byte("registry.npmjs.org")) {
		t.Error("a pinned lockfile still points at registry.npmjs.org")
	}
	checkGolden(t, "small-package-lock.json", bytes.ReplaceAll(pinned, []byte(e.verdaccio.URL), []byte("http://mirror.invalid")))
	checkGolden(t, "small-yarn.lock", bytes.ReplaceAll(pinnedYarn, []byte(e.verdaccio.URL), []byte("http://mirror.invalid")))

	// Pinning twice changes nothing, and --check agrees.
	mustSluice(t, "pin", "--data-dir", e.dataDir, "--npm-mirror", e.verdaccio.URL, lock, yarnLock)
	again, _ := os.ReadFile(lock)
	againYarn, _ := os.ReadFile(yarnLock)
	if !bytes.Equal(again, pinned) || !bytes.Equal(againYarn, pinnedYarn) {
		t.Error("pinning a pinned lockfile changed it")
	}
	mustSluice(t, "pin", "--check", "--data-dir", e.dataDir, "--npm-mirror", e.verdaccio.URL, lock, yarnLock)

	// npm ci with the mirror as the only reachable registry.
	if out, err := npmclient.CI(t, e.app, e.verdaccio.URL); err != nil {
		t.Fatalf("npm ci from the mirror: %v\n%s", err, out)
	}
	if _, err := os.Stat(filepath.Join(e.app, "node_modules", "lodash", "package.json")); err != nil {
		t.Errorf("npm ci did not install lodash: %v", err)
	}

	// A second sync fetches no tarball and publishes nothing.
	e.upstream.ResetRequests()
	r = e.sync(t)
	if r.err != nil {
		t.Fatalf("second sync: %v\n%s", r.err, r.stdout)
	}
	if n := e.upstream.TarballRequests(); n != 0 {
		t.Errorf("second sync fetched %d tarballs, want 0", n)
	}
	if !strings.Contains(r.stdout, "fetched    0 tarballs") || !strings.Contains(r.stdout, "published  0;") {
		t.Errorf("second sync summary:\n%s", r.stdout)
	}

	v := mustSluice(t, "ledger", "verify", "--data-dir", e.dataDir)
	if !strings.HasPrefix(v.stdout, "ledger ok:") {
		t.Errorf("ledger verify: %s", v.stdout)
	}
}

func TestPinRefusesUnmirrored(t *testing.T) {
	e := newEnv(t)
	only := writeManifest(t, t.TempDir(), `apiVersion: sluice.dev/v1
kind: Manifest
metadata: {name: partial, owner: team-platform, dataClass: internal}
spec:
  npm:
    packages: [chalk@4.1.2]
`)
	mustSluice(t, "sync", "-q", "--data-dir", e.dataDir, "--npm-upstream", e.upstream.URL,
		"--npm-mirror", e.verdaccio.URL, only)
	lock := filepath.Join(e.app, "package-lock.json")
	before, _ := os.ReadFile(lock)
	r := sluice(t, "pin", "--data-dir", e.dataDir, "--npm-mirror", e.verdaccio.URL, lock)
	if r.exitCode() != exitOffenders {
		t.Fatalf("pin with unmirrored entries: exit %d (%v), want %d", r.exitCode(), r.err, exitOffenders)
	}
	if !strings.Contains(r.stdout, "lodash@4.17.21: not mirrored") {
		t.Errorf("offenders do not list lodash:\n%s", r.stdout)
	}
	if strings.Contains(r.stdout, "chalk@4.1.2") {
		t.Errorf("offenders list chalk, which is mirrored:\n%s", r.stdout)
	}
	after, _ := os.ReadFile(lock)
	if !bytes.Equal(before, after) {
		t.Error("pin changed a lockfile it refused")
	}

	// A lockfile that could be pinned on its own stays unchanged when
	// another lockfile of the same call offends.
	good := filepath.Join(t.TempDir(), "package-lock.json")
	goodText := []byte(`{
  "name": "chalk-only",
  "lockfileVersion": 3,
  "packages": {
    "": {"name": "chalk-only"},
    "node_modules/chalk": {
      "version": "4.1.2",
      "resolved": "https://registry.npmjs.org/chalk/-/chalk-4.1.2.tgz",
      "integrity": "sha512-oKnbhFyRIXpUuez8iBMmyEa4nbj4IOQyuhc/wy9kY7/WVPcwIO9VA668Pu8RkO7+0G76SLROeyw9CpQ061i4mA=="
    }
  }
}
`)
	os.WriteFile(good, goodText, 0o644)
	r = sluice(t, "pin", "--data-dir", e.dataDir, "--npm-mirror", e.verdaccio.URL, good, lock)
	if r.exitCode() != exitOffenders {
		t.Fatalf("pin of a good and a bad lockfile: exit %d, want %d", r.exitCode(), exitOffenders)
	}
	if now, _ := os.ReadFile(good); !bytes.Equal(now, goodText) {
		t.Error("pin rewrote the good lockfile although the other one offends")
	}

	// Pinning to a mirror the packages were never published to is refused.
	r = sluice(t, "pin", "--data-dir", e.dataDir, "--npm-mirror", "http://127.0.0.1:9/", good)
	if r.exitCode() != exitOffenders || !strings.Contains(r.stdout, "not published to http://127.0.0.1:9/") {
		t.Errorf("pin to another mirror: exit %d\n%s", r.exitCode(), r.stdout)
	}
	if r := mustSluice(t, "pin", "--data-dir", e.dataDir, "--npm-mirror", e.verdaccio.URL, good); !strings.Contains(r.stdout, "1 entries pinned") {
		t.Errorf("pin of the good lockfile alone: %s", r.stdout)
	}
}

func TestSecondManifestRecorded(t *testing.T) {
	e := newEnv(t)
	if r := e.sync(t); r.err != nil {
		t.Fatal(r.err)
	}
	credit := writeManifest(t, t.TempDir(), `apiVersion: sluice.dev/v1
kind: Manifest
metadata: {name: credit-scoring, owner: team-credit, dataClass: personal-credit-data}
spec:
  npm:
    packages: [chalk@4.1.2]
`)
	mustSluice(t, "sync", "-q", "--data-dir", e.dataDir, "--npm-upstream", e.upstream.URL,
		"--npm-mirror", e.verdaccio.URL, credit)
	st := openForTest(t, e.dataDir)
	defer st.Close()
	entries, err := st.db.Ledger("npm/chalk@4.1.2")
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, en := range entries {
		if en.Type == "artifact.requested-again" && en.Evidence["dataClass"] == "personal-credit-data" &&
			en.Evidence["owner"] == "team-credit" {
			found = true
		}
	}
	if !found {
		t.Error("the ledger does not record that team-credit asked for chalk 4.1.2")
	}
	a, _ := st.db.Artifact("npm/chalk@4.1.2")
	if !slices.Contains(a.Manifests, "credit-scoring") {
		t.Errorf("artifact manifests = %v, want credit-scoring among them", a.Manifests)
	}
}
