package harbor_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi2"
	"github.com/getkin/kin-openapi/openapi2conv"
	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
	"gopkg.in/yaml.v3"

	"github.com/sluice-dev/sluice/internal/harbortest"
	"github.com/sluice-dev/sluice/mirrors/harbor"
)

// swaggerPaths are where the tests look for Harbor's API contract,
// api/v2.0/swagger.yaml of github.com/goharbor/harbor at tag v2.15.2
// (testdata/SWAGGER.md gives its source and checksum): the file named by
// SLUICE_HARBOR_SWAGGER, a copy in testdata, or the shared folder beside
// the repository.
var swaggerPaths = []string{os.Getenv("SLUICE_HARBOR_SWAGGER"), "testdata/swagger.yaml",
	"../../../shared/harbor/swagger.yaml"}

// swaggerSHA256 is the checksum of the v2.15.2 contract, so another
// version is not used by mistake.
const swaggerSHA256 = "9be2b505d4c6baba40e6d646eac2b0aa4ff11f938727ae1eaa491ca01ebf71c7"

// findSwagger returns the first contract file found, and skips the test
// when there is none.
func findSwagger(t *testing.T) string {
	t.Helper()
	for _, p := range swaggerPaths {
		if p == "" {
			continue
		}
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	t.Skipf("Harbor's swagger.yaml not found in %q: see testdata/SWAGGER.md", swaggerPaths[1:])
	return ""
}

// clientOperations are the contract's operation IDs that the client calls.
var clientOperations = []string{
	"getPing", "getCurrentUserInfo", "headProject", "getProject", "createProject", "updateProject",
	"ListRobot", "CreateRobot", "GetRobotByID", "UpdateRobot", "RefreshSec",
	"getArtifact", "listTags", "ListImmuRules", "CreateImmuRule", "UpdateImmuRule",
	"createRetention", "getRetention", "updateRetention",
}

// loadContract reads Harbor's swagger 2.0 file and converts it to
// OpenAPI 3 for kin-openapi's validator. Two changes make it usable:
//   - The params of ImmutableRule and RetentionRule are declared as a map
//     of objects, but Harbor's own UI and handlers use numbers
//     ({"latestPushedK": 10}), so their values are allowed to be anything.
//   - Object definitions that list properties get additionalProperties
//     false, so a field that the contract lacks fails the check, in
//     requests from the client and in responses from the fake alike. Harbor
//     itself ignores unknown request fields; this is the stricter reading.
func loadContract(t *testing.T) routers.Router {
	t.Helper()
	swaggerFile := findSwagger(t)
	raw, err := os.ReadFile(swaggerFile)
	if err != nil {
		t.Fatal(err)
	}
	if sum := fmt.Sprintf("%x", sha256.Sum256(raw)); sum != swaggerSHA256 {
		t.Fatalf("%s has sha256 %s, want %s (Harbor v2.15.2): see testdata/SWAGGER.md", swaggerFile, sum, swaggerSHA256)
	}
	var tree any
	if err := yaml.Unmarshal(raw, &tree); err != nil {
		t.Fatalf("%s: %v", swaggerFile, err)
	}
	js, err := json.Marshal(tree)
	if err != nil {
		t.Fatalf("%s: %v", swaggerFile, err)
	}
	var doc2 openapi2.T
	if err := json.Unmarshal(js, &doc2); err != nil {
		t.Fatalf("%s: %v", swaggerFile, err)
	}
	doc, err := openapi2conv.ToV3(&doc2)
	if err != nil {
		t.Fatalf("%s: convert to OpenAPI 3: %v", swaggerFile, err)
	}
	for _, name := range []string{"ImmutableRule", "RetentionRule"} {
		doc.Components.Schemas[name].Value.Properties["params"].Value.AdditionalProperties =
			openapi3.AdditionalProperties{Schema: openapi3.NewSchemaRef("", &openapi3.Schema{})}
	}
	seen := map[*openapi3.Schema]bool{}
	for _, s := range doc.Components.Schemas {
		closeObjects(s, seen)
	}
	doc.Servers = nil
	router, err := legacy.NewRouter(doc)
	if err != nil {
		t.Fatalf("%s: %v", swaggerFile, err)
	}
	return router
}

// closeObjects sets additionalProperties false on every object schema
// with properties and no additionalProperties of its own.
func closeObjects(ref *openapi3.SchemaRef, seen map[*openapi3.Schema]bool) {
	if ref == nil || ref.Value == nil || seen[ref.Value] {
		return
	}
	s := ref.Value
	seen[s] = true
	if len(s.Properties) > 0 && s.AdditionalProperties.Has == nil && s.AdditionalProperties.Schema == nil {
		no := false
		s.AdditionalProperties.Has = &no
	}
	for _, p := range s.Properties {
		closeObjects(p, seen)
	}
	closeObjects(s.Items, seen)
	closeObjects(s.AdditionalProperties.Schema, seen)
}

// contractTransport checks every exchange against the contract: the
// request must match an operation and its parameters and body schema, and
// the response must have a documented status, headers and body schema.
type contractTransport struct {
	router routers.Router

	mu         sync.Mutex
	operations map[string]bool
	failures   []string
}

func (ct *contractTransport) fail(format string, args ...any) {
	ct.mu.Lock()
	defer ct.mu.Unlock()
	ct.failures = append(ct.failures, fmt.Sprintf(format, args...))
}

func (ct *contractTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil {
		var err error
		if body, err = io.ReadAll(req.Body); err != nil {
			return nil, err
		}
		req.Body.Close()
		req.Body = io.NopCloser(bytes.NewReader(body))
	}
	// The router matches paths below the base path /api/v2.0.
	vreq := req.Clone(req.Context())
	vreq.URL.Path = strings.TrimPrefix(req.URL.Path, harbor.APIPrefix)
	vreq.URL.RawPath = ""
	vreq.Body = io.NopCloser(bytes.NewReader(body))
	name := req.Method + " " + req.URL.EscapedPath()
	route, params, err := ct.router.FindRoute(vreq)
	if err != nil {
		ct.fail("%s: no such operation in the contract: %v", name, err)
		return http.DefaultTransport.RoundTrip(req)
	}
	ct.mu.Lock()
	ct.operations[route.Operation.OperationID] = true
	ct.mu.Unlock()
	opts := &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc,
		IncludeResponseStatus: true, MultiError: true}
	in := &openapi3filter.RequestValidationInput{Request: vreq, PathParams: params, Route: route, Options: opts}
	if err := openapi3filter.ValidateRequest(req.Context(), in); err != nil {
		ct.fail("%s (%s): request breaks the contract: %v", name, route.Operation.OperationID, err)
	}
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	data, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(data))
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: resp.StatusCode,
		Header: resp.Header, Options: opts}
	out.SetBodyBytes(data)
	err = openapi3filter.ValidateResponse(req.Context(), out)
	if undocumented[route.Operation.OperationID] == resp.StatusCode {
		err = checkErrorBody(data)
	}
	if err != nil {
		ct.fail("%s (%s): status %d response breaks the contract: %v", name, route.Operation.OperationID,
			resp.StatusCode, err)
	}
	if resp.StatusCode == http.StatusCreated && resp.Header.Get("Location") == "" {
		ct.fail("%s: 201 without a Location header", name)
	}
	return resp, nil
}

