package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluice-dev/sluice/ingest/state"
	"github.com/sluice-dev/sluice/mirrors/pin/refs"
)

const pinnedNginx = "harbor.internal/docker.io/library/nginx@sha256:" +
	"6965a10c15290ad0b29ca7fd1866de1850408b3cb15fb11a3bbbbc2fddb158bd"

// withImageMirror makes pin look images up in m for the rest of the test.
func withImageMirror(t *testing.T, m refs.MapMirror) {
	t.Helper()
	saved := openImageMirror
	openImageMirror = func(*store, string) (refs.ImageMirror, error) { return m, nil }
	t.Cleanup(func() { openImageMirror = saved })
}

// emptyDataDir creates a data directory with an empty state store.
func emptyDataDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	db, err := state.Open(filepath.Join(dir, "sluice.db"))
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestPinImageFiles(t *testing.T) {
	withImageMirror(t, refs.MapMirror{"docker.io/library/nginx:1.27": pinnedNginx})
	dataDir := emptyDataDir(t)
	dir := t.TempDir()
	dockerfile := filepath.Join(dir, "Dockerfile")
	pod := filepath.Join(dir, "pod.yaml")
	other := filepath.Join(dir, "web.txt")
	writeFile(t, dockerfile, "FROM nginx:1.27 # base\n")
	writeFile(t, pod, "apiVersion: v1\nkind: Pod\nspec:\n  containers:\n  - image: nginx:1.27\n")
	writeFile(t, other, "FROM nginx:1.27\n")

	r := sluice(t, "pin", "--data-dir", dataDir, "--check", "--oci-mirror", "harbor.internal", dockerfile, pod)
	if r.exitCode() != exitOffenders {
		t.Errorf("check of unpinned files: exit %d, want %d\n%s", r.exitCode(), exitOffenders, r.stdout)
	}
	mustSluice(t, "pin", "--data-dir", dataDir, "--oci-mirror", "harbor.internal", dockerfile, pod)
	mustSluice(t, "pin", "--data-dir", dataDir, "--oci-mirror", "harbor.internal", "--kind", "dockerfile", other)
	for path, want := range map[string]string{
		dockerfile: "FROM " + pinnedNginx + " # base\n",
		pod:        "apiVersion: v1\nkind: Pod\nspec:\n  containers:\n  - image: " + pinnedNginx + "\n",
		other:      "FROM " + pinnedNginx + "\n",
	} {
		if got := readFile(t, path); got != want {
			t.Errorf("%s:\n%s\nwant:\n%s", path, got, want)
		}
	}
	r = mustSluice(t, "pin", "--data-dir", dataDir, "--check", "--oci-mirror", "harbor.internal", dockerfile, pod)
	if strings.Contains(r.stdout, "not pinned") {
		t.Errorf("check after pin lists unpinned references:\n%s", r.stdout)
	}
}

func TestPinImageOffenders(t *testing.T) {
	withImageMirror(t, refs.MapMirror{"docker.io/library/nginx:1.27": pinnedNginx})
	dataDir := emptyDataDir(t)
	dir := t.TempDir()
	good := filepath.Join(dir, "Dockerfile")
	bad := filepath.Join(dir, "api.Dockerfile")
	writeFile(t, good, "FROM nginx:1.27\n")
	writeFile(t, bad, "FROM nginx:1.27\nFROM redis:7\n")

	r := sluice(t, "pin", "--data-dir", dataDir, "--oci-mirror", "harbor.internal", good, bad)
	if r.exitCode() != exitOffenders {
		t.Fatalf("pin with an unmirrored image: exit %d (%v), want %d", r.exitCode(), r.err, exitOffenders)
	}
	if !strings.Contains(r.stdout, bad+":2: redis:7: docker.io/library/redis:7 is not mirrored: add it to a manifest and sync") {
		t.Errorf("offender not listed with file, line and what to do:\n%s", r.stdout)
	}
	if readFile(t, good) != "FROM nginx:1.27\n" {
		t.Error("pin rewrote a good file although another one offends")
	}

	r = sluice(t, "pin", "--data-dir", dataDir, good)
	if r.exitCode() != exitUsage {
		t.Errorf("pin without --oci-mirror: exit %d, want %d", r.exitCode(), exitUsage)
	}
	r = sluice(t, "pin", "--data-dir", dataDir, "--oci-mirror", "harbor.internal", "--kind", "compose", good)
	if r.exitCode() != exitUsage {
		t.Errorf("pin with an unknown --kind: exit %d, want %d", r.exitCode(), exitUsage)
	}
}

func writeFile(t *testing.T, path, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}
