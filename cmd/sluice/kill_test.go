package main

import (
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/ingest/state"
	"github.com/sluice-dev/sluice/internal/npmfixture"
)

// buildSluice builds the CLI once for tests that need a real process.
func buildSluice(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "sluice")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// TestSyncResumesAfterKill kills a sync process half way through its
// downloads and checks that the next run fetches only what is missing.
func TestSyncResumesAfterKill(t *testing.T) {
	bin := buildSluice(t)
	handler := npmfixture.NewHandler(npmfixture.Recorded())
	var tarballs atomic.Int32
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, ".tgz") {
			tarballs.Add(1)
			time.Sleep(150 * time.Millisecond)
		}
		handler.ServeHTTP(w, r)
	}))
	defer upstream.Close()
	app := npmfixture.CopyApp(t, "small")
	manifest := writeManifest(t, filepath.Dir(app), smallAppManifest)
	dataDir := filepath.Join(t.TempDir(), "data")

	cmd := exec.Command(bin, "sync", "-q", "--no-scan", "--data-dir", dataDir, "--npm-upstream", upstream.URL,
		"--concurrency", "1", manifest)
	cmd.Env = append(os.Environ(), "SLUICE_NPM_MIRROR=")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for tarballs.Load() < 8 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()

	st := openForTest(t, dataDir)
	stored, err := st.db.Artifacts(func(a *state.Artifact) bool { return a.State == state.StateFetched })
	st.Close()
	if err != nil {
		t.Fatal(err)
	}
	if len(stored) == 0 || len(stored) >= 27 {
		t.Fatalf("after the kill %d artifacts are stored; the kill did not land half way", len(stored))
	}
	before := int(tarballs.Load())
	out, err := exec.Command(bin, "sync", "-q", "--no-scan", "--data-dir", dataDir, "--npm-upstream", upstream.URL, manifest).CombinedOutput()
	if err != nil {
		t.Fatalf("resumed sync: %v\n%s", err, out)
	}
	refetched := int(tarballs.Load()) - before
	if refetched != 27-len(stored) {
		t.Errorf("resumed sync fetched %d tarballs; %d of 27 were stored before the kill", refetched, len(stored))
	}
	if entries, _ := os.ReadDir(filepath.Join(dataDir, "blobs", "tmp")); len(entries) != 0 {
		t.Errorf("%d temporary blobs left after the resumed sync", len(entries))
	}
	v, err := exec.Command(bin, "ledger", "verify", "--data-dir", dataDir).CombinedOutput()
	if err != nil {
		t.Errorf("ledger verify after a kill: %v\n%s", err, v)
	}
}
