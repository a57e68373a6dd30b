package main

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluice-dev/sluice/ingest/oci"
	"github.com/sluice-dev/sluice/ingest/state"
	"github.com/sluice-dev/sluice/internal/grypetest"
	"github.com/sluice-dev/sluice/internal/registrytest"
)

// imageManifest returns a manifest whose spec.images lists entries, each
// a YAML flow value.
func imageManifest(entries ...string) string {
	var b strings.Builder
	b.WriteString("apiVersion: sluice.dev/v1\nkind: Manifest\nmetadata:\n  name: images\n" +
		"  owner: team-platform\n  dataClass: internal\nspec:\n  images:\n")
	for _, e := range entries {
		b.WriteString("    - " + e + "\n")
	}
	return b.String()
}

// imageDataDir imports the demo vulnerability database into dir/data,
// points SLUICE_POLICY at the allow-all policy and returns the data
// directory.
func imageDataDir(t *testing.T, dir string) string {
	t.Helper()
	dataDir := filepath.Join(dir, "data")
	mustSluice(t, "db", "import", "--data-dir", dataDir, buildDBArchive(t, grypetest.Options{}))
	allowAll, err := filepath.Abs("testdata/approvals/allow-all.yaml")
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("SLUICE_POLICY", allowAll)
	return dataDir
}

func TestSyncImages(t *testing.T) {
	up := registrytest.Start(t)
	target := registrytest.Start(t)
	proxy := registrytest.NewProxy(t, target.Host)
	appDigest := seedApp(t, up.Host)
	for _, tag := range []string{"1.9.0", "2.0.0", "3.0.0"} {
		if _, err := registrytest.Image(up.Host, "team/tool", tag, "tool-"+tag, 16<<10); err != nil {
			t.Fatal(err)
		}
	}
	dir := t.TempDir()
	manifest := writeManifest(t, dir, imageManifest(up.Host+"/team/app:1.0.0",
		`{repository: "`+up.Host+`/team/tool", tags: {semver: ">=2.0.0 <3"}}`))
	dataDir := imageDataDir(t, dir)
	mirror := proxy.Host + "/mirror"

	plan := mustSluice(t, "plan", "--data-dir", dataDir, manifest)
	for _, want := range []string{up.Host + "/team/app@" + appDigest.String(), up.Host + "/team/tool@",
		"2 packages: 2 new"} {
		if !strings.Contains(plan.stdout, want) {
			t.Errorf("plan does not list %s:\n%s", want, plan.stdout)
		}
	}
	if strings.Contains(plan.stdout, "did not state the size") {
		t.Errorf("plan lacks an image size:\n%s", plan.stdout)
	}

	r := mustSluice(t, "sync", "--data-dir", dataDir, "--oci-mirror", mirror, manifest)
	if !strings.Contains(r.stdout, "fetched    0 tarballs and 2 images") ||
		!strings.Contains(r.stdout, "published  2;") {
		t.Errorf("summary:\n%s", r.stdout)
	}
	crane, err := registrytest.Tool("crane")
	if err != nil {
		t.Fatal(err)
	}
	mirrored := target.Host + "/mirror/team/app:1.0.0"
	out, err := exec.Command(crane, "digest", mirrored).CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != appDigest.String() {
		t.Errorf("crane digest %s: %s %v, want %s", mirrored, out, err, appDigest)
	}
	out, err = exec.Command(crane, "ls", target.Host+"/mirror/team/tool").CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "2.0.0" {
		t.Errorf("mirrored tool tags: %q %v, want only 2.0.0", out, err)
	}
	out, err = exec.Command(crane, "ls", target.Host+"/mirror/team/app").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "sha256-"+appDigest.Hex+".sig") {
		t.Errorf("mirrored app tags %q %v lack the signature tag", out, err)
	}

	key := state.ArtifactKey(state.EcosystemOCI, up.Host+"/team/app", appDigest.String())
	report := mustSluice(t, "report", "--data-dir", dataDir, key)
	if !strings.Contains(report.stdout, grypetest.GlibcCVE) {
		t.Errorf("report of %s lacks %s:\n%.2000s", key, grypetest.GlibcCVE, report.stdout)
	}

	proxy.Reset()
	r = mustSluice(t, "sync", "--data-dir", dataDir, "--oci-mirror", mirror, manifest)
	if n := proxy.Count("POST", "uploads") + proxy.Count("PUT", "uploads"); n != 0 {
		t.Errorf("second sync sent %d blob upload requests, want none", n)
	}
	if !strings.Contains(r.stdout, "published  0; 2 already on the mirror") {
		t.Errorf("second summary:\n%s", r.stdout)
	}

	t.Run("pin a Dockerfile", func(t *testing.T) {
		dockerfile := filepath.Join(t.TempDir(), "Dockerfile")
		writeFile(t, dockerfile, "FROM "+up.Host+"/team/app:1.0.0\n")
		mustSluice(t, "pin", "--data-dir", dataDir, "--oci-mirror", proxy.Host, dockerfile)
		want := "FROM " + mirror + "/team/app@" + appDigest.String() + "\n"
		if got := readFile(t, dockerfile); got != want {
			t.Errorf("pinned Dockerfile:\n%s\nwant:\n%s", got, want)
		}
	})
	t.Run("mirrored reference lookup", func(t *testing.T) {
		db, err := state.Open(filepath.Join(dataDir, "sluice.db"))
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		got, err := oci.MirroredReference(db, up.Host+"/team/app:1.0.0", "")
		if err != nil {
			t.Fatal(err)
		}
		if want := mirror + "/team/app@" + appDigest.String(); got != want {
			t.Errorf("MirroredReference = %s, want %s", got, want)
		}
		if _, err := oci.MirroredReference(db, up.Host+"/team/app:9.9.9", ""); err == nil {
			t.Error("MirroredReference found an unmirrored tag")
		}
	})
}

func TestSyncImageErrors(t *testing.T) {
	up := registrytest.Start(t)
	dir := t.TempDir()
	manifest := writeManifest(t, dir, imageManifest(up.Host+"/team/missing:1.0.0"))
	r := sluice(t, "sync", "--data-dir", filepath.Join(dir, "data"), "--no-scan", manifest)
	if r.exitCode() != exitFailure {
		t.Errorf("exit code %d, want %d", r.exitCode(), exitFailure)
	}
	if r.err == nil || !strings.Contains(r.err.Error(), "manifest.yaml:9:7") ||
		!strings.Contains(r.err.Error(), "not found") {
		t.Errorf("error %v does not name the entry and say not found", r.err)
	}
	r = sluice(t, "sync", "--data-dir", filepath.Join(dir, "data"), "--no-scan", "--oci-mirror",
		"127.0.0.1:1/mirror", "--policy", "", manifest)
	if r.exitCode() != exitUsage {
		t.Errorf("--oci-mirror without --policy: exit code %d, want %d", r.exitCode(), exitUsage)
	}
}
