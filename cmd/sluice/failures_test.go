package main

import (
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
)

func manifestFor(t *testing.T, packages string) string {
	t.Helper()
	return writeManifest(t, t.TempDir(), `apiVersion: sluice.dev/v1
kind: Manifest
metadata: {name: failures, owner: team-platform, dataClass: internal}
spec:
  npm:
    packages:
`+packages)
}

func TestSyncRejectsBadInput(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		name     string
		manifest string
		want     []string
		code     int
	}{
		{"malformed manifest", "apiVersion: sluice.dev/v1\nkind: Manifest\nmetadata: [\n",
			[]string{"manifest.yaml:"}, exitFailure},
		{"unknown field", "apiVersion: sluice.dev/v1\nkind: Manifest\nmetadata: {name: x, owner: y, dataClass: z}\nspec:\n  npm:\n    packges: [lodash]\n",
			[]string{"manifest.yaml:6", "packges"}, exitFailure},
		{"unknown package", "", []string{"no-such-package-sluice@1.0.0: package not found at", "nothing was fetched"}, exitFailure},
		{"range matches nothing", "", []string{"lodash@^9.0.0: no version matches; the latest version is 4.17.21"}, exitFailure},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var path string
			switch tt.name {
			case "unknown package":
				path = manifestFor(t, "      - no-such-package-sluice@1.0.0\n")
			case "range matches nothing":
				path = manifestFor(t, "      - name: lodash\n        version: ^9.0.0\n")
			default:
				dir := t.TempDir()
				path = filepath.Join(dir, "manifest.yaml")
				os.WriteFile(path, []byte(tt.manifest), 0o644)
			}
			r := sluice(t, "sync", "-q", "--data-dir", e.dataDir, "--npm-upstream", e.upstream.URL,
				"--npm-mirror", e.verdaccio.URL, path)
			if r.exitCode() != tt.code {
				t.Fatalf("exit %d (%v), want %d", r.exitCode(), r.err, tt.code)
			}
			for _, w := range tt.want {
				if !strings.Contains(r.err.Error(), w) {
					t.Errorf("error %q does not contain %q", r.err, w)
				}
			}
		})
	}
}

func TestSyncRecoversFromServerErrors(t *testing.T) {
	e := newEnv(t)
	e.upstream.FailNext(e.upstream.TarballURLPath("lodash", "4.17.20"), 2, http.StatusInternalServerError)
	e.upstream.FailNext("/minimist", 1, http.StatusServiceUnavailable)
	if r := e.sync(t); r.err != nil {
		t.Fatalf("sync through recovering 5xx errors: %v", r.err)
	}
	if got := packumentVersions(t, e.verdaccio.URL, "lodash"); got["4.17.20"].Integrity == "" {
		t.Error("lodash 4.17.20 is not on the mirror after the upstream recovered")
	}
}

func TestSyncRejectsTamperedTarball(t *testing.T) {
	e := newEnv(t)
	e.upstream.Corrupt("lodash", "4.17.21")
	r := e.sync(t)
	if r.err == nil {
		t.Fatal("sync accepted a tarball whose bytes do not match its integrity")
	}
	for _, w := range []string{"npm/lodash@4.17.21", "rejected, nothing was stored", "integrity mismatch"} {
		if !strings.Contains(r.err.Error(), w) {
			t.Errorf("error does not contain %q:\n%v", w, r.err)
		}
	}
	if v := packumentVersions(t, e.verdaccio.URL, "lodash"); v != nil && v["4.17.21"].Integrity != "" {
		t.Error("the tampered lodash 4.17.21 was published")
	}
	if v := packumentVersions(t, e.verdaccio.URL, "chalk"); v["4.1.2"].Integrity == "" {
		t.Error("the untampered chalk 4.1.2 was not published in the same run")
	}
	st := openForTest(t, e.dataDir)
	a, err := st.db.Artifact("npm/lodash@4.17.21")
	if err != nil {
		t.Fatal(err)
	}
	if a.State != "resolved" || a.Digest != "" {
		t.Errorf("tampered artifact: state %s digest %q, want resolved with no digest", a.State, a.Digest)
	}
	entries, _ := st.db.Ledger("npm/lodash@4.17.21")
	if last := entries[len(entries)-1]; last.Type != "artifact.fetch-failed" {
		t.Errorf("last ledger entry for the tampered artifact is %s, want artifact.fetch-failed", last.Type)
	}
	st.Close()
}

