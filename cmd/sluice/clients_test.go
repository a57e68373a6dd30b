package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestClientsGenerate(t *testing.T) {
	out := t.TempDir()
	r := mustSluice(t, "clients", "generate", "--npm-mirror", "https://npm.internal/",
		"--scope", "@acme=https://npm.internal/acme/", "--oci-mirror", "harbor.internal",
		"--upstream", "docker.io", "--upstream", "ghcr.io=github", "--out", out)
	for _, path := range []string{".npmrc", ".yarnrc.yml", ".yarnrc", "certs.d/docker.io/hosts.toml",
		"certs.d/ghcr.io/hosts.toml", "registries.conf"} {
		full := filepath.Join(out, path)
		if !strings.Contains(r.stdout, full) {
			t.Errorf("output does not list %s:\n%s", full, r.stdout)
		}
		if _, err := os.Stat(full); err != nil {
			t.Error(err)
		}
	}
	conf, err := os.ReadFile(filepath.Join(out, "registries.conf"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(conf), `location = "harbor.internal/github"`) {
		t.Errorf("registries.conf does not send ghcr.io to the github project:\n%s", conf)
	}
}

func TestClientsGenerateUsage(t *testing.T) {
	tests := [][]string{
		{"clients", "generate", "--npm-mirror", "https://npm.internal/"},
		{"clients", "generate", "--out", "x"},
		{"clients", "generate", "--npm-mirror", "https://n/", "--scope", "@acme", "--out", "x"},
		{"clients", "generate", "--upstream", "docker.io", "--npm-mirror", "https://n/", "--out", "x"},
	}
	for _, args := range tests {
		t.Setenv("SLUICE_NPM_MIRROR", "")
		t.Setenv("SLUICE_OCI_MIRROR", "")
		r := sluice(t, args...)
		if r.exitCode() != exitUsage {
			t.Errorf("sluice %s: exit %d (%v), want %d", strings.Join(args, " "), r.exitCode(), r.err, exitUsage)
		}
	}
}
