package provision

import (
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/internal/npmclient"
	"github.com/sluice-dev/sluice/internal/npmfixture"
	"github.com/sluice-dev/sluice/internal/verdacciotest"
)

// startVerdaccio runs Verdaccio with the configuration provisioning
// generated, on a free loopback port, and returns its URL.
func startVerdaccio(t *testing.T, f *fixture) string {
	t.Helper()
	binary, err := verdacciotest.Binary()
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	f.d.NPM.Verdaccio.Listen = addr
	f.d.NPM.URL = "http://" + addr + "/"
	f.d.NPM.CAFile = ""
	f.d.NPM.Verdaccio.Storage = filepath.Join(t.TempDir(), "storage")
	f.apply(t)

	config := filepath.Join(f.d.OutputDir(), filepath.FromSlash(VerdaccioConfig))
	log, err := os.Create(filepath.Join(t.TempDir(), "verdaccio.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(binary, "--config", config)
	cmd.Stdout, cmd.Stderr = log, log
	cmd.Env = append(os.Environ(), "VERDACCIO_APPDIR="+t.TempDir())
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
		log.Close()
		if t.Failed() {
			data, _ := os.ReadFile(log.Name())
			t.Logf("verdaccio log:\n%s", data)
		}
	})
	base := "http://" + addr
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(base + "/-/ping")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return base
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("verdaccio did not answer /-/ping within 60 s: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// login returns the token of an account and the status, no token when
// Verdaccio rejects the login.
func login(t *testing.T, base, user, password string) (string, int) {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"name": user, "password": password})
	req, _ := http.NewRequest(http.MethodPut, base+"/-/user/org.couchdb.user:"+url.PathEscape(user),
		bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	// Verdaccio logs an existing account in only when the request carries
	// its credentials; without them it tries to create the account.
	req.SetBasicAuth(user, password)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct{ Token string }
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return out.Token, resp.StatusCode
}

// publish sends a publish request for name@1.0.0 and returns the status.
func publish(t *testing.T, base, token, name string) int {
	t.Helper()
	manifest := map[string]any{"name": name, "version": "1.0.0"}
	tgz, err := npmfixture.BuildTarball(manifest, map[string][]byte{"index.js": []byte("module.exports = 1\n")})
	if err != nil {
		t.Fatal(err)
	}
	sum := sha1.Sum(tgz)
	file := filepath.Base(name) + "-1.0.0.tgz"
	version := map[string]any{"name": name, "version": "1.0.0", "dist": map[string]string{
		"shasum": hex.EncodeToString(sum[:]), "tarball": base + "/" + name + "/-/" + file}}
	doc := map[string]any{"name": name, "versions": map[string]any{"1.0.0": version},
		"dist-tags": map[string]string{"latest": "1.0.0"},
		"_attachments": map[string]any{file: map[string]any{"content_type": "application/octet-stream",
			"data": base64.StdEncoding.EncodeToString(tgz), "length": len(tgz)}}}
	body, _ := json.Marshal(doc)
	return send(t, http.MethodPut, base+"/"+url.PathEscape(name), token, body)
}

func send(t *testing.T, method, target, token string, body []byte) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, method, target, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestVerdaccioRules(t *testing.T) {
	f := newFixture(t)
	base := startVerdaccio(t, f)
	tokens := loginAll(t, f, base)
	if _, status := login(t, base, "newcomer", "newcomer-password"); status < 400 {
		t.Errorf("sign-up of a new account: status %d, want it rejected", status)
	}
	if _, status := login(t, base, "sluice", "wrong-password"); status < 400 {
		t.Errorf("login with a wrong password: status %d, want it rejected", status)
	}

	publishes := []struct {
		account, name string
		ok            bool
	}{
		{"", "@payments/ledger", false},
		{"", "left-pad", false},
		{"ci-payments", "@payments/ledger", false},
		{"ci-web", "left-pad", false},
		{"sluice", "@payments/ledger", true},
		{"sluice", "@web/button", true},
		{"sluice", "left-pad", true},
	}
	for _, p := range publishes {
		status := publish(t, base, tokens[p.account], p.name)
		if ok := status == http.StatusCreated || status == http.StatusOK; ok != p.ok {
			t.Errorf("publish %s as %q: status %d, want allowed=%v", p.name, p.account, status, p.ok)
		}
	}

	reads := []struct {
		account, name string
		ok            bool
	}{
		{"", "@payments/ledger", false},
		{"", "left-pad", false},
		{"ci-web", "@payments/ledger", false},
		{"ci-payments", "@payments/ledger", true},
		{"sluice", "@payments/ledger", true},
		{"ci-web", "@web/button", true},
		{"ci-payments", "@web/button", true},
		{"ci-web", "left-pad", true},
	}
	for _, r := range reads {
		status := send(t, http.MethodGet, base+"/"+url.PathEscape(r.name), tokens[r.account], nil)
		if ok := status == http.StatusOK; ok != r.ok {
			t.Errorf("read %s as %q: status %d, want allowed=%v", r.name, r.account, status, r.ok)
		}
	}
}

// loginAll logs every declared account in and returns their tokens.
func loginAll(t *testing.T, f *fixture, base string) map[string]string {
	t.Helper()
	tokens := map[string]string{}
	for _, a := range f.d.NPM.Verdaccio.Accounts {
		token, status := login(t, base, a.Name, passwords[a.PasswordEnv])
		if token == "" {
			t.Fatalf("login as %s: status %d, no token", a.Name, status)
		}
		tokens[a.Name] = token
	}
	return tokens
}

// TestNpmUsesGeneratedNpmrc runs the real npm in a project that has only
// the generated .npmrc, against Verdaccio with the generated config: the
// token from $NPM_TOKEN reaches Verdaccio, so a team's reader sees the
// team's package and another team's reader does not.
func TestNpmUsesGeneratedNpmrc(t *testing.T) {
	if _, err := exec.LookPath("npm"); err != nil {
		t.Fatalf("npm is not installed: %v", err)
	}
	f := newFixture(t)
	base := startVerdaccio(t, f)
	tokens := loginAll(t, f, base)
	if status := publish(t, base, tokens["sluice"], "@payments/ledger"); status != http.StatusCreated {
		t.Fatalf("publish as sluice: status %d", status)
	}
	project := t.TempDir()
	npmrc, err := os.ReadFile(filepath.Join(f.d.OutputDir(), "clients", ".npmrc"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(project, ".npmrc"), npmrc, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(project, "package.json"), []byte(`{"name":"app","version":"1.0.0"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	view := []string{"view", "@payments/ledger", "version"}

	t.Setenv("NPM_TOKEN", tokens["ci-payments"])
	out, err := npmclient.Run(t, project, base, view)
	if err != nil || !strings.Contains(out, "1.0.0") {
		t.Errorf("npm view as ci-payments: %v\n%s", err, out)
	}

	t.Setenv("NPM_TOKEN", tokens["ci-web"])
	if out, err := npmclient.Run(t, project, base, view); err == nil {
		t.Errorf("npm view as ci-web succeeded:\n%s", out)
	}
}