func openForTest(t *testing.T, dataDir string) *store {
	t.Helper()
	st, err := (&globals{dataDir: dataDir}).openStore()
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func TestSyncResumesAfterMirrorGoesDown(t *testing.T) {
	e := newEnv(t)
	// A proxy in front of Verdaccio stops Verdaccio after three publishes.
	target, _ := url.Parse(e.verdaccio.URL)
	var puts atomic.Int32
	proxy := httputil.NewSingleHostReverseProxy(target)
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPut && !strings.Contains(r.URL.Path, "/-/") && puts.Add(1) == 4 {
			if err := e.verdaccio.Stop(); err != nil {
				t.Errorf("stop verdaccio: %v", err)
			}
		}
		proxy.ServeHTTP(w, r)
	}))
	defer front.Close()

	args := []string{"sync", "-q", "--data-dir", e.dataDir, "--npm-upstream", e.upstream.URL,
		"--npm-mirror", front.URL, "--retries", "1", "--concurrency", "1", e.manifest}
	r := sluice(t, args...)
	if r.err == nil {
		t.Fatal("sync succeeded although the mirror went down")
	}
	if !strings.Contains(r.err.Error(), "run sync again to retry them") {
		t.Errorf("error does not say how to resume: %v", r.err)
	}
	if err := e.verdaccio.Restart(t.Context()); err != nil {
		t.Fatal(err)
	}
	e.upstream.ResetRequests()
	r = sluice(t, args...)
	if r.err != nil {
		t.Fatalf("resumed sync: %v\n%s", r.err, r.stdout)
	}
	if n := e.upstream.TarballRequests(); n != 0 {
		t.Errorf("resumed sync fetched %d tarballs again, want 0", n)
	}
	if !strings.Contains(r.stdout, "published  24; 3 already on the mirror") {
		t.Errorf("resumed sync summary:\n%s", r.stdout)
	}
	if v := packumentVersions(t, e.verdaccio.URL, "lodash"); len(v) != 2 {
		t.Errorf("mirror holds %d lodash versions, want 2", len(v))
	}
}

func TestSyncUnreachableUpstream(t *testing.T) {
	e := newEnv(t)
	r := sluice(t, "sync", "-q", "--data-dir", e.dataDir, "--npm-upstream", "http://127.0.0.1:9/",
		"--retries", "0", e.manifest)
	if r.exitCode() != exitFailure {
		t.Fatalf("exit %d, want %d", r.exitCode(), exitFailure)
	}
	msg := r.err.Error()
	if !strings.Contains(msg, "npm upstream http://127.0.0.1:9/ is not reachable") {
		t.Errorf("error does not name the unreachable upstream: %v", msg)
	}
	if n := strings.Count(msg, "\n"); n > 2 {
		t.Errorf("error has %d lines; one unreachable upstream should give one error:\n%s", n, msg)
	}
}

func TestSyncWrongMirrorToken(t *testing.T) {
	e := newEnv(t)
	t.Setenv("SLUICE_NPM_MIRROR_TOKEN", "not-a-token")
	r := e.sync(t)
	if r.err == nil {
		t.Fatal("sync published with a wrong token")
	}
	if !strings.Contains(r.err.Error(), "SLUICE_NPM_MIRROR_TOKEN") || strings.Count(r.err.Error(), "\n") > 2 {
		t.Errorf("a wrong token should fail once, naming the credentials:\n%v", r.err)
	}
}

func TestBadCommandLineExitsUsage(t *testing.T) {
	tests := [][]string{
		{"report"},
		{"report", "a", "b"},
		{"evidence"},
		{"plan", "manifests/", "--npm-upstrem", "x"},
	}
	for _, args := range tests {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			res := sluice(t, append(args, "--data-dir", t.TempDir())...)
			if res.exitCode() != exitUsage {
				t.Errorf("exit %d, want %d: %v", res.exitCode(), exitUsage, res.err)
			}
			if res.err == nil || !strings.Contains(res.err.Error(), "--help") {
				t.Errorf("error %v, want it to point at --help", res.err)
			}
		})
	}
}
