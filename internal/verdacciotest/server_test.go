package verdacciotest_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/sluice-dev/sluice/internal/npmfixture"
	"github.com/sluice-dev/sluice/internal/verdacciotest"
)

// do sends a request with an optional bearer token and returns the status
// and body. A transport error is returned, not fatal, so that a test can
// expect one from a stopped server.
func do(method, rawURL, token string, body []byte) (int, []byte, error) {
	req, err := http.NewRequest(method, rawURL, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	reply, err := io.ReadAll(resp.Body)
	return resp.StatusCode, reply, err
}

// publishDocument builds the body of npm publish (PUT /<name>) for a
// recorded version, with the tarball attached.
func publishDocument(t *testing.T, registryURL, name, version string) ([]byte, []byte) {
	t.Helper()
	files := npmfixture.Recorded()
	data, err := fs.ReadFile(files, name+"/packument.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Versions map[string]map[string]any `json:"versions"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	meta := doc.Versions[version]
	dist := meta["dist"].(map[string]any)
	file := path.Base(dist["tarball"].(string))
	tarball, err := fs.ReadFile(files, name+"/-/"+file)
	if err != nil {
		t.Fatal(err)
	}

	dist["tarball"] = registryURL + "/" + name + "/-/" + file
	body, err := json.Marshal(map[string]any{
		"_id":       name,
		"name":      name,
		"dist-tags": map[string]string{"latest": version},
		"versions":  map[string]any{version: meta},
		"_attachments": map[string]any{file: map[string]any{
			"content_type": "application/octet-stream",
			"data":         base64.StdEncoding.EncodeToString(tarball),
			"length":       len(tarball),
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return body, tarball
}

func whoami(t *testing.T, server *verdacciotest.Server, token string) string {
	t.Helper()
	status, body, err := do(http.MethodGet, server.URL+"/-/whoami", token, nil)
	if err != nil || status != http.StatusOK {
		return ""
	}
	var reply struct {
		Username string `json:"username"`
	}
	_ = json.Unmarshal(body, &reply)
	return reply.Username
}

func TestStartCreatesPublishUser(t *testing.T) {
	server := verdacciotest.Start(t)
	if !strings.HasPrefix(server.URL, "http://127.0.0.1:") {
		t.Errorf("URL = %s, want http://127.0.0.1:<port>", server.URL)
	}
	if server.Token == "" {
		t.Fatal("no token for the publish user")
	}
	if got := whoami(t, server, server.Token); got != server.User {
		t.Errorf("whoami with token = %q, want %q", got, server.User)
	}
	if got := whoami(t, server, ""); got != "" {
		t.Errorf("whoami without token = %q, want no user", got)
	}
	if !strings.Contains(server.Npmrc(), ":_authToken="+server.Token) {
		t.Errorf("Npmrc() = %q lacks the token", server.Npmrc())
	}
}

func TestConfigHasNoUplinks(t *testing.T) {
	server := verdacciotest.Start(t)
	data, err := os.ReadFile(filepath.Join(server.Dir, "config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		Uplinks  map[string]any            `yaml:"uplinks"`
		Listen   string                    `yaml:"listen"`
		Packages map[string]map[string]any `yaml:"packages"`
	}
	if err := yaml.Unmarshal(data, &cfg); err != nil {
		t.Fatal(err)
	}
	if len(cfg.Uplinks) != 0 {
		t.Errorf("uplinks = %v, want none", cfg.Uplinks)
	}
	if !strings.HasPrefix(cfg.Listen, "127.0.0.1:") {
		t.Errorf("listen = %q, want 127.0.0.1:<port>", cfg.Listen)
	}
	for pattern, rule := range cfg.Packages {
		if _, ok := rule["proxy"]; ok {
			t.Errorf("packages %q proxies to %v", pattern, rule["proxy"])
		}
	}

	// With no uplink, a package Verdaccio does not hold is not found.
	status, _, err := do(http.MethodGet, server.URL+"/lodash", "", nil)
	if err != nil || status != http.StatusNotFound {
		t.Errorf("GET /lodash: status %d, error %v, want 404", status, err)
	}
}

func TestPublishRequiresAuthentication(t *testing.T) {
	server := verdacciotest.Start(t)
	body, _ := publishDocument(t, server.URL, "is-number", "7.0.0")
	status, reply, err := do(http.MethodPut, server.URL+"/is-number", "", body)
	if err != nil {
		t.Fatal(err)
	}
	if status != http.StatusUnauthorized && status != http.StatusForbidden {
		t.Errorf("anonymous publish: status %d (%s), want 401 or 403", status, reply)
	}
}

func TestPublishSurvivesRestart(t *testing.T) {
	server := verdacciotest.Start(t)
	name := "@types/ms"
	body, tarball := publishDocument(t, server.URL, name, "0.7.34")
	escaped := "/" + url.PathEscape(name)
	status, reply, err := do(http.MethodPut, server.URL+escaped, server.Token, body)
	if err != nil || status != http.StatusCreated {
		t.Fatalf("publish %s: status %d, error %v, body %s", name, status, err, reply)
	}
	firstPID := server.PID()

	if err := server.Stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}
	if server.PID() != 0 {
		t.Errorf("PID after Stop = %d, want 0", server.PID())
	}
	if _, _, err := do(http.MethodGet, server.URL+"/-/ping", "", nil); err == nil {
		t.Errorf("ping succeeded after Stop")
	}
	if err := server.Stop(); err != nil {
		t.Errorf("second Stop: %v", err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := server.Restart(ctx); err != nil {
		t.Fatalf("restart: %v", err)
	}
	if server.PID() == 0 || server.PID() == firstPID {
		t.Errorf("PID after Restart = %d, first run had %d", server.PID(), firstPID)
	}
	if got := whoami(t, server, server.Token); got != server.User {
		t.Errorf("token after restart: whoami = %q, want %q", got, server.User)
	}
	status, reply, err = do(http.MethodGet, server.URL+"/@types/ms/-/ms-0.7.34.tgz", "", nil)
	if err != nil || status != http.StatusOK {
		t.Fatalf("tarball after restart: status %d, error %v", status, err)
	}
	if !bytes.Equal(reply, tarball) {
		t.Errorf("tarball after restart differs from the published bytes")
	}
}

func TestLaunchReusesDirectory(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	first, err := verdacciotest.Launch(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := first.Stop(); err != nil {
		t.Fatal(err)
	}

	// The user exists in htpasswd now, so Launch must log in, not add it.
	second, err := verdacciotest.Launch(ctx, dir)
	if err != nil {
		t.Fatalf("second launch: %v", err)
	}
	defer second.Stop()
	if got := whoami(t, second, second.Token); got != second.User {
		t.Errorf("whoami after second launch = %q, want %q", got, second.User)
	}
}

func TestMissingBinaryIsAnError(t *testing.T) {
	t.Setenv(verdacciotest.BinaryEnv, filepath.Join(t.TempDir(), "no-verdaccio"))
	_, err := verdacciotest.Launch(context.Background(), t.TempDir())
	if !errors.Is(err, verdacciotest.ErrNotInstalled) {
		t.Errorf("Launch error = %v, want ErrNotInstalled", err)
	}
	if err != nil && !strings.Contains(err.Error(), "npm ci --prefix tools") {
		t.Errorf("error %q does not say how to install", err)
	}
}

func TestUplinkPullThrough(t *testing.T) {
	upstream := npmfixture.New(t)
	server := verdacciotest.Start(t, verdacciotest.WithUplink(upstream.URL))

	status, body, err := do(http.MethodGet, server.URL+"/ms", "", nil)
	if err != nil || status != http.StatusOK {
		t.Fatalf("GET /ms through verdaccio: status %d, error %v", status, err)
	}
	var doc struct {
		Versions map[string]struct {
			Dist struct {
				Tarball string `json:"tarball"`
			} `json:"dist"`
		} `json:"versions"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatal(err)
	}
	tarballURL := doc.Versions["2.1.2"].Dist.Tarball
	if !strings.HasPrefix(tarballURL, server.URL+"/") {
		t.Errorf("tarball URL %s is not on verdaccio %s", tarballURL, server.URL)
	}
	status, tarball, err := do(http.MethodGet, tarballURL, "", nil)
	if err != nil || status != http.StatusOK {
		t.Fatalf("GET %s: status %d, error %v", tarballURL, status, err)
	}
	recorded, err := fs.ReadFile(npmfixture.Recorded(), "ms/-/ms-2.1.2.tgz")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(tarball, recorded) {
		t.Errorf("tarball through verdaccio differs from the recorded one")
	}
	if got := upstream.TarballRequests(); got != 1 {
		t.Errorf("upstream tarball requests = %d, want 1", got)
	}
}

func TestUplinkMustBeLoopback(t *testing.T) {
	tests := []string{
		"https://registry.npmjs.org",
		"http://10.0.0.1:4873",
		"ftp://127.0.0.1/",
	}
	for _, uplink := range tests {
		_, err := verdacciotest.Launch(context.Background(), t.TempDir(),
			verdacciotest.WithUplink(uplink))
		if err == nil {
			t.Errorf("Launch with uplink %s succeeded, want an error", uplink)
			continue
		}
		if !strings.Contains(err.Error(), "uplink") {
			t.Errorf("Launch with uplink %s: error %q does not name the uplink", uplink, err)
		}
	}
}
