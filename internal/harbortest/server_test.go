package harbortest_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/registry"

	"github.com/sluice-dev/sluice/internal/harbortest"
)

type exchange struct {
	name       string
	user, pwd  string
	method     string
	path       string // below /api/v2.0
	header     map[string]string
	body       string
	wantStatus int
	wantCode   string            // Harbor error code in the body
	wantHeader map[string]string // exact values
}

func send(t *testing.T, srv *harbortest.Server, x exchange) (*http.Response, []byte) {
	t.Helper()
	var body io.Reader
	if x.body != "" {
		body = strings.NewReader(x.body)
	}
	req, err := http.NewRequest(x.method, srv.URL+"/api/v2.0"+x.path, body)
	if err != nil {
		t.Fatal(err)
	}
	if x.user != "" {
		req.SetBasicAuth(x.user, x.pwd)
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range x.header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, data
}

// run sends the exchanges in order against one fake and checks each.
func run(t *testing.T, srv *harbortest.Server, exchanges []exchange) {
	t.Helper()
	for _, x := range exchanges {
		resp, data := send(t, srv, x)
		if resp.StatusCode != x.wantStatus {
			t.Errorf("%s: status %d, want %d (body %s)", x.name, resp.StatusCode, x.wantStatus, data)
			continue
		}
		if resp.Header.Get("X-Request-Id") == "" {
			t.Errorf("%s: no X-Request-Id header", x.name)
		}
		for k, v := range x.wantHeader {
			if got := resp.Header.Get(k); got != v {
				t.Errorf("%s: header %s = %q, want %q", x.name, k, got, v)
			}
		}
		if x.wantCode != "" {
			var body struct {
				Errors []struct{ Code, Message string } `json:"errors"`
			}
			if err := json.Unmarshal(data, &body); err != nil || len(body.Errors) != 1 ||
				body.Errors[0].Code != x.wantCode || body.Errors[0].Message == "" {
				t.Errorf("%s: body %s, want one error with code %s and a message", x.name, data, x.wantCode)
			}
		}
	}
}

const (
	admin = harbortest.AdminUser
	pwd   = harbortest.AdminPassword
)

func TestProjects(t *testing.T) {
	srv := harbortest.New(t, harbortest.WithUser("dev", "Dev12345", false))
	run(t, srv, []exchange{
		{name: "ping without credentials", method: "GET", path: "/ping", wantStatus: 200},
		{name: "create without credentials", method: "POST", path: "/projects", body: `{"project_name":"p"}`,
			wantStatus: 401, wantCode: "UNAUTHORIZED"},
		{name: "create as non-admin", user: "dev", pwd: "Dev12345", method: "POST", path: "/projects",
			body: `{"project_name":"p"}`, wantStatus: 403, wantCode: "FORBIDDEN"},
		{name: "unknown field", user: admin, pwd: pwd, method: "POST", path: "/projects",
			body: `{"project_name":"p","visibility":"private"}`, wantStatus: 400, wantCode: "BAD_REQUEST"},
		{name: "wrong type", user: admin, pwd: pwd, method: "POST", path: "/projects",
			body: `{"project_name":"p","metadata":{"public":true}}`, wantStatus: 400, wantCode: "BAD_REQUEST"},
		{name: "missing name", user: admin, pwd: pwd, method: "POST", path: "/projects",
			body: `{"metadata":{"public":"true"}}`, wantStatus: 400, wantCode: "BAD_REQUEST"},
		{name: "upper-case name", user: admin, pwd: pwd, method: "POST", path: "/projects",
			body: `{"project_name":"Mirror"}`, wantStatus: 400, wantCode: "BAD_REQUEST"},
		{name: "invalid boolean", user: admin, pwd: pwd, method: "POST", path: "/projects",
			body: `{"project_name":"p","metadata":{"auto_scan":"yes"}}`, wantStatus: 400, wantCode: "BAD_REQUEST"},
		{name: "invalid severity", user: admin, pwd: pwd, method: "POST", path: "/projects",
			body: `{"project_name":"p","metadata":{"severity":"urgent"}}`, wantStatus: 400, wantCode: "BAD_REQUEST"},
		{name: "create", user: admin, pwd: pwd, method: "POST", path: "/projects",
			body: `{"project_name":"p","metadata":{"public":"false","auto_scan":"true"}}`, wantStatus: 201,
			wantHeader: map[string]string{"Location": "/api/v2.0/projects/1"}},
		{name: "create again", user: admin, pwd: pwd, method: "POST", path: "/projects",
			body: `{"project_name":"p"}`, wantStatus: 409, wantCode: "CONFLICT"},
		{name: "head existing", user: admin, pwd: pwd, method: "HEAD", path: "/projects?project_name=p", wantStatus: 200},
		{name: "head missing", user: admin, pwd: pwd, method: "HEAD", path: "/projects?project_name=q", wantStatus: 404},
		{name: "get by name", user: admin, pwd: pwd, method: "GET", path: "/projects/p",
			header: map[string]string{"X-Is-Resource-Name": "true"}, wantStatus: 200},
		{name: "get by id", user: admin, pwd: pwd, method: "GET", path: "/projects/1", wantStatus: 200},
		{name: "get private as non-admin", user: "dev", pwd: "Dev12345", method: "GET", path: "/projects/p",
			wantStatus: 403, wantCode: "FORBIDDEN"},
		{name: "get with wrong password", user: admin, pwd: "wrong", method: "GET", path: "/projects/p",
			wantStatus: 401, wantCode: "UNAUTHORIZED"},
		{name: "update retention_id", user: admin, pwd: pwd, method: "PUT", path: "/projects/p",
			body: `{"metadata":{"retention_id":"9"}}`, wantStatus: 400, wantCode: "BAD_REQUEST"},
		{name: "update", user: admin, pwd: pwd, method: "PUT", path: "/projects/p",
			body: `{"metadata":{"public":"true"}}`, wantStatus: 200},
		{name: "get public as non-admin", user: "dev", pwd: "Dev12345", method: "GET", path: "/projects/p", wantStatus: 200},
		{name: "list", user: admin, pwd: pwd, method: "GET", path: "/projects?page=1&page_size=10", wantStatus: 200,
			wantHeader: map[string]string{"X-Total-Count": "1"}},
		{name: "page too large", user: admin, pwd: pwd, method: "GET", path: "/projects?page_size=101",
			wantStatus: 400, wantCode: "BAD_REQUEST"},
		{name: "unknown path", user: admin, pwd: pwd, method: "GET", path: "/nothing", wantStatus: 404, wantCode: "NOT_FOUND"},
	})
	meta, ok := srv.ProjectMetadata("p")
	if !ok || meta["public"] != "true" || meta["auto_scan"] != "true" {
		t.Errorf("metadata = %v, want public and auto_scan true", meta)
	}
}

func TestRobots(t *testing.T) {
	srv := harbortest.New(t)
	perm := func(access string) string {
		return `"permissions":[{"kind":"project","namespace":"p","access":[` + access + `]}]`
	}
	push := `{"resource":"repository","action":"push"}`
	run(t, srv, []exchange{
		{name: "project", user: admin, pwd: pwd, method: "POST", path: "/projects", body: `{"project_name":"p"}`, wantStatus: 201},
		{name: "illegal name", user: admin, pwd: pwd, method: "POST", path: "/robots",
			body: `{"name":"Push+1","level":"project","duration":-1,` + perm(push) + `}`, wantStatus: 400, wantCode: "BAD_REQUEST"},
		{name: "zero duration", user: admin, pwd: pwd, method: "POST", path: "/robots",
			body: `{"name":"push","level":"project","duration":0,` + perm(push) + `}`, wantStatus: 400, wantCode: "BAD_REQUEST"},
		{name: "no access", user: admin, pwd: pwd, method: "POST", path: "/robots",
			body: `{"name":"push","level":"project","duration":-1,` + perm("") + `}`, wantStatus: 400, wantCode: "BAD_REQUEST"},
		{name: "unknown permission", user: admin, pwd: pwd, method: "POST", path: "/robots",
			body:       `{"name":"push","level":"project","duration":-1,` + perm(`{"resource":"repository","action":"fly"}`) + `}`,
			wantStatus: 400, wantCode: "BAD_REQUEST"},
		{name: "unknown field", user: admin, pwd: pwd, method: "POST", path: "/robots",
			body: `{"name":"push","level":"project","duration":-1,"scope":"p",` + perm(push) + `}`, wantStatus: 400, wantCode: "BAD_REQUEST"},
		{name: "create", user: admin, pwd: pwd, method: "POST", path: "/robots",
			body: `{"name":"push","level":"project","duration":-1,` + perm(push) + `}`, wantStatus: 201,
			wantHeader: map[string]string{"Location": "/api/v2.0/robots/1"}},
		{name: "create again", user: admin, pwd: pwd, method: "POST", path: "/robots",
			body: `{"name":"push","level":"project","duration":-1,` + perm(push) + `}`, wantStatus: 409, wantCode: "CONFLICT"},
		{name: "list without project", user: admin, pwd: pwd, method: "GET", path: "/robots?q=Level=project",
			wantStatus: 400, wantCode: "BAD_REQUEST"},
		{name: "list", user: admin, pwd: pwd, method: "GET", path: "/robots?q=Level=project,ProjectID=1",
			wantStatus: 200, wantHeader: map[string]string{"X-Total-Count": "1"}},
		{name: "rename", user: admin, pwd: pwd, method: "PUT", path: "/robots/1",
			body: `{"name":"robot$p+other","level":"project",` + perm(push) + `}`, wantStatus: 400, wantCode: "BAD_REQUEST"},
		{name: "weak secret", user: admin, pwd: pwd, method: "PATCH", path: "/robots/1", body: `{"secret":"short"}`,
			wantStatus: 400, wantCode: "BAD_REQUEST"},
		{name: "missing robot", user: admin, pwd: pwd, method: "PATCH", path: "/robots/99", body: `{}`,
			wantStatus: 404, wantCode: "NOT_FOUND"},
	})
	robots := srv.Robots("p")
	if len(robots) != 1 || robots[0].Name != "robot$p+push" || robots[0].Secret == "" {
		t.Fatalf("robots = %+v, want robot$p+push with a secret", robots)
	}
	run(t, srv, []exchange{
		{name: "robot reads current user", user: robots[0].Name, pwd: robots[0].Secret, method: "GET",
			path: "/users/current", wantStatus: 412, wantCode: "PRECONDITION"},
		{name: "robot creates project", user: robots[0].Name, pwd: robots[0].Secret, method: "POST",
			path: "/projects", body: `{"project_name":"q"}`, wantStatus: 403, wantCode: "FORBIDDEN"},
	})
}

func TestArtifactsNeedDoubleEncoding(t *testing.T) {
	srv := harbortest.New(t)
	run(t, srv, []exchange{{name: "project", user: admin, pwd: pwd, method: "POST", path: "/projects",
		body: `{"project_name":"p"}`, wantStatus: 201}})
	digest := "sha256:" + strings.Repeat("a", 64)
	if err := srv.AddArtifact("p", harbortest.Artifact{Repository: "a/b", Digest: digest, Tags: []string{"v1"}}); err != nil {
		t.Fatal(err)
	}
	if err := srv.AddArtifact("absent", harbortest.Artifact{Repository: "a"}); err == nil {
		t.Error("AddArtifact to a missing project succeeded")
	}
	run(t, srv, []exchange{
		{name: "encoded twice", user: admin, pwd: pwd, method: "GET", path: "/projects/p/repositories/a%252Fb/artifacts/" + digest, wantStatus: 200},
		{name: "by tag", user: admin, pwd: pwd, method: "GET", path: "/projects/p/repositories/a%252Fb/artifacts/v1", wantStatus: 200},
		{name: "encoded once", user: admin, pwd: pwd, method: "GET", path: "/projects/p/repositories/a%2Fb/artifacts/" + digest,
			wantStatus: 404, wantCode: "NOT_FOUND"},
		{name: "tags", user: admin, pwd: pwd, method: "GET", path: "/projects/p/repositories/a%252Fb/artifacts/v1/tags",
			wantStatus: 200, wantHeader: map[string]string{"X-Total-Count": "1"}},
		{name: "anonymous on private project", method: "GET", path: "/projects/p/repositories/a%252Fb/artifacts/v1",
			wantStatus: 401, wantCode: "UNAUTHORIZED"},
	})
}

func TestPolicies(t *testing.T) {
	srv := harbortest.New(t)
	repo := `"scope_selectors":{"repository":[{"kind":"doublestar","decoration":"repoMatches","pattern":"**"}]}`
	tags := `"tag_selectors":[{"kind":"doublestar","decoration":"matches","pattern":"v*"}]`
	rule := `{"disabled":false,"action":"immutable","template":"immutable_template",` + tags + `,` + repo + `}`
	retain := `{"disabled":false,"action":"retain","template":"latestPushedK","params":{"latestPushedK":3},` + tags + `,` + repo + `}`
	policy := func(rules string) string {
		return `{"algorithm":"or","rules":[` + rules + `],"trigger":{"kind":"Schedule","settings":{"cron":""}},"scope":{"level":"project","ref":1}}`
	}
	name := map[string]string{"X-Is-Resource-Name": "true"}
	run(t, srv, []exchange{
		{name: "project", user: admin, pwd: pwd, method: "POST", path: "/projects", body: `{"project_name":"p"}`, wantStatus: 201},
		{name: "immutable rule", user: admin, pwd: pwd, method: "POST", path: "/projects/p/immutabletagrules", header: name,
			body: rule, wantStatus: 201, wantHeader: map[string]string{"Location": "/api/v2.0/projects/p/immutabletagrules/1"}},
		{name: "duplicate immutable rule", user: admin, pwd: pwd, method: "POST", path: "/projects/p/immutabletagrules", header: name,
			body: rule, wantStatus: 409, wantCode: "CONFLICT"},
		{name: "immutable rule without selectors", user: admin, pwd: pwd, method: "POST", path: "/projects/p/immutabletagrules",
			header: name, body: `{"action":"immutable","template":"immutable_template"}`, wantStatus: 400, wantCode: "BAD_REQUEST"},
		{name: "retention with string param", user: admin, pwd: pwd, method: "POST", path: "/retentions",
			body: policy(strings.Replace(retain, `:3}`, `:"3"}`, 1)), wantStatus: 400, wantCode: "BAD_REQUEST"},
		{name: "retention with conflicting rules", user: admin, pwd: pwd, method: "POST", path: "/retentions",
			body: policy(retain + "," + retain), wantStatus: 400, wantCode: "BAD_REQUEST"},
		{name: "retention", user: admin, pwd: pwd, method: "POST", path: "/retentions", body: policy(retain),
			wantStatus: 201, wantHeader: map[string]string{"Location": "/api/v2.0/retentions/1"}},
		{name: "second retention", user: admin, pwd: pwd, method: "POST", path: "/retentions", body: policy(retain),
			wantStatus: 400, wantCode: "BAD_REQUEST"},
		{name: "read retention", user: admin, pwd: pwd, method: "GET", path: "/retentions/1", wantStatus: 200},
	})
	meta, _ := srv.ProjectMetadata("p")
	if meta["retention_id"] != "1" {
		t.Errorf("project retention_id = %q, want 1", meta["retention_id"])
	}
}

func TestFaults(t *testing.T) {
	srv := harbortest.New(t)
	srv.FailNext(1, http.StatusBadGateway)
	srv.ThrottleNext(1, 1500*time.Millisecond)
	run(t, srv, []exchange{
		{name: "injected 502", method: "GET", path: "/ping", wantStatus: 502, wantCode: "UNKNOWN"},
		{name: "injected 429", method: "GET", path: "/ping", wantStatus: 429, wantCode: "TOO_MANY_REQUEST",
			wantHeader: map[string]string{"Retry-After": "2"}},
		{name: "recovered", method: "GET", path: "/ping", wantStatus: 200},
	})
	if n := len(srv.Requests()); n != 3 {
		t.Errorf("fake logged %d requests, want 3", n)
	}
}

func TestRegistryEndpoint(t *testing.T) {
	upstream := httptest.NewServer(registry.New())
	t.Cleanup(upstream.Close)
	bare := harbortest.New(t)
	srv := harbortest.New(t, harbortest.WithRegistry(upstream.URL))
	run(t, srv, []exchange{{name: "project", user: admin, pwd: pwd, method: "POST", path: "/projects",
		body: `{"project_name":"p"}`, wantStatus: 201}})
	tests := []struct {
		name       string
		srv        *harbortest.Server
		user       string
		path       string
		wantStatus int
		wantHeader string // WWW-Authenticate
	}{
		{"no registry configured", bare, admin, "/v2/", 404, ""},
		{"anonymous ping", srv, "", "/v2/", 401, `Basic realm="harbor"`},
		{"admin ping", srv, admin, "/v2/", 200, ""},
		{"anonymous pull from private project", srv, "", "/v2/p/app/tags/list", 401, `Basic realm="harbor"`},
		{"missing project", srv, admin, "/v2/absent/app/tags/list", 404, ""},
		{"missing repository", srv, admin, "/v2/p/app/tags/list", 404, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodGet, tt.srv.URL+tt.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			if tt.user != "" {
				req.SetBasicAuth(tt.user, pwd)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.wantStatus {
				t.Errorf("status %d, want %d", resp.StatusCode, tt.wantStatus)
			}
			if got := resp.Header.Get("WWW-Authenticate"); got != tt.wantHeader {
				t.Errorf("WWW-Authenticate = %q, want %q", got, tt.wantHeader)
			}
		})
	}
}
