package main

import (
	"os"
	"os/exec"
	"path/filepath"
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
	cuts := make(chan registrytest.Cut, 1)
	release := make(chan struct{})
	defer close(release)
	proxy.SetFault(registrytest.CutBlob(up.Host, 4, cuts, release))
	dir := t.TempDir()
	manifest := writeManifest(t, dir, imageManifest(proxy.Host+"/team/app:1.0.0"))
	dataDir := filepath.Join(dir, "data")
	args := []string{"sync", "-q", "--no-scan", "--data-dir", dataDir, "--concurrency", "1", manifest}

	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "SLUICE_OCI_MIRROR=", "SLUICE_NPM_MIRROR=")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var cut registrytest.Cut
	select {
	case cut = <-cuts:
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		t.Fatal("the sync never reached the fourth blob")
	}
	// Kill only once the process has written the half it received.
	if !registrytest.WaitForPartial(filepath.Join(dataDir, "blobs"), cut) {
		t.Errorf("the store kept no part of %s", cut.Digest)
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
	again, err := proxy.Resumed(cut)
	if err != nil {
		t.Error(err)
	}
	// Two platforms of config, base and own layer: six blobs, three stored
	// before the kill.
	if len(again) != 3 {
		t.Errorf("resumed sync downloaded %d blobs %v, want the 3 missing ones", len(again), again)
	}
	if entries, _ := os.ReadDir(filepath.Join(dataDir, "blobs", "tmp")); len(entries) != 0 {
		t.Errorf("%d temporary blobs left after the resumed sync", len(entries))
	}
	v, err := exec.Command(bin, "ledger", "verify", "--data-dir", dataDir).CombinedOutput()
	if err != nil {
		t.Errorf("ledger verify after a kill: %v\n%s", err, v)
	}
}
