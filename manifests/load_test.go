package manifests

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestLoadTestdata(t *testing.T) {
	m, err := Load("testdata/valid/frontend.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if got := len(m.Spec.NPM.Packages); got != 5 {
		t.Errorf("got %d packages, want 5", got)
	}
	if m.Spec.NPM.Dependencies != (DependencyOptions{Optional: true, Peer: false}) {
		t.Errorf("dependencies = %+v", m.Spec.NPM.Dependencies)
	}
	want, err := filepath.Abs("lockfile/testdata/yarn-v1/yarn.lock")
	if err != nil {
		t.Fatal(err)
	}
	lf := m.Spec.NPM.Lockfiles[1]
	if lf.Path != want {
		t.Errorf("lockfile path = %s, want %s", lf.Path, want)
	}
	if lf.Pos != (Position{File: "testdata/valid/frontend.yaml", Line: 27, Column: 15}) {
		t.Errorf("lockfile position = %v", lf.Pos)
	}
}

func TestLoadLockfileProblems(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "app", "yarn.lock"), "# yarn lockfile v1\n")
	if err := os.Mkdir(filepath.Join(dir, "folder"), 0o755); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "m.yaml")
	writeFile(t, file, npmSpec("    lockfiles:\n      - path: app/yarn.lock\n"+
		"      - path: app/package-lock.json\n      - path: folder\n"))

	_, err := Load(file)
	if err == nil {
		t.Fatal("Load succeeded with a missing lockfile")
	}
	got := problemsOf(t, err)
	want := []wantProblem{
		{"11:15", "spec.npm.lockfiles[1].path", "package-lock.json not found: fix the path, " +
			"which is relative to the manifest's folder " + dir},
		{"12:15", "spec.npm.lockfiles[2].path", "is not a regular file"},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d problems, want %d:\n%v", len(got), len(want), err)
	}
	for i := range want {
		checkProblem(t, got[i], file, want[i])
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "absent.yaml"))
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Load error = %v, want one wrapping fs.ErrNotExist", err)
	}
}

func TestLoadAllTestdata(t *testing.T) {
	ms, err := LoadAll("testdata/valid")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, m := range ms {
		names = append(names, m.Metadata.Name)
	}
	if got := strings.Join(names, " "); got != "backstage-frontend lockfiles-only minimal" {
		t.Errorf("names in load order = %s", got)
	}
}

func TestLoadAllProblems(t *testing.T) {
	dir := t.TempDir()
	valid := npmSpec("    packages: [lodash]\n")
	writeFile(t, filepath.Join(dir, "a.yaml"), valid)
	writeFile(t, filepath.Join(dir, "b.yml"), valid)
	writeFile(t, filepath.Join(dir, "c.yaml"), "kind: Manifest\n")
	writeFile(t, filepath.Join(dir, "notes.txt"), "not a manifest")
	writeFile(t, filepath.Join(dir, "sub", "d.yaml"), valid)
	empty := filepath.Join(dir, "empty")
	if err := os.Mkdir(empty, 0o755); err != nil {
		t.Fatal(err)
	}

	ms, err := LoadAll(dir, filepath.Join(dir, "a.yaml"), empty)
	if ms != nil {
		t.Errorf("LoadAll returned %d manifests along with the error", len(ms))
	}
	got := problemsOf(t, err)
	wantFiles := []string{
		filepath.Join(dir, "b.yml"),
		filepath.Join(dir, "c.yaml"),
		filepath.Join(dir, "c.yaml"),
		filepath.Join(dir, "c.yaml"),
		empty,
	}
	wantMessages := []string{
		`manifest name "frontend" is also used by ` + filepath.Join(dir, "a.yaml"),
		"apiVersion: missing",
		"metadata: missing",
		"spec: missing",
		"no *.yaml or *.yml manifest files in the directory",
	}
	if len(got) != len(wantFiles) {
		t.Fatalf("got %d problems, want %d:\n%v", len(got), len(wantFiles), err)
	}
	for i, p := range got {
		if p.File != wantFiles[i] {
			t.Errorf("problem %d in %s, want %s", i, p.File, wantFiles[i])
		}
		if !strings.Contains(p.Error(), wantMessages[i]) {
			t.Errorf("problem %d = %q, want it to contain %q", i, p.Error(), wantMessages[i])
		}
	}
	if got[0].Line != 4 || got[0].Column != 9 {
		t.Errorf("duplicate name reported at %d:%d, want 4:9", got[0].Line, got[0].Column)
	}
}
