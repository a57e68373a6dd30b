package server

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/approvals"
	"github.com/sluice-dev/sluice/ingest/state"
)

var (
	lodashKey = url.PathEscape("npm/lodash@4.17.20")
	pluginKey = url.PathEscape("npm/" + pluginName + "@1.0.0")
	plugin11  = url.PathEscape("npm/" + pluginName + "@1.1.0")
)

// userOf is the test user holding each role alone.
var userOf = map[Role]string{RoleRequester: "rita", RoleApprover: "alice", RoleSecurity: "carol",
	RoleAuditor: "audrey", RoleAdmin: "adam"}

// TestAPI syncs the test manifest through the API, then checks every
// operation for each role, and the approval flows.
func TestAPI(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	tok := func(user string) string { return f.idp.token(t, user) }
	run := f.sync(tok("bob"))
	if run.Status != RunSucceeded {
		t.Fatalf("first sync %s: %s", run.Status, run.Error)
	}
	if run.Summary == nil || run.Summary.Waiting != 3 || run.Summary.Rejected != 1 {
		t.Fatalf("first sync summary = %+v, want 3 waiting and 1 rejected", run.Summary)
	}

	t.Run("roles", func(t *testing.T) {
		bad := map[string]any{"unknown": true}
		ops := []struct {
			method, path string
			body         any
			allowed      []Role
			okStatus     int
		}{
			{"GET", "/api/v1/whoami", nil, AllRoles, 200},
			{"GET", "/api/v1/manifests", nil, AllRoles, 200},
			{"GET", "/api/v1/manifests/tools", nil, AllRoles, 200},
			{"GET", "/api/v1/runs", nil, AllRoles, 200},
			{"GET", "/api/v1/runs/" + run.ID, nil, AllRoles, 200},
			{"POST", "/api/v1/runs", bad, []Role{RoleRequester, RoleAdmin}, 400},
			{"GET", "/api/v1/artifacts", nil, AllRoles, 200},
			{"GET", "/api/v1/artifacts/" + lodashKey, nil, AllRoles, 200},
			{"GET", "/api/v1/artifacts/" + lodashKey + "/findings", nil, AllRoles, 200},
			{"GET", "/api/v1/artifacts/" + lodashKey + "/evidence", nil, []Role{RoleSecurity, RoleAuditor, RoleAdmin}, 200},
			{"GET", "/api/v1/artifacts/" + lodashKey + "/sbom", nil, AllRoles, 200},
			{"GET", "/api/v1/approval-requests", nil, AllRoles, 200},
			{"POST", "/api/v1/approval-requests", bad, []Role{RoleRequester, RoleAdmin}, 400},
			{"GET", "/api/v1/approval-requests/" + lodashKey, nil, AllRoles, 200},
			{"POST", "/api/v1/approval-requests/" + lodashKey + "/approve", bad, []Role{RoleApprover, RoleSecurity}, 400},
			{"POST", "/api/v1/approval-requests/" + lodashKey + "/reject", bad, []Role{RoleApprover, RoleSecurity}, 400},
			{"GET", "/api/v1/plugin-requests", nil, AllRoles, 200},
			{"POST", "/api/v1/plugin-requests", bad, []Role{RoleRequester, RoleAdmin}, 400},
			{"GET", "/api/v1/plugin-requests/plugin-000000000000", nil, AllRoles, 404},
			{"POST", "/api/v1/plugin-requests/plugin-000000000000/approve", bad, []Role{RoleApprover, RoleSecurity}, 400},
			{"GET", "/api/v1/reports/" + run.LedgerRun, nil, AllRoles, 200},
			{"GET", "/api/v1/ledger/export", nil, []Role{RoleSecurity, RoleAuditor, RoleAdmin}, 200},
		}
		for _, op := range ops {
			for _, role := range AllRoles {
				want := http.StatusForbidden
				if slices.Contains(op.allowed, role) {
					want = op.okStatus
				}
				status, data := f.call(op.method, op.path, tok(userOf[role]), op.body)
				if status != want {
					t.Errorf("%s %s as %s = %d, want %d: %s", op.method, op.path, role, status, want, data)
				}
				if want == http.StatusForbidden && status == want && decodeError(t, data).Code != codeForbidden {
					t.Errorf("%s %s as %s: error code is not forbidden: %s", op.method, op.path, role, data)
				}
			}
			status, data := f.call(op.method, op.path, tok("nobody"), op.body)
			if status != http.StatusForbidden {
				t.Errorf("%s %s with no role = %d, want 403: %s", op.method, op.path, status, data)
			}
			status, data = f.call(op.method, op.path, "", op.body)
			if status != http.StatusUnauthorized || decodeError(t, data).Code != codeUnauthenticated {
				t.Errorf("%s %s without a token = %d, want 401: %s", op.method, op.path, status, data)
			}
		}
	})

	t.Run("separation of duties", func(t *testing.T) {
		status, data := f.call("POST", "/api/v1/approval-requests/"+lodashKey+"/approve", tok("bob"),
			map[string]string{"reason": "I asked for it"})
		if status != http.StatusForbidden || decodeError(t, data).Code != codeSeparation {
			t.Fatalf("requester approving = %d %s, want 403 separation_of_duties", status, data)
		}
		status, data = f.call("POST", "/api/v1/approval-requests/"+lodashKey+"/approve", tok("carol"),
			map[string]string{"reason": "looks fine"})
		if status != http.StatusForbidden || decodeError(t, data).Code != codeNotApprover {
			t.Fatalf("security outside the chain approving = %d %s, want 403 not_in_approval_chain", status, data)
		}
		var req requestView
		f.mustCall(http.StatusOK, "POST", "/api/v1/approval-requests/"+lodashKey+"/approve", tok("alice"),
			map[string]string{"reason": "template functions unused"}, &req)
		if req.Status != approvals.StatusApproved {
			t.Fatalf("status after alice approved = %s, want approved", req.Status)
		}
		status, data = f.call("POST", "/api/v1/approval-requests/"+lodashKey+"/approve", tok("alice"),
			map[string]string{})
		if status != http.StatusConflict || decodeError(t, data).Code != codeConflict {
			t.Fatalf("approving a closed request = %d %s, want 409", status, data)
		}
	})

	t.Run("reject needs a reason", func(t *testing.T) {
		status, data := f.call("POST", "/api/v1/approval-requests/"+pluginKey+"/reject", tok("alice"), map[string]string{})
		if status != http.StatusBadRequest || decodeError(t, data).Code != codeBadRequest {
			t.Fatalf("reject without reason = %d %s, want 400", status, data)
		}
		var req requestView
		f.mustCall(http.StatusOK, "POST", "/api/v1/approval-requests/"+pluginKey+"/reject", tok("alice"),
			map[string]string{"reason": "telemetry postinstall script"}, &req)
		if req.Status != approvals.StatusRejected || req.ClosedBy != "alice" {
			t.Fatalf("after reject: status %s by %s", req.Status, req.ClosedBy)
		}
	})

	t.Run("ledger records identities", func(t *testing.T) {
		status, data := f.call("GET", "/api/v1/ledger/export", tok("audrey"), nil)
		if status != http.StatusOK {
			t.Fatalf("export = %d", status)
		}
		var entries []state.Entry
		for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
			var e state.Entry
			if err := json.Unmarshal([]byte(line), &e); err != nil {
				t.Fatalf("ledger line %q: %v", line, err)
			}
			entries = append(entries, e)
		}
		want := map[string]string{entryRunRequest: "bob", approvals.EntryGranted: "alice"}
		for typ, actor := range want {
			if !slices.ContainsFunc(entries, func(e state.Entry) bool { return e.Type == typ && e.Actor == actor }) {
				t.Errorf("ledger has no %s entry by %s", typ, actor)
			}
		}
		if !slices.ContainsFunc(entries, func(e state.Entry) bool {
			return e.Subject == "npm/"+pluginName+"@1.0.0" && e.To == state.StateRejected && e.Actor == "alice"
		}) {
			t.Errorf("ledger has no rejection of the plugin by alice")
		}
	})

	t.Run("plugin requests", func(t *testing.T) {
		var p page[pluginSummary]
		f.mustCall(http.StatusOK, "GET", "/api/v1/plugin-requests", tok("rita"), nil, &p)
		if len(p.Items) != 0 {
			t.Errorf("plugin requests = %d, want none filed", len(p.Items))
		}
		bodies := map[string]any{
			"old field names": map[string]string{"name": "@backstage/plugin-todo", "version": "0.2.40",
				"owner": "team-portal", "dataClass": "internal", "justification": "TODO list",
				"appLockfile": "{}"},
			"lockfile only in repository": map[string]any{"apiVersion": "sluice.dev/v1", "kind": "PluginRequest",
				"plugin": map[string]string{"name": "@backstage/plugin-todo", "version": "0.2.40"},
				"app": map[string]string{"repository": "https://git.example.com/portal",
					"lockfilePath": "package-lock.json"},
				"owner": "team-portal", "dataClass": "internal", "justification": "TODO list"},
		}
		for name, body := range bodies {
			status, data := f.call("POST", "/api/v1/plugin-requests", tok("rita"), body)
			if status != http.StatusBadRequest {
				t.Errorf("%s: POST = %d %s, want 400", name, status, data)
			}
		}
	})

	t.Run("package request", func(t *testing.T) {
		var filedReq filed
		f.mustCall(http.StatusCreated, "POST", "/api/v1/approval-requests", agentToken,
			map[string]string{"name": "lodash", "version": "4.17.21", "owner": "team-web", "dataClass": "internal",
				"justification": "fixes CVE-2021-23337"}, &filedReq)
		if filedReq.Run == nil {
			t.Fatal("no sync started for the request")
		}
		if r := f.waitRun(filedReq.Run.ID); r.Status != RunSucceeded {
			t.Fatalf("request sync %s: %s", r.Status, r.Error)
		}
		var a state.Artifact
		f.mustCall(http.StatusOK, "GET", "/api/v1/artifacts/"+url.PathEscape("npm/lodash@4.17.21"), agentToken, nil, &a)
		if a.State != state.StateApproved || a.Requester != "build-agent" {
			t.Errorf("lodash@4.17.21 is %s requested by %q, want approved by policy for build-agent", a.State, a.Requester)
		}
	})

	t.Run("pagination", func(t *testing.T) {
		var first, second page[state.Artifact]
		f.mustCall(http.StatusOK, "GET", "/api/v1/artifacts?limit=2", tok("audrey"), nil, &first)
		if len(first.Items) != 2 || first.NextPageToken == "" {
			t.Fatalf("first page: %d items, next %q", len(first.Items), first.NextPageToken)
		}
		f.mustCall(http.StatusOK, "GET", "/api/v1/artifacts?limit=2&pageToken="+first.NextPageToken, tok("audrey"), nil, &second)
		if len(second.Items) == 0 || second.Items[0].Key() == first.Items[0].Key() {
			t.Fatalf("second page repeats the first: %v", second.Items)
		}
		for _, q := range []string{"limit=0", "limit=x", "pageToken=bm9wZQ"} {
			status, data := f.call("GET", "/api/v1/artifacts?"+q, tok("audrey"), nil)
			if status != http.StatusBadRequest || decodeError(t, data).Code != codeBadRequest {
				t.Errorf("?%s = %d %s, want 400", q, status, data)
			}
		}
	})

	t.Run("method not allowed", func(t *testing.T) {
		req, _ := http.NewRequest("DELETE", f.url+"/api/v1/runs", nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if e := decodeError(t, data); resp.StatusCode != http.StatusMethodNotAllowed || e.Code != codeMethodNotAllowed {
			t.Errorf("DELETE /api/v1/runs = %d %+v", resp.StatusCode, e)
		}
		if allow := resp.Header.Get("Allow"); allow != "GET, POST" {
			t.Errorf("Allow = %q, want GET, POST", allow)
		}
	})

	t.Run("request id", func(t *testing.T) {
		req, _ := http.NewRequest("GET", f.url+"/api/v1/artifacts/npm%2Fnone@1.0.0", nil)
		req.Header.Set("Authorization", "Bearer "+tok("audrey"))
		req.Header.Set("X-Request-Id", "trace-42")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if got := resp.Header.Get("X-Request-Id"); got != "trace-42" {
			t.Errorf("X-Request-Id = %q, want trace-42", got)
		}
		if e := decodeError(t, data); e.RequestID != "trace-42" || e.Status != 404 || e.Code != codeNotFound {
			t.Errorf("error = %+v", e)
		}
	})

	t.Run("reports", func(t *testing.T) {
		for format, want := range map[string]string{"json": "sluice.dev/scan-report/v1", "markdown": "GHSA-35jh-r3h4-6jhm",
			"sarif": `"version": "2.1.0"`} {
			status, data := f.call("GET", "/api/v1/reports/"+run.LedgerRun+"?format="+format, tok("rita"), nil)
			if status != http.StatusOK || !strings.Contains(string(data), want) {
				t.Errorf("%s report = %d, want it to contain %q", format, status, want)
			}
		}
		status, _ := f.call("GET", "/api/v1/reports/"+run.LedgerRun+"?format=pdf", tok("rita"), nil)
		if status != http.StatusBadRequest {
			t.Errorf("pdf report = %d, want 400", status)
		}
	})

	t.Run("metrics", func(t *testing.T) {
		status, _ := f.call("GET", "/metrics", tok("rita"), nil)
		if status != http.StatusForbidden {
			t.Errorf("metrics as requester = %d, want 403", status)
		}
		status, data := f.call("GET", "/metrics", tok("audrey"), nil)
		if status != http.StatusOK {
			t.Fatalf("metrics = %d", status)
		}
		for _, want := range []string{
			`sluice_runs_total{status="succeeded",trigger="api"}`,
			`sluice_artifacts{ecosystem="npm",state="rejected"}`,
			`sluice_findings{severity="high"} 1`,
			`sluice_findings{severity="critical"} 1`,
			"sluice_approval_queue_length 1",
			"sluice_approval_lead_time_seconds_count",
			"sluice_run_duration_seconds_bucket",
			"sluice_publish_failures_total 0",
			`sluice_http_requests_total{code="403",route="POST /api/v1/runs"}`,
		} {
			if !strings.Contains(string(data), want) {
				t.Errorf("metrics lack %s", want)
			}
		}
	})

	t.Run("evidence and sbom", func(t *testing.T) {
		var ae approvals.ArtifactEvidence
		f.mustCall(http.StatusOK, "GET", "/api/v1/artifacts/"+lodashKey+"/evidence", tok("audrey"), nil, &ae)
		if ae.Request == nil || len(ae.Request.Approvals) != 1 || ae.Request.Approvals[0].Via != "api" {
			t.Errorf("evidence request = %+v", ae.Request)
		}
		status, data := f.call("GET", "/api/v1/artifacts/"+lodashKey+"/sbom?format=cyclonedx", tok("rita"), nil)
		if status != http.StatusOK || !strings.Contains(string(data), "CycloneDX") {
			t.Errorf("cyclonedx sbom = %d", status)
		}
	})
}

