package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluice-dev/sluice/internal/harbortest"
	"github.com/sluice-dev/sluice/mirrors/harbor"
)

// provisionDeclaration writes the provision package's example
// declaration, pointed at a fake Harbor that has the TechDocs image.
func provisionDeclaration(t *testing.T) string {
	t.Helper()
	srv := harbortest.New(t)
	c, err := harbor.New(srv.URL, harbor.WithBasicAuth(harbortest.AdminUser, harbortest.AdminPassword))
	if err != nil {
		t.Fatal(err)
	}
	tools := harbor.ProjectSettings{PreventVulnerable: true, Severity: "critical", AutoScan: true}
	if _, err := c.EnsureProject(context.Background(), "tools", tools); err != nil {
		t.Fatal(err)
	}
	err = srv.AddArtifact("tools", harbortest.Artifact{Repository: "techdocs", Tags: []string{"v1.2.1"},
		Digest: "sha256:6f1c4e0e6b7d2b1a3c5e7f9a0b2c4d6e8f0a1b3c5d7e9f1a2b4c6d8e0f1a3b5c"})
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join("..", "..", "mirrors", "provision", "testdata", "network.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Replace(string(data), "url: https://harbor.internal", "url: "+srv.URL, 1)
	path := filepath.Join(t.TempDir(), "network.yaml")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	for env, value := range map[string]string{"HARBOR_USERNAME": harbortest.AdminUser,
		"HARBOR_PASSWORD": harbortest.AdminPassword, "VERDACCIO_SLUICE_PASSWORD": "a",
		"VERDACCIO_CI_PAYMENTS_PASSWORD": "b", "VERDACCIO_CI_WEB_PASSWORD": "c"} {
		t.Setenv(env, value)
	}
	return path
}

func TestProvisionPlanApply(t *testing.T) {
	file := provisionDeclaration(t)
	dataDir := filepath.Join(t.TempDir(), "no-store")
	plan := mustSluice(t, "--data-dir", dataDir, "provision", "plan", "--file", file)
	if !strings.Contains(plan.stdout, "harbor project payments\n  create project: payments\n") {
		t.Errorf("plan output lacks the project creation:\n%s", plan.stdout)
	}
	if r := sluice(t, "--data-dir", dataDir, "provision", "plan", "--check", "--file", file); r.exitCode() != exitOffenders {
		t.Errorf("plan --check with changes: exit %d, want %d", r.exitCode(), exitOffenders)
	}
	mustSluice(t, "--data-dir", dataDir, "provision", "apply", "--file", file)
	again := mustSluice(t, "--data-dir", dataDir, "provision", "plan", "--check", "--file", file)
	if again.stdout != "" {
		t.Errorf("plan after apply printed:\n%s", again.stdout)
	}
	if !strings.Contains(again.stderr, "nothing to change") {
		t.Errorf("stderr = %q, want it to say nothing changes", again.stderr)
	}
	if _, err := os.Stat(filepath.Join(dataDir)); err == nil {
		t.Errorf("provision created the data directory %s", dataDir)
	}
}

func TestProvisionUsageErrors(t *testing.T) {
	file := provisionDeclaration(t)
	t.Setenv("HARBOR_PASSWORD", "")
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"provision", "plan"}, "--file is required"},
		{[]string{"provision", "plan", "--file", file}, "HARBOR_USERNAME and HARBOR_PASSWORD"},
		{[]string{"provision", "apply", "--file", filepath.Join(t.TempDir(), "missing.yaml")}, "read declaration"},
	}
	for _, tt := range tests {
		r := sluice(t, tt.args...)
		if r.exitCode() != exitUsage || r.err == nil || !strings.Contains(r.err.Error(), tt.want) {
			t.Errorf("sluice %s: exit %d, error %v; want usage error with %q", strings.Join(tt.args, " "),
				r.exitCode(), r.err, tt.want)
		}
	}
}

func TestTechDocsLocalize(t *testing.T) {
	fixtures := filepath.Join("..", "..", "mirrors", "techdocs", "testdata")
	site := t.TempDir()
	if err := os.CopyFS(site, os.DirFS(filepath.Join(fixtures, "site"))); err != nil {
		t.Fatal(err)
	}
	r := mustSluice(t, "techdocs", "localize", site, "--mirror", filepath.Join(fixtures, "mirror"))
	if !strings.HasPrefix(r.stdout, "localized ") || strings.Contains(r.stdout, "not localized") {
		t.Errorf("output:\n%s", r.stdout)
	}
	other := t.TempDir()
	if err := os.CopyFS(other, os.DirFS(filepath.Join(fixtures, "site"))); err != nil {
		t.Fatal(err)
	}
	empty := t.TempDir()
	r = sluice(t, "techdocs", "localize", other, "--mirror", empty)
	if r.exitCode() != exitOffenders || !strings.Contains(r.stdout, "not localized:") {
		t.Errorf("empty mirror: exit %d, output:\n%s", r.exitCode(), r.stdout)
	}
}
