package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/internal/registrytest"
)

// TestSyncImageResumesAfterKill kills a sync process in the middle of an
// image's fourth blob download and checks that the next run fetches only
// the blobs that were not stored, and the rest of the interrupted one.
func TestSyncImageResumesAfterKill(t *testing.T) {
	bin := buildSluice(t)
	up := registrytest.Start(t)
	if _, err := registrytest.Image(up.Host, "team/app", "1.0.0", "app", 256<<10); err != nil {
		t.Fatal(err)
	}
	proxy := registrytest.NewProxy(t, up.Host)
	var mu sync.Mutex
	blobGets := 0
	stalled := make(chan string, 1)
	half := 0
	release := make(chan struct{})
	defer close(release)
	proxy.SetFault(func(w http.ResponseWriter, r *http.Request) bool {
		if r.Method != http.MethodGet || !strings.Contains(r.URL.Path, "/blobs/") {
			return false
		}
		mu.Lock()
		blobGets++
		n := blobGets
		mu.Unlock()
		if n != 4 {
			return false
		}
		blob, err := http.Get("http://" + up.Host + r.URL.Path)
		if err != nil {
			t.Error(err)
			return false
		}
		data, _ := io.ReadAll(blob.Body)
		blob.Body.Close()
		half = len(data) / 2
		w.Header().Set("Content-Length", fmt.Sprint(len(data)))
		w.WriteHeader(http.StatusOK)
		w.Write(data[:half])
		w.(http.Flusher).Flush()
		stalled <- r.URL.Path[strings.LastIndex(r.URL.Path, "/")+1:]
		select {
		case <-r.Context().Done():
		case <-release:
		}
		return true
	})
	dir := t.TempDir()
	manifest := writeManifest(t, dir, strings.ReplaceAll(`apiVersion: sluice.dev/v1
kind: Manifest
metadata:
  name: images
  owner: team-platform
  dataClass: internal
spec:
  images:
    - HOST/team/app:1.0.0
`, "HOST", proxy.Host))
	dataDir := filepath.Join(dir, "data")
	args := []string{"sync", "-q", "--no-scan", "--data-dir", dataDir, "--concurrency", "1", manifest}

	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "SLUICE_OCI_MIRROR=", "SLUICE_NPM_MIRROR=")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var cut string
	select {
	case cut = <-stalled:
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		t.Fatal("the sync never reached the fourth blob")
	}
	// Kill only once the process has written the half it received.
	partial := filepath.Join(dataDir, "blobs", "partial", strings.TrimPrefix(cut, "sha256:"))
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
		if fi, err := os.Stat(partial); err == nil && fi.Size() >= int64(half) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()

	proxy.SetFault(nil)
	proxy.Reset()
	out, err := exec.Command(bin, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("resumed sync: %v\n%s", err, out)
	}
	var again []string
	for _, r := range proxy.Requests() {
		if r.Kind != "blobs" || r.Method != http.MethodGet {
			continue
		}
		d := r.Path[strings.LastIndex(r.Path, "/")+1:]
		again = append(again, d)
		if want := fmt.Sprintf("bytes=%d-", half); d == cut && r.Range != want {
			t.Errorf("interrupted blob requested with Range %q, want %q", r.Range, want)
		}
	}
	// Two platforms of config, base and own layer: six blobs, three stored
	// before the kill.
	if len(again) != 3 {
		t.Errorf("resumed sync downloaded %d blobs %v, want the 3 missing ones", len(again), again)
	}
	found := false
	for _, d := range again {
		found = found || d == cut
	}
	if !found {
		t.Errorf("resumed sync did not download the interrupted blob %s", cut)
	}
	if entries, _ := os.ReadDir(filepath.Join(dataDir, "blobs", "tmp")); len(entries) != 0 {
		t.Errorf("%d temporary blobs left after the resumed sync", len(entries))
	}
	v, err := exec.Command(bin, "ledger", "verify", "--data-dir", dataDir).CombinedOutput()
	if err != nil {
		t.Errorf("ledger verify after a kill: %v\n%s", err, v)
	}
}