// undocumented maps an operation to an error status that Harbor v2.15.2
// returns but its contract does not list: getProject returns 404 for a
// missing project (src/server/v2.0/handler/project.go), and
// getCurrentUserInfo returns 412 to robot accounts
// (src/server/v2.0/handler/user.go). Such responses are checked against
// Harbor's error body alone.
var undocumented = map[string]int{"getProject": http.StatusNotFound, "getCurrentUserInfo": http.StatusPreconditionFailed}

// checkErrorBody checks that data is Harbor's Errors definition and
// nothing else.
func checkErrorBody(data []byte) error {
	var body struct {
		Errors []struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"errors"`
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil || len(body.Errors) == 0 {
		return fmt.Errorf("not a Harbor error body: %q", data)
	}
	return nil
}

// TestContract runs every client call, and a few expected failures,
// through the contract check against the fake.
func TestContract(t *testing.T) {
	ct := &contractTransport{router: loadContract(t), operations: map[string]bool{}}
	srv := harbortest.New(t, harbortest.WithUser("dev", "Dev12345", false))
	via := harbor.WithHTTPClient(&http.Client{Transport: ct, Timeout: time.Minute})
	c := admin(t, srv, via)
	ctx := context.Background()
	must := func(step string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", step, err)
		}
	}
	_, err := c.Check(ctx)
	must("check", err)
	_, err = c.EnsureProject(ctx, "mirror", strict)
	must("create project", err)
	srv.SetProjectMetadata("mirror", "auto_scan", "false")
	_, err = c.EnsureProject(ctx, "mirror", strict)
	must("update project", err)
	push, err := c.EnsureRobot(ctx, harbor.PushRobot("mirror"))
	must("create robot", err)
	srv.SetRobotAccess(push.Robot.ID, "repository:pull")
	_, err = c.EnsureRobot(ctx, harbor.PushRobot("mirror"))
	must("update robot", err)
	secret, err := c.RefreshRobotSecret(ctx, push.Robot)
	must("refresh robot secret", err)
	_, err = admin(t, srv, via, harbor.WithBasicAuth(push.Robot.Name, secret)).Check(ctx)
	must("check as robot", err)
	must("add artifact", srv.AddArtifact("mirror", harbortest.Artifact{Repository: "library/nginx",
		Digest: digestA, Tags: []string{"1.27"}, Scan: &harbortest.Scan{Status: "Success", Severity: "Low",
			BySeverity: map[string]int{"Low": 1}}}))
	_, err = c.Artifact(ctx, "mirror", "library/nginx", digestA)
	must("read artifact", err)
	_, err = c.Tags(ctx, "mirror", "library/nginx", digestA)
	must("list tags", err)
	rules := []harbor.ImmutableRule{{Repositories: harbor.Selector{Pattern: "**"}, Tags: harbor.Selector{Pattern: "v*"}}}
	_, err = c.EnsureImmutability(ctx, "mirror", rules)
	must("create immutability rule", err)
	srv.DisableImmutableRules("mirror")
	_, err = c.EnsureImmutability(ctx, "mirror", rules)
	must("enable immutability rule", err)
	policy := harbor.RetentionPolicy{Rules: []harbor.RetentionRule{{Template: "latestPushedK",
		Params: map[string]int64{"latestPushedK": 5}, Repositories: harbor.Selector{Pattern: "**"},
		Tags: harbor.Selector{Pattern: "**"}}}}
	_, err = c.EnsureRetention(ctx, "mirror", policy)
	must("create retention", err)
	policy.Schedule = "0 0 2 * * *"
	_, err = c.EnsureRetention(ctx, "mirror", policy)
	must("update retention", err)

	// Expected failures must have documented statuses and error bodies too.
	if _, err := c.Artifact(ctx, "mirror", "library/nginx", digestB); err == nil {
		t.Error("reading a missing artifact succeeded")
	}
	if _, err := admin(t, srv, via, harbor.WithBasicAuth("dev", "Dev12345")).EnsureRobot(ctx,
		harbor.PullRobot("other")); err == nil {
		t.Error("a user without permission created a robot")
	}
	if _, err := admin(t, srv, via, harbor.WithBasicAuth("admin", "wrong")).Check(ctx); err == nil {
		t.Error("a wrong password passed the check")
	}

	// The fake also serves two operations the client does not call.
	raw := &http.Client{Transport: ct}
	for _, path := range []string{"/health", "/projects?page_size=1"} {
		req, err := http.NewRequest(http.MethodGet, srv.URL+harbor.APIPrefix+path, nil)
		must(path, err)
		req.SetBasicAuth(harbortest.AdminUser, harbortest.AdminPassword)
		resp, err := raw.Do(req)
		must(path, err)
		resp.Body.Close()
	}

	for _, f := range ct.failures {
		t.Error(f)
	}
	for _, op := range clientOperations {
		if !ct.operations[op] {
			t.Errorf("operation %s was not exercised", op)
		}
	}
	for op := range ct.operations {
		if !slices.Contains(clientOperations, op) && op != "getHealth" && op != "listProjects" {
			t.Errorf("client called %s, which clientOperations does not list", op)
		}
	}
}

// TestContractHasClientOperations checks that each operation the client
// relies on is in the contract with the method and path it uses.
func TestContractHasClientOperations(t *testing.T) {
	router := loadContract(t)
	swaggerFile := findSwagger(t)
	calls := []struct{ method, path, operation string }{
		{http.MethodGet, "/ping", "getPing"},
		{http.MethodGet, "/users/current", "getCurrentUserInfo"},
		{http.MethodHead, "/projects", "headProject"},
		{http.MethodPost, "/projects", "createProject"},
		{http.MethodGet, "/projects/mirror", "getProject"},
		{http.MethodPut, "/projects/mirror", "updateProject"},
		{http.MethodGet, "/robots", "ListRobot"},
		{http.MethodPost, "/robots", "CreateRobot"},
		{http.MethodGet, "/robots/1", "GetRobotByID"},
		{http.MethodPut, "/robots/1", "UpdateRobot"},
		{http.MethodPatch, "/robots/1", "RefreshSec"},
		{http.MethodGet, "/projects/mirror/repositories/a%252Fb/artifacts/sha256:1", "getArtifact"},
		{http.MethodGet, "/projects/mirror/repositories/a/artifacts/sha256:1/tags", "listTags"},
		{http.MethodGet, "/projects/mirror/immutabletagrules", "ListImmuRules"},
		{http.MethodPost, "/projects/mirror/immutabletagrules", "CreateImmuRule"},
		{http.MethodPut, "/projects/mirror/immutabletagrules/1", "UpdateImmuRule"},
		{http.MethodPost, "/retentions", "createRetention"},
		{http.MethodGet, "/retentions/1", "getRetention"},
		{http.MethodPut, "/retentions/1", "updateRetention"},
	}
	for _, c := range calls {
		req, err := http.NewRequest(c.method, "http://harbor.invalid"+c.path, nil)
		if err != nil {
			t.Fatal(err)
		}
		route, _, err := router.FindRoute(req)
		if err != nil {
			t.Errorf("%s %s: not in %s: %v", c.method, c.path, swaggerFile, err)
			continue
		}
		if route.Operation.OperationID != c.operation {
			t.Errorf("%s %s is operation %s, want %s", c.method, c.path, route.Operation.OperationID, c.operation)
		}
	}
}

// TestContractCatchesViolations checks the contract check itself: each
// exchange breaks the contract in one way and must be reported.
func TestContractCatchesViolations(t *testing.T) {
	tests := []struct {
		name, method, path, body string
		status                   int
		answer                   string
		wantFailure              bool
	}{
		{"valid ping", http.MethodGet, "/ping", "", 200, "Pong", false},
		{"unknown request field", http.MethodPost, "/projects", `{"project_nam":"x"}`, 201, "", true},
		{"wrong request type", http.MethodPost, "/projects", `{"project_name":"x","metadata":{"public":true}}`, 201, "", true},
		{"wrong answer type", http.MethodGet, "/projects/x", "", 200, `{"project_id":"seven"}`, true},
		{"unknown answer field", http.MethodGet, "/users/current", "", 200, `{"username":"a","role":"x"}`, true},
		{"undocumented status", http.MethodGet, "/ping", "", 418, "", true},
		{"error body of the wrong shape", http.MethodGet, "/projects/x", "", 404, `{"error":"x"}`, true},
		{"path not in the contract", http.MethodGet, "/nothing", "", 200, "{}", true},
	}
	router := loadContract(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if strings.HasPrefix(tt.answer, "{") {
					w.Header().Set("Content-Type", "application/json")
				} else {
					w.Header().Set("Content-Type", "text/plain")
				}
				if tt.status == http.StatusCreated {
					w.Header().Set("Location", r.URL.Path+"/1")
				}
				w.WriteHeader(tt.status)
				_, _ = w.Write([]byte(tt.answer))
			}))
			defer upstream.Close()
			ct := &contractTransport{router: router, operations: map[string]bool{}}
			var body io.Reader
			if tt.body != "" {
				body = strings.NewReader(tt.body)
			}
			req, err := http.NewRequest(tt.method, upstream.URL+harbor.APIPrefix+tt.path, body)
			if err != nil {
				t.Fatal(err)
			}
			if tt.body != "" {
				req.Header.Set("Content-Type", "application/json")
			}
			resp, err := ct.RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if got := len(ct.failures) > 0; got != tt.wantFailure {
				t.Errorf("failures = %q, want failure %v", ct.failures, tt.wantFailure)
			}
		})
	}
}
