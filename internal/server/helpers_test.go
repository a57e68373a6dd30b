package server

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/sluice-dev/sluice/internal/grypetest"
	"github.com/sluice-dev/sluice/internal/npmfixture"
	"github.com/sluice-dev/sluice/scanners"
)

const (
	testIssuer   = "https://idp.example.internal/realms/bank"
	testAudience = "sluice"
	agentToken   = "build-agent-token-0123456789"
	testManifest = "tools"
	pluginName   = "@backstage/plugin-sluice-demo"
)

// testIdP signs OIDC tokens with a key whose public half is in the
// server's JWKS file, like an offline export from Keycloak.
type testIdP struct {
	key      *rsa.PrivateKey
	jwksFile string
}

func newTestIdP(t *testing.T, dir string) *testIdP {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	set := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &key.PublicKey, KeyID: "k1",
		Algorithm: string(jose.RS256), Use: "sig"}}}
	data, err := json.Marshal(set)
	if err != nil {
		t.Fatal(err)
	}
	idp := &testIdP{key: key, jwksFile: filepath.Join(dir, "jwks.json")}
	if err := os.WriteFile(idp.jwksFile, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return idp
}

// signJWT signs claims with key as an RS256 JWT.
func signJWT(t testing.TB, key *rsa.PrivateKey, kid string, claims map[string]any) string {
	t.Helper()
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256,
		Key: jose.JSONWebKey{Key: key, KeyID: kid}}, (&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		t.Fatal(err)
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	obj, err := signer.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	token, err := obj.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return token
}

// claims returns valid claims for user with the IdP groups.
func claims(user string, groups ...string) map[string]any {
	now := time.Now()
	return map[string]any{"iss": testIssuer, "aud": testAudience, "sub": "id-" + user,
		"preferred_username": user, "groups": groups, "iat": now.Unix(), "exp": now.Add(time.Hour).Unix()}
}

// people maps test users to their IdP groups. bob is a team lead in the
// policy and also requests artifacts, which separation of duties tests.
var people = map[string][]string{
	"rita":   {"sluice-requesters"},
	"bob":    {"sluice-requesters", "sluice-approvers"},
	"alice":  {"sluice-approvers"},
	"carol":  {"sluice-security"},
	"audrey": {"sluice-auditors"},
	"adam":   {"sluice-admins"},
	"nobody": {"unrelated-group"},
}

func (idp *testIdP) token(t testing.TB, user string) string {
	return signJWT(t, idp.key, "k1", claims(user, people[user]...))
}

var (
	vulnDBOnce    sync.Once
	vulnDBArchive string
	vulnDBErr     error
)

// importVulnDB imports the demo grype database, built once per test
// binary, into a data directory.
func importVulnDB(t *testing.T, dataDir string) {
	t.Helper()
	vulnDBOnce.Do(func() {
		dir, err := os.MkdirTemp("", "sluice-server-vulndb-")
		if err != nil {
			vulnDBErr = err
			return
		}
		vulnDBArchive, vulnDBErr = grypetest.BuildArchive(dir, grypetest.Options{})
	})
	if vulnDBErr != nil {
		t.Fatalf("build vulnerability database: %v", vulnDBErr)
	}
	if _, err := scanners.NewVulnDBStore(filepath.Join(dataDir, "vulndb")).Import(vulnDBArchive,
		scanners.ImportOptions{AllowStale: true}); err != nil {
		t.Fatal(err)
	}
}

// addPlugin makes two versions of a Backstage plugin appear upstream.
// Both have an install script, so the example policy holds them for a
// team lead; 1.1.0 adds a dependency, which the dependency diff shows.
func addPlugin(upstream *npmfixture.Registry) {
	for _, v := range []struct {
		version string
		deps    map[string]string
	}{
		{"1.0.0", map[string]string{"ms": "^2.1.0"}},
		{"1.1.0", map[string]string{"ms": "^2.1.3", "debug": "^4.3.0"}},
	} {
		upstream.AddVersion(npmfixture.Package{Manifest: map[string]any{
			"name": pluginName, "version": v.version, "license": "MIT", "dependencies": v.deps,
			"scripts": map[string]string{"postinstall": "node ./scripts/telemetry.js"}},
			Files: map[string][]byte{"scripts/telemetry.js": []byte("console.log('hi')\n")}})
	}
}

const manifestYAML = `apiVersion: sluice.dev/v1
kind: Manifest
metadata:
  name: tools
  owner: team-platform
  dataClass: internal
spec:
  npm:
    dependencies: {optional: false, peer: false}
    packages:
      - lodash@4.17.20
      - minimist@1.2.5
      - "@backstage/plugin-sluice-demo@1.0.0"
      - "@backstage/plugin-sluice-demo@1.1.0"
`

// fixture is a server on loopback with a recorded npm upstream, the demo
// vulnerability database, the example bank policy and a test IdP.
type fixture struct {
	t        *testing.T
	srv      *Server
	url      string
	idp      *testIdP
	cfg      *Config
	upstream *npmfixture.Registry
}

