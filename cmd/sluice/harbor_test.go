package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluice-dev/sluice/internal/harbortest"
	"github.com/sluice-dev/sluice/internal/registrytest"
)

func TestSyncHarbor(t *testing.T) {
	up := registrytest.Start(t)
	target := registrytest.Start(t)
	srv := harbortest.New(t, harbortest.WithRegistry("http://"+target.Host))
	host := strings.TrimPrefix(srv.URL, "http://")
	appDigest, err := registrytest.Image(up.Host, "team/app", "1.0.0", "app", 32<<10)
	if err != nil {
		t.Fatal(err)
	}
	srv.SetScan(appDigest.String(), harbortest.Scan{Status: "Success", Severity: "Low",
		BySeverity: map[string]int{"Low": 1}})
	dir := t.TempDir()
	manifest := writeManifest(t, dir, imageManifest(up.Host+"/team/app:1.0.0"))
	dataDir := filepath.Join(dir, "data")
	allowAll, err := filepath.Abs("testdata/approvals/allow-all.yaml")
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("SLUICE_POLICY", allowAll)
	t.Setenv("SLUICE_OCI_MIRROR", "")
	t.Setenv("SLUICE_HARBOR_USER", harbortest.AdminUser)
	t.Setenv("SLUICE_HARBOR_PASSWORD", harbortest.AdminPassword)
	args := []string{"sync", "--data-dir", dataDir, "--no-scan", "--harbor", srv.URL,
		"--harbor-project", "mirror", "--harbor-prevent-severity", "high", "--harbor-require-cosign", manifest}

	r := mustSluice(t, args...)
	if !strings.Contains(r.stdout, "published  1;") {
		t.Errorf("summary:\n%s", r.stdout)
	}
	meta, _ := srv.ProjectMetadata("mirror")
	if meta["prevent_vul"] != "true" || meta["severity"] != "high" || meta["enable_content_trust_cosign"] != "true" ||
		meta["public"] != "false" {
		t.Errorf("project metadata %v, want private, prevent high, cosign required", meta)
	}
	ledger := mustSluice(t, "ledger", "export", "--data-dir", dataDir)
	for _, want := range []string{`"harbor.scanStatus":"Success"`, `"harbor.scanSeverity":"Low"`} {
		if !strings.Contains(ledger.stdout, want) {
			t.Errorf("ledger lacks %s", want)
		}
	}

	crane, err := registrytest.Tool("crane")
	if err != nil {
		t.Fatal(err)
	}
	ref := host + "/mirror/team/app:1.0.0"
	pull := exec.Command(crane, "pull", ref, filepath.Join(dir, "app.tar"))
	pull.Env = append(os.Environ(), "DOCKER_CONFIG="+filepath.Join(dataDir, "harbor", "mirror-pull"))
	if out, err := pull.CombinedOutput(); err != nil {
		t.Errorf("crane pull %s with the pull robot's credentials: %v\n%s", ref, err, out)
	}
	anonymous := exec.Command(crane, "pull", ref, filepath.Join(dir, "anonymous.tar"))
	anonymous.Env = append(os.Environ(), "DOCKER_CONFIG="+t.TempDir())
	if out, err := anonymous.CombinedOutput(); err == nil {
		t.Errorf("anonymous crane pull of the private project succeeded:\n%s", out)
	}

	before := len(srv.Requests())
	r = mustSluice(t, args...)
	if !strings.Contains(r.stdout, "published  0; 1 already on the mirror") {
		t.Errorf("second summary:\n%s", r.stdout)
	}
	for _, req := range srv.Requests()[before:] {
		if req.User == harbortest.AdminUser && strings.HasPrefix(req.Path, "/v2/") {
			t.Errorf("%s %s sent with the administrator's credentials", req.Method, req.Path)
		}
		if strings.HasPrefix(req.Path, "/api/") && req.Method != "GET" && req.Method != "HEAD" {
			t.Errorf("second sync changed Harbor: %s %s", req.Method, req.Path)
		}
	}

	dockerfile := filepath.Join(dir, "Dockerfile")
	writeFile(t, dockerfile, "FROM "+up.Host+"/team/app:1.0.0\n")
	mustSluice(t, "pin", "--data-dir", dataDir, "--oci-mirror", host, dockerfile)
	if got, want := readFile(t, dockerfile), "FROM "+host+"/mirror/team/app@"+appDigest.String()+"\n"; got != want {
		t.Errorf("pinned Dockerfile:\n%s\nwant:\n%s", got, want)
	}
}

func TestSyncHarborUsage(t *testing.T) {
	dir := t.TempDir()
	manifest := writeManifest(t, dir, imageManifest("127.0.0.1:1/team/app:1.0.0"))
	allowAll, err := filepath.Abs("testdata/approvals/allow-all.yaml")
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("SLUICE_POLICY", allowAll)
	t.Setenv("SLUICE_OCI_MIRROR", "")
	t.Setenv("SLUICE_HARBOR_USER", "admin")
	t.Setenv("SLUICE_HARBOR_PASSWORD", "secret")
	base := []string{"sync", "--data-dir", filepath.Join(dir, "data"), "--no-scan", "--harbor", "http://127.0.0.1:1"}
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"with --oci-mirror", []string{"--harbor-project", "p", "--oci-mirror", "127.0.0.1:1/m"}, nil, "give one"},
		{"no project", nil, nil, "--harbor-project"},
		{"no password", []string{"--harbor-project", "p"}, map[string]string{"SLUICE_HARBOR_PASSWORD": ""},
			"SLUICE_HARBOR_PASSWORD"},
		{"bad severity", []string{"--harbor-project", "p", "--harbor-prevent-severity", "severe"}, nil,
			"invalid severity"},
		{"no policy", []string{"--harbor-project", "p"}, map[string]string{"SLUICE_POLICY": ""}, "--policy"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			r := sluice(t, append(append(append([]string(nil), base...), tt.args...), manifest)...)
			if r.exitCode() != exitUsage || r.err == nil || !strings.Contains(r.err.Error(), tt.want) {
				t.Errorf("exit %d, error %v; want a usage error naming %s", r.exitCode(), r.err, tt.want)
			}
		})
	}
}
