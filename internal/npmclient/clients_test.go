package npmclient_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluice-dev/sluice/internal/npmclient"
	"github.com/sluice-dev/sluice/internal/npmfixture"
)

// clientApps are the recorded apps whose lockfile each client installs
// from: the same package.json, locked by that client.
var clientApps = []struct {
	client   npmclient.Client
	app      string
	lockfile string
}{
	{npmclient.YarnClassic, "small", "yarn.lock"},
	{npmclient.YarnBerry, "small-berry", "yarn.lock"},
	{npmclient.PNPM, "small-pnpm", "pnpm-lock.yaml"},
	{npmclient.PNPM8, "small-pnpm6", "pnpm-lock.yaml"},
}

// copyClientApp copies the app and writes the yarn berry project settings
// that install into node_modules, as a project would commit them.
func copyClientApp(t *testing.T, client npmclient.Client, name string) string {
	t.Helper()
	app := npmfixture.CopyApp(t, name)
	if client == npmclient.YarnBerry {
		err := os.WriteFile(filepath.Join(app, ".yarnrc.yml"), []byte("nodeLinker: node-modules\n"), 0o644)
		if err != nil {
			t.Fatal(err)
		}
	}
	return app
}

// TestInstallFromLoopback installs each recorded lockfile with its client
// from the loopback registry alone. The yarn classic lockfile names
// registry.npmjs.org, so it is pointed at the loopback registry first; the
// yarn berry and pnpm lockfiles name no registry.
func TestInstallFromLoopback(t *testing.T) {
	for _, tt := range clientApps {
		t.Run(string(tt.client), func(t *testing.T) {
			reg := npmfixture.New(t)
			app := copyClientApp(t, tt.client, tt.app)
			if tt.client == npmclient.YarnClassic {
				pointLockfileAt(t, app, "yarn.lock", reg.URL)
			}
			before, err := os.ReadFile(filepath.Join(app, tt.lockfile))
			if err != nil {
				t.Fatal(err)
			}

			output, err := npmclient.Install(t, tt.client, app, reg.URL)
			if err != nil {
				t.Fatalf("install: %v\n%s", err, output)
			}
			// Only direct dependencies: pnpm links the others under
			// node_modules/.pnpm alone.
			want := map[string]string{
				"lodash": "4.17.21", "chalk": "4.1.2", "debug": "4.3.4",
				"chokidar": "3.5.3", "minimist": "1.2.6",
			}
			for name, version := range want {
				if got := installedVersion(t, app, name); got != version {
					t.Errorf("node_modules/%s version = %q, want %s", name, got, version)
				}
			}
			if got := reg.TarballRequests(); got < 20 {
				t.Errorf("%d tarballs fetched from the loopback registry, want at least 20", got)
			}
			after, _ := os.ReadFile(filepath.Join(app, tt.lockfile))
			if string(after) != string(before) {
				t.Errorf("the install changed %s", tt.lockfile)
			}
		})
	}
}

// TestInstallBlocksPublicRegistry proves the isolation of each client: a
// registry on a public host must fail as egress, with no tarball taken
// from the loopback registry.
func TestInstallBlocksPublicRegistry(t *testing.T) {
	for _, tt := range clientApps {
		t.Run(string(tt.client), func(t *testing.T) {
			reg := npmfixture.New(t)
			app := copyClientApp(t, tt.client, tt.app)
			registry := "https://registry.npmjs.org"
			if tt.client == npmclient.YarnClassic {
				// yarn classic fetches the lockfile's URLs, which name
				// registry.npmjs.org, whatever the registry setting.
				registry = reg.URL
			}

			output, err := npmclient.Install(t, tt.client, app, registry)
			if err == nil {
				t.Fatalf("install succeeded with a public registry; output:\n%s", output)
			}
			if !errors.Is(err, npmclient.ErrEgress) {
				t.Errorf("error = %v, want ErrEgress\n%s", err, output)
			}
			if !strings.Contains(err.Error(), "registry.npmjs.org") {
				t.Errorf("error %q does not name registry.npmjs.org", err)
			}
			if got := reg.TarballRequests(); got != 0 {
				t.Errorf("%d tarballs fetched from the loopback registry, want 0", got)
			}
			if installedVersion(t, app, "lodash") != "" {
				t.Errorf("lodash installed although every fetch was blocked")
			}
		})
	}
}