type fixtureOptions struct {
	mirror, mirrorToken string
	// upstream replaces the default recorded upstream with the demo plugin.
	upstream *npmfixture.Registry
	// policy replaces the example bank policy.
	policy string
	edit   func(*Config)
}

func newFixture(t *testing.T, opts fixtureOptions) *fixture {
	t.Helper()
	dir := t.TempDir()
	upstream := opts.upstream
	if upstream == nil {
		upstream = npmfixture.New(t)
		addPlugin(upstream)
	}
	idp := newTestIdP(t, dir)
	mdir := filepath.Join(dir, "manifests")
	if err := os.MkdirAll(mdir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(mdir, "tools.yaml"), []byte(manifestYAML), 0o644); err != nil {
		t.Fatal(err)
	}
	if opts.policy == "" {
		opts.policy = "../../examples/policies/bank.yaml"
	}
	policy, err := filepath.Abs(opts.policy)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(agentToken))
	cfg := &Config{Listen: "127.0.0.1:0", DataDir: filepath.Join(dir, "data"), Manifests: []string{mdir},
		Policy: policy, Scan: true, NPM: NPMSettings{Upstream: upstream.URL, Mirror: opts.mirror, Retries: 1},
		OIDC: &OIDCConfig{Issuer: testIssuer, Audience: testAudience, JWKSFile: idp.jwksFile,
			RoleMap: map[string]Role{"sluice-requesters": RoleRequester, "sluice-approvers": RoleApprover,
				"sluice-security": RoleSecurity, "sluice-auditors": RoleAuditor, "sluice-admins": RoleAdmin}},
		Tokens:        []StaticToken{{Name: "build-agent", SHA256: hex.EncodeToString(sum[:]), Roles: []Role{RoleRequester}}},
		ShutdownGrace: 20 * time.Second}
	if opts.edit != nil {
		opts.edit(cfg)
	}
	if err := cfg.check(); err != nil {
		t.Fatal(err)
	}
	importVulnDB(t, cfg.DataDir)
	if opts.mirrorToken != "" {
		t.Setenv("SLUICE_NPM_MIRROR_TOKEN", opts.mirrorToken)
	}
	f := startServer(t, cfg)
	f.idp, f.upstream = idp, upstream
	return f
}

// startServer starts a server on cfg with its handler on loopback, and
// closes both when the test ends.
func startServer(t *testing.T, cfg *Config) *fixture {
	t.Helper()
	srv, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(func() {
		hs.Close()
		if err := srv.Close(); err != nil {
			t.Errorf("close server: %v", err)
		}
	})
	return &fixture{t: t, srv: srv, url: hs.URL, cfg: cfg}
}

// call sends a request with an optional bearer token and JSON body and
// returns the status and body. It checks the response against the
// OpenAPI document for API paths.
func (f *fixture) call(method, path, token string, body any) (int, []byte) {
	f.t.Helper()
	var rd io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			f.t.Fatal(err)
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, f.url+path, rd)
	if err != nil {
		f.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		f.t.Fatal(err)
	}
	if resp.Header.Get("X-Request-Id") == "" {
		f.t.Errorf("%s %s: no X-Request-Id in the response", method, path)
	}
	validateResponse(f.t, req, resp, data)
	return resp.StatusCode, data
}

// mustCall calls and fails the test unless the status is want; it
// decodes a JSON body into out when out is not nil.
func (f *fixture) mustCall(want int, method, path, token string, body, out any) {
	f.t.Helper()
	status, data := f.call(method, path, token, body)
	if status != want {
		f.t.Fatalf("%s %s = %d, want %d: %s", method, path, status, want, data)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			f.t.Fatalf("%s %s: decode %s: %v", method, path, data, err)
		}
	}
}

// waitRun polls a run until it ends.
func (f *fixture) waitRun(id string) *Run {
	f.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	for {
		r, err := f.srv.runs.get(id)
		if err != nil {
			f.t.Fatal(err)
		}
		if r.Status != RunQueued && r.Status != RunRunning {
			return r
		}
		select {
		case <-ctx.Done():
			f.t.Fatalf("run %s still %s", id, r.Status)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// sync triggers a run of the test manifest as user and waits for it.
func (f *fixture) sync(token string) *Run {
	f.t.Helper()
	var run Run
	f.mustCall(http.StatusAccepted, "POST", "/api/v1/runs", token, map[string][]string{"manifests": {testManifest}}, &run)
	return f.waitRun(run.ID)
}

// apiError decodes an error body.
func decodeError(t *testing.T, data []byte) apiError {
	t.Helper()
	var e struct {
		Error apiError `json:"error"`
	}
	if err := json.Unmarshal(data, &e); err != nil || e.Error.Code == "" {
		t.Fatalf("not an error document: %s", data)
	}
	return e.Error
}