// TestAuthRefused checks that tokens that are expired, signed by another
// key, for another audience or issuer, or unknown are refused with 401
// and the error document.
func TestAuthRefused(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	with := func(edit func(map[string]any)) map[string]any {
		c := claims("alice", "sluice-approvers")
		edit(c)
		return c
	}
	tests := []struct {
		name, token string
	}{
		{"expired", signJWT(t, f.idp.key, "k1", with(func(c map[string]any) {
			c["exp"] = time.Now().Add(-time.Minute).Unix()
		}))},
		{"unknown key", signJWT(t, other, "k1", claims("alice", "sluice-approvers"))},
		{"unknown key id", signJWT(t, other, "k9", claims("alice", "sluice-approvers"))},
		{"wrong audience", signJWT(t, f.idp.key, "k1", with(func(c map[string]any) { c["aud"] = "grafana" }))},
		{"wrong issuer", signJWT(t, f.idp.key, "k1", with(func(c map[string]any) {
			c["iss"] = "https://evil.example/realms/bank"
		}))},
		{"unsigned", "eyJhbGciOiJub25lIn0." + strings.Split(signJWT(t, f.idp.key, "k1",
			claims("alice", "sluice-approvers")), ".")[1] + "."},
		{"unknown static token", "not-a-configured-token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, data := f.call("GET", "/api/v1/whoami", tt.token, nil)
			if status != http.StatusUnauthorized {
				t.Fatalf("status = %d, want 401: %s", status, data)
			}
			if e := decodeError(t, data); e.Code != codeUnauthenticated || e.Status != 401 || e.RequestID == "" {
				t.Errorf("error = %+v", e)
			}
		})
	}
	t.Run("document needs no token", func(t *testing.T) {
		for _, path := range []string{"/api/v1/openapi.yaml", "/.well-known/openapi.yaml"} {
			status, data := f.call("GET", path, "", nil)
			if status != http.StatusOK || !strings.HasPrefix(string(data), "openapi: 3.0.3") {
				t.Errorf("GET %s = %d, want the OpenAPI document", path, status)
			}
		}
	})
	t.Run("valid token and static token", func(t *testing.T) {
		var who map[string]any
		f.mustCall(http.StatusOK, "GET", "/api/v1/whoami", f.idp.token(t, "bob"), nil, &who)
		if who["identity"] != "bob" || len(who["roles"].([]any)) != 2 {
			t.Errorf("whoami = %v", who)
		}
		f.mustCall(http.StatusOK, "GET", "/api/v1/whoami", agentToken, nil, &who)
		if who["identity"] != "build-agent" || who["via"] != "token" {
			t.Errorf("whoami = %v", who)
		}
	})
}
