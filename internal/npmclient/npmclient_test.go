package npmclient_test

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluice-dev/sluice/internal/npmclient"
	"github.com/sluice-dev/sluice/internal/npmfixture"
)

// pointLockfileAt rewrites every resolved URL of the app's lockfile (such
// as package-lock.json) from registry.npmjs.org to registryURL, as pinning
// for a mirror would.
func pointLockfileAt(t *testing.T, appDir, lockfile, registryURL string) {
	t.Helper()
	path := filepath.Join(appDir, lockfile)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	rewritten := strings.ReplaceAll(string(data), "https://registry.npmjs.org/", registryURL+"/")
	if rewritten == string(data) {
		t.Fatalf("%s has no registry.npmjs.org URL to rewrite", lockfile)
	}
	if err := os.WriteFile(path, []byte(rewritten), 0o644); err != nil {
		t.Fatal(err)
	}
}

func installedVersion(t *testing.T, appDir, name string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(appDir, "node_modules", name, "package.json"))
	if err != nil {
		return ""
	}
	var manifest struct {
		Version string `json:"version"`
	}
	if err := json.Unmarshal(data, &manifest); err != nil {
		t.Fatalf("%s/package.json: %v", name, err)
	}
	return manifest.Version
}

// TestCIBlocksPublicRegistry proves the isolation: the small app's lockfile
// as recorded resolves every tarball on registry.npmjs.org, so npm ci must
// fail even though the loopback registry holds every one of them. A plain
// HTTP host must be blocked the same way.
func TestCIBlocksPublicRegistry(t *testing.T) {
	tests := []struct {
		name      string
		rewriteTo string
		wantHost  string
	}{
		{"lockfile as recorded", "", "registry.npmjs.org:443"},
		{"plain http host", "http://mirror.example.test", "mirror.example.test"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg := npmfixture.New(t)
			app := npmfixture.CopyApp(t, "small")
			if tt.rewriteTo != "" {
				pointLockfileAt(t, app, "package-lock.json", tt.rewriteTo)
			}

			output, err := npmclient.CI(t, app, reg.URL)
			if err == nil {
				t.Fatalf("npm ci succeeded with resolved URLs off loopback; output:\n%s", output)
			}
			if !errors.Is(err, npmclient.ErrEgress) {
				t.Errorf("error = %v, want ErrEgress", err)
			}
			if !strings.Contains(err.Error(), tt.wantHost) {
				t.Errorf("error %q does not name %s", err, tt.wantHost)
			}
			if got := reg.TarballRequests(); got != 0 {
				t.Errorf("%d tarballs fetched from the loopback registry, want 0 "+
					"(npm must not replace the lockfile's registry host)", got)
			}
			if installedVersion(t, app, "lodash") != "" {
				t.Errorf("lodash installed although every fetch was blocked")
			}
		})
	}
}

// TestCIInstallsFromLoopback is the control for the isolation test: the same
// app with its lockfile pointed at the loopback registry installs.
func TestCIInstallsFromLoopback(t *testing.T) {
	reg := npmfixture.New(t)
	app := npmfixture.CopyApp(t, "small")
	pointLockfileAt(t, app, "package-lock.json", reg.URL)

	output, err := npmclient.CI(t, app, reg.URL)
	if err != nil {
		t.Fatalf("npm ci: %v\n%s", err, output)
	}
	want := map[string]string{
		"lodash": "4.17.21", "chalk": "4.1.2", "debug": "4.3.4", "ms": "2.1.2",
		"chokidar": "3.5.3", "minimist": "1.2.6", "is-number": "7.0.0",
	}
	for name, version := range want {
		if got := installedVersion(t, app, name); got != version {
			t.Errorf("node_modules/%s version = %q, want %s", name, got, version)
		}
	}
	if got := reg.TarballRequests(); got < 20 {
		t.Errorf("%d tarballs fetched from the loopback registry, want at least 20", got)
	}
}

func TestCIAuthToken(t *testing.T) {
	tests := []struct {
		name    string
		token   string
		wantErr bool
	}{
		{"with token", "s3cret", false},
		{"without token", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg := npmfixture.New(t, npmfixture.WithToken("s3cret"))
			app := npmfixture.CopyApp(t, "small")
			pointLockfileAt(t, app, "package-lock.json", reg.URL)
			var opts []npmclient.Option
			if tt.token != "" {
				opts = append(opts, npmclient.WithAuthToken(reg.URL, tt.token))
			}

			output, err := npmclient.CI(t, app, reg.URL, opts...)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("npm ci succeeded without a token")
				}
				if errors.Is(err, npmclient.ErrEgress) {
					t.Errorf("error = %v, want a plain failure without egress", err)
				}
				if !strings.Contains(output, "401") {
					t.Errorf("output does not mention 401:\n%s", output)
				}
				return
			}
			if err != nil {
				t.Fatalf("npm ci: %v\n%s", err, output)
			}
		})
	}
}
