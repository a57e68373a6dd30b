package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluice-dev/sluice/ingest"
	"github.com/sluice-dev/sluice/internal/npmclient"
	"github.com/sluice-dev/sluice/internal/npmfixture"
)

// clientAppsManifest imports the small app's lockfiles as npm, yarn
// classic, yarn berry, pnpm 10 and pnpm 8 wrote them.
const clientAppsManifest = `apiVersion: sluice.dev/v1
kind: Manifest
metadata:
  name: client-apps
  owner: team-platform
  dataClass: internal
spec:
  npm:
    lockfiles:
      - path: small/package-lock.json
      - path: small/yarn.lock
      - path: small-berry/yarn.lock
      - path: small-pnpm/pnpm-lock.yaml
      - path: small-pnpm6/pnpm-lock.yaml
`

// clientLockfiles are the lockfiles of clientAppsManifest, each with the
// client that installs it and the project settings the test commits
// beside it (MIRROR stands for the mirror URL).
var clientLockfiles = []struct {
	client   npmclient.Client
	path     string
	settings string // file name and content
	content  string
}{
	{npmclient.Npm, "small/package-lock.json", "", ""},
	{npmclient.YarnClassic, "small/yarn.lock", "", ""},
	{npmclient.YarnBerry, "small-berry/yarn.lock", ".yarnrc.yml",
		"nodeLinker: node-modules\nnpmRegistryServer: \"MIRROR\"\n"},
	{npmclient.PNPM, "small-pnpm/pnpm-lock.yaml", ".npmrc", "registry=MIRROR/\n"},
	{npmclient.PNPM8, "small-pnpm6/pnpm-lock.yaml", ".npmrc", "registry=MIRROR/\n"},
}

