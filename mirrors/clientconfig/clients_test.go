package clientconfig

import (
	"cmp"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// toolsDir is where make tools installs the JavaScript tools tests run;
// SLUICE_TOOLS_NODE_MODULES points the tests at another installation. It
// is absolute because the clients run in other working directories.
var toolsDir = absolute(cmp.Or(os.Getenv("SLUICE_TOOLS_NODE_MODULES"),
	filepath.Join("..", "..", "tools", "node_modules")))

func absolute(path string) string {
	if abs, err := filepath.Abs(path); err == nil {
		return abs
	}
	return path
}

// yarnCandidates lists where an installed yarn 1 or yarn 4 can be: the
// bin links and the packages' own entry points, since both packages
// install a bin named yarn and only one link wins.
func yarnCandidates() []string {
	paths := []string{
		filepath.Join(toolsDir, ".bin", "yarn"),
		filepath.Join(toolsDir, ".bin", "yarnpkg"),
		filepath.Join(toolsDir, "yarn", "bin", "yarn.js"),
		filepath.Join(toolsDir, "@yarnpkg", "cli-dist", "bin", "yarn.js"),
	}
	more, _ := filepath.Glob(filepath.Join(toolsDir, "*", "bin", "yarn.js"))
	return append(paths, more...)
}

// findYarn returns the command line of the first yarn whose major version
// matches, or skips the test.
func findYarn(t *testing.T, classic bool) []string {
	t.Helper()
	for _, path := range yarnCandidates() {
		if _, err := os.Stat(path); err != nil {
			continue
		}
		cmd := []string{path}
		if strings.HasSuffix(path, ".js") {
			cmd = []string{"node", path}
		}
		out, err := exec.Command(cmd[0], append(cmd[1:], "--version")...).Output()
		if err != nil {
			continue
		}
		if strings.HasPrefix(string(out), "1.") == classic {
			return cmd
		}
	}
	name := "yarn 2 or later (@yarnpkg/cli-dist)"
	if classic {
		name = "yarn 1 (yarn)"
	}
	t.Skipf("%s is not installed under %s: run make tools with a tools/package.json that lists it", name, toolsDir)
	return nil
}

// clientEnv is a minimal environment for a client run in dir: its own
// home, so no user configuration is read, no update checks, and a closed
// proxy for every host but loopback.
func clientEnv(t *testing.T, dir string) []string {
	t.Helper()
	home := filepath.Join(dir, "home")
	if err := os.MkdirAll(home, 0o755); err != nil {
		t.Fatal(err)
	}
	// npm, unlike Go clients, sends loopback requests through the proxy
	// too unless NO_PROXY names loopback.
	return append(loopbackOnlyEnv(), "NO_PROXY=127.0.0.1,localhost", "HOME="+home,
		"NPM_TOKEN=secret-token", "YARN_ENABLE_TELEMETRY=0", "COREPACK_ENABLE_STRICT=0",
		"npm_config_update_notifier=false")
}

// projectWith generates the client files for e into a new project folder
// and returns it.
func projectWith(t *testing.T, e Endpoints) string {
	t.Helper()
	dir := t.TempDir()
	files, err := Generate(e)
	if err != nil {
		t.Fatal(err)
	}
	if err := Write(dir, files); err != nil {
		t.Fatal(err)
	}
	pkg := `{"name": "app", "version": "1.0.0", "private": true, "license": "UNLICENSED"}`
	if err := os.WriteFile(filepath.Join(dir, "package.json"), []byte(pkg), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// run runs a client in dir and returns its standard output.
func run(t *testing.T, dir string, cmd []string, args ...string) string {
	t.Helper()
	c := exec.Command(cmd[0], append(cmd[1:], args...)...)
	c.Dir = dir
	c.Env = clientEnv(t, dir)
	out, err := c.Output()
	if err != nil {
		var stderr string
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("%s %s: %v\n%s%s", strings.Join(cmd, " "), strings.Join(args, " "), err, out, stderr)
	}
	return strings.TrimSpace(string(out))
}

// writeCA writes a self-signed CA certificate, which npm loads when the
// configuration names it.
func writeCA(t *testing.T) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Sluice test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true,
		BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func httpsEndpoints(t *testing.T) Endpoints {
	return Endpoints{
		NPM:      "https://npm.internal/",
		Scopes:   []Scope{{"@acme", "https://tools.internal:8443/npm/"}},
		TokenEnv: "NPM_TOKEN",
		CAFile:   writeCA(t),
	}
}

func TestNpmReadsNpmrc(t *testing.T) {
	if _, err := exec.LookPath("npm"); err != nil {
		t.Skip("npm is not installed")
	}
	e := httpsEndpoints(t)
	dir := projectWith(t, e)
	var config map[string]any
	if err := json.Unmarshal([]byte(run(t, dir, []string{"npm"}, "config", "list", "--json")), &config); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"registry":       "https://npm.internal/",
		"@acme:registry": "https://tools.internal:8443/npm/",
		"cafile":         e.CAFile,
		"strict-ssl":     true,
		"audit":          false,
	}
	for key, value := range want {
		if config[key] != value {
			t.Errorf("npm config %s = %v, want %v", key, config[key], value)
		}
	}
	list := run(t, dir, []string{"npm"}, "config", "list")
	for _, key := range []string{"//npm.internal/:_authToken", "//tools.internal:8443/npm/:_authToken"} {
		if !strings.Contains(list, key+" = (protected)") {
			t.Errorf("npm config list shows no %s:\n%s", key, list)
		}
	}
}

// tokenRecorder is a registry on loopback that returns 404 for every
// request and records the Authorization headers it was sent.
func tokenRecorder(t *testing.T) (*httptest.Server, func() []string) {
	t.Helper()
	var mu sync.Mutex
	var seen []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Method+" "+r.URL.Path+" "+r.Header.Get("Authorization"))
		mu.Unlock()
		http.NotFound(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(seen)
	}
}

// checkTokenSent runs a client's package look-up against a recording
// registry and checks that it sent the token from the environment.
func checkTokenSent(t *testing.T, cmd []string, args ...string) {
	t.Helper()
	srv, seen := tokenRecorder(t)
	dir := projectWith(t, Endpoints{NPM: srv.URL + "/", Scopes: []Scope{{"@acme", srv.URL + "/acme/"}},
		TokenEnv: "NPM_TOKEN"})
	c := exec.Command(cmd[0], append(cmd[1:], args...)...)
	c.Dir = dir
	c.Env = clientEnv(t, dir)
	out, _ := c.CombinedOutput() // the registry returns 404, so the client fails
	requests := seen()
	if len(requests) == 0 {
		t.Fatalf("%s sent no request to the mirror:\n%s", strings.Join(cmd, " "), out)
	}
	for _, r := range requests {
		if !strings.HasSuffix(r, " Bearer secret-token") {
			t.Errorf("request %q lacks the token from NPM_TOKEN", r)
		}
	}
}

func TestNpmSendsToken(t *testing.T) {
	if _, err := exec.LookPath("npm"); err != nil {
		t.Skip("npm is not installed")
	}
	checkTokenSent(t, []string{"npm"}, "view", "left-pad", "version")
	checkTokenSent(t, []string{"npm"}, "view", "@acme/ui", "version")
}

func TestPnpmReadsNpmrc(t *testing.T) {
	pnpm := filepath.Join(toolsDir, ".bin", "pnpm")
	if _, err := os.Stat(pnpm); err != nil {
		t.Skipf("pnpm is not installed under %s: run make tools with a tools/package.json that lists it", toolsDir)
	}
	dir := projectWith(t, httpsEndpoints(t))
	for key, want := range map[string]string{
		"registry":       "https://npm.internal/",
		"@acme:registry": "https://tools.internal:8443/npm/",
	} {
		if got := run(t, dir, []string{pnpm}, "config", "get", key); got != want {
			t.Errorf("pnpm config get %s = %q, want %q", key, got, want)
		}
	}
	checkTokenSent(t, []string{pnpm}, "view", "left-pad", "version")
	checkTokenSent(t, []string{pnpm}, "view", "@acme/ui", "version")
}

func TestYarnClassicReadsYarnrc(t *testing.T) {
	yarn := findYarn(t, true)
	dir := projectWith(t, httpsEndpoints(t))
	for key, want := range map[string]string{
		"registry":                  "https://npm.internal/",
		"@acme:registry":            "https://tools.internal:8443/npm/",
		"strict-ssl":                "true",
		"disable-self-update-check": "true",
	} {
		if got := run(t, dir, yarn, "config", "get", key); got != want {
			t.Errorf("yarn 1 config get %s = %q, want %q", key, got, want)
		}
	}
	checkTokenSent(t, yarn, "info", "left-pad", "version")
	checkTokenSent(t, yarn, "info", "@acme/ui", "version")
}

func TestYarnBerryReadsYarnrcYml(t *testing.T) {
	yarn := findYarn(t, false)
	tests := []struct {
		name      string
		endpoints Endpoints
		want      map[string]string
	}{
		{"https", httpsEndpoints(t), map[string]string{
			"npmRegistryServer": `"https://npm.internal"`,
			"npmAlwaysAuth":     "true",
			"enableTelemetry":   "false",
		}},
		{"plain http", Endpoints{NPM: "http://verdaccio.internal:4873/"}, map[string]string{
			"npmRegistryServer":   `"http://verdaccio.internal:4873"`,
			"unsafeHttpWhitelist": `["verdaccio.internal"]`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := projectWith(t, tt.endpoints)
			for key, want := range tt.want {
				if got := run(t, dir, yarn, "config", "get", key, "--json"); got != want {
					t.Errorf("yarn config get %s = %s, want %s", key, got, want)
				}
			}
		})
	}
	dir := projectWith(t, httpsEndpoints(t))
	var scopes map[string]map[string]any
	if err := json.Unmarshal([]byte(run(t, dir, yarn, "config", "get", "npmScopes", "--json")), &scopes); err != nil {
		t.Fatal(err)
	}
	if got := scopes["acme"]["npmRegistryServer"]; got != "https://tools.internal:8443/npm" {
		t.Errorf("scope acme registry = %v, want https://tools.internal:8443/npm", got)
	}
	checkTokenSent(t, yarn, "npm", "info", "left-pad")
	checkTokenSent(t, yarn, "npm", "info", "@acme/ui")
}