// TestPinInstallEachClient syncs the small app from all five lockfiles into
// Verdaccio, pins them, and installs each with its real client while every
// host but loopback is unreachable.
func TestPinInstallEachClient(t *testing.T) {
	e := newEnv(t)
	root := filepath.Dir(e.app)
	for _, name := range []string{"small-berry", "small-pnpm", "small-pnpm6"} {
		if err := os.Rename(npmfixture.CopyApp(t, name), filepath.Join(root, name)); err != nil {
			t.Fatal(err)
		}
	}
	e.manifest = writeManifest(t, root, clientAppsManifest)
	// All five lockfiles lock the same 25 registry packages.
	if p := planJSON(t, e); p.Counts[ingest.StatusNew] != 25 {
		t.Errorf("plan of the five lockfiles: %v, want 25 new", p.Counts)
	}
	if r := e.sync(t); r.err != nil {
		t.Fatalf("sync: %v\n%s%s", r.err, r.stdout, r.stderr)
	}

	pinArgs := []string{"pin", "--data-dir", e.dataDir, "--npm-mirror", e.verdaccio.URL}
	for _, l := range clientLockfiles {
		pinArgs = append(pinArgs, filepath.Join(root, l.path))
	}
	r := mustSluice(t, pinArgs...)
	wantNotes := []string{
		"small-berry/yarn.lock: 25 entries name no registry URL (yarn berry lockfiles leave it " +
			"out), so pinning only checked that the mirror has them: set npmRegistryServer: \"" +
			e.verdaccio.URL + "\" in .yarnrc.yml",
		"small-pnpm/pnpm-lock.yaml: 25 entries name no registry URL (pnpm leaves it out for " +
			"the configured registry), so pinning only checked that the mirror has them: set " +
			"registry=" + e.verdaccio.URL + "/ in .npmrc",
	}
	for _, note := range wantNotes {
		if !strings.Contains(r.stdout, note) {
			t.Errorf("pin output lacks %q:\n%s", note, r.stdout)
		}
	}

	pinned := map[string][]byte{}
	for _, l := range clientLockfiles {
		data, err := os.ReadFile(filepath.Join(root, l.path))
		if err != nil {
			t.Fatal(err)
		}
		pinned[l.path] = data
		if bytes.Contains(data, []byte("registry.npmjs.org")) {
			t.Errorf("%s still names registry.npmjs.org", l.path)
		}
		golden := strings.ReplaceAll(l.path, "/", "-")
		checkGolden(t, golden, bytes.ReplaceAll(data, []byte(e.verdaccio.URL), []byte("http://mirror.invalid")))
	}

	// Pinning twice changes nothing, and --check agrees.
	mustSluice(t, pinArgs...)
	for _, l := range clientLockfiles {
		if again, _ := os.ReadFile(filepath.Join(root, l.path)); !bytes.Equal(again, pinned[l.path]) {
			t.Errorf("pinning the pinned %s changed it", l.path)
		}
	}
	checkArgs := append([]string{"pin", "--check"}, pinArgs[1:]...)
	mustSluice(t, checkArgs...)

	for _, l := range clientLockfiles {
		t.Run(string(l.client), func(t *testing.T) {
			app := filepath.Join(t.TempDir(), "app")
			if err := os.CopyFS(app, os.DirFS(filepath.Dir(filepath.Join(root, l.path)))); err != nil {
				t.Fatal(err)
			}
			if l.settings != "" {
				content := strings.ReplaceAll(l.content, "MIRROR", e.verdaccio.URL)
				if err := os.WriteFile(filepath.Join(app, l.settings), []byte(content), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if out, err := npmclient.Install(t, l.client, app, e.verdaccio.URL); err != nil {
				t.Fatalf("%s install from the mirror: %v\n%s", l.client, err, out)
			}
			if _, err := os.Stat(filepath.Join(app, "node_modules", "lodash", "package.json")); err != nil {
				t.Errorf("%s did not install lodash: %v", l.client, err)
			}
			after, _ := os.ReadFile(filepath.Join(app, filepath.Base(l.path)))
			if !bytes.Equal(after, pinned[l.path]) {
				t.Errorf("%s changed the pinned %s", l.client, l.path)
			}
		})
	}
}

// TestPinTarballURLs has each client lock a dependency named by its tarball
// URL on the upstream, so that the lockfile carries that URL. Pinning must
// move the URL to the mirror, and the pinned lockfile must install without
// a single tarball from the upstream.
func TestPinTarballURLs(t *testing.T) {
	e := newEnv(t)
	if r := e.sync(t); r.err != nil {
		t.Fatalf("sync: %v\n%s%s", r.err, r.stdout, r.stderr)
	}
	// The upstream under another host name: pnpm leaves out a tarball URL
	// on the registry it is configured with, and keeps one on any other.
	tarball := strings.Replace(e.upstream.URL, "127.0.0.1", "localhost", 1) +
		"/lodash/-/lodash-4.17.21.tgz"
	packageJSON := `{"name": "tarball-app", "version": "1.0.0", "private": true, ` +
		`"dependencies": {"lodash": "` + tarball + `"}}` + "\n"
	tests := []struct {
		client   npmclient.Client
		lockfile string
	}{
		{npmclient.YarnClassic, "yarn.lock"},
		{npmclient.YarnBerry, "yarn.lock"},
		{npmclient.PNPM, "pnpm-lock.yaml"},
	}
	for _, tt := range tests {
		t.Run(string(tt.client), func(t *testing.T) {
			app := t.TempDir()
			files := map[string]string{"package.json": packageJSON}
			if tt.client == npmclient.YarnBerry {
				files[".yarnrc.yml"] = "nodeLinker: node-modules\n"
			}
			for name, content := range files {
				if err := os.WriteFile(filepath.Join(app, name), []byte(content), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			out, err := npmclient.ExecClient(t.Context(), t.TempDir(), tt.client, app, e.upstream.URL,
				[]string{"install"})
			if err != nil {
				t.Fatalf("lock with %s: %v\n%s", tt.client, err, out)
			}
			lockfile := filepath.Join(app, tt.lockfile)
			locked, err := os.ReadFile(lockfile)
			if err != nil {
				t.Fatal(err)
			}

			mustSluice(t, "pin", "--data-dir", e.dataDir, "--npm-mirror", e.verdaccio.URL, lockfile)
			pinned, _ := os.ReadFile(lockfile)
			mirrored := e.verdaccio.URL + "/lodash/-/lodash-4.17.21.tgz"
			if got := strings.Count(string(pinned), mirrored); got != 1 {
				t.Errorf("pinned lockfile names the mirror's tarball %d times, want 1:\n%s", got, pinned)
			}
			// The dependency's own spec, in keys and importers, keeps the URL
			// of package.json; only the resolved URL moves.
			if got, want := strings.Count(string(pinned), tarball), strings.Count(string(locked), tarball)-1; got != want {
				t.Errorf("pinned lockfile names the upstream tarball %d times, want %d", got, want)
			}
			golden := bytes.ReplaceAll(pinned, []byte(e.verdaccio.URL), []byte("http://mirror.invalid"))
			golden = bytes.ReplaceAll(golden, []byte(tarball), []byte("http://upstream.invalid/lodash/-/lodash-4.17.21.tgz"))
			checkGolden(t, "tarball-url-"+string(tt.client)+"-"+tt.lockfile, golden)

			if err := os.RemoveAll(filepath.Join(app, "node_modules")); err != nil {
				t.Fatal(err)
			}
			e.upstream.ResetRequests()
			if out, err := npmclient.Install(t, tt.client, app, e.verdaccio.URL); err != nil {
				t.Fatalf("%s install from the mirror: %v\n%s", tt.client, err, out)
			}
			if n := e.upstream.TarballRequests(); n != 0 {
				t.Errorf("the install fetched %d tarballs from the upstream, want 0", n)
			}
			if after, _ := os.ReadFile(lockfile); !bytes.Equal(after, pinned) {
				t.Errorf("%s changed the pinned lockfile", tt.client)
			}
		})
	}
}
