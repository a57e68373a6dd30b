package server

import (
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sluice-dev/sluice/approvals"
	"github.com/sluice-dev/sluice/ingest/state"
	"github.com/sluice-dev/sluice/internal/npmfixture"
	"github.com/sluice-dev/sluice/internal/verdacciotest"
	"github.com/sluice-dev/sluice/manifests/policy"
)

func TestPluginRequestFlow(t *testing.T) {
	verdaccio := verdacciotest.Start(t)
	f := newFixture(t, fixtureOptions{upstream: npmfixture.NewFrom(t, npmfixture.RecordedBackstage()),
		policy: "../../cmd/sluice/testdata/approvals/plugins.yaml", mirror: verdaccio.URL,
		mirrorToken: verdaccio.Token})
	tok := func(user string) string { return f.idp.token(t, user) }
	lock, err := os.ReadFile(filepath.Join(npmfixture.CopyApp(t, "backstage"), "package-lock.json"))
	if err != nil {
		t.Fatal(err)
	}
	body := map[string]any{"apiVersion": "sluice.dev/v1", "kind": "PluginRequest",
		"plugin": map[string]string{"name": "@backstage-community/plugin-jenkins-common", "version": "0.22.0"},
		"app": map[string]string{"repository": "https://git.example.com/portal", "lockfilePath": "package-lock.json",
			"lockfile": string(lock)},
		"owner": "team-portal", "dataClass": "internal", "justification": "Jenkins builds on catalog pages",
		"requester": "someone-else"}

	// bob holds the requester and approver roles and is a team lead.
	var req pluginView
	f.mustCall(http.StatusCreated, "POST", "/api/v1/plugin-requests", tok("bob"), body, &req)
	if req.Tier != policy.TierMedium {
		t.Errorf("tier = %s, want medium", req.Tier)
	}
	if req.Status != approvals.PluginPending {
		t.Errorf("status = %s, want pending", req.Status)
	}
	if req.Requester != "bob" {
		t.Errorf("requester = %q, want the caller bob", req.Requester)
	}
	var added []string
	for _, p := range req.Diff.Added {
		added = append(added, p.Key())
	}
	if !slices.Equal(added, npmfixture.RecordedBackstagePluginAdds) {
		t.Errorf("diff added:\n%v\nwant:\n%v", added, npmfixture.RecordedBackstagePluginAdds)
	}
	if req.Diff.Locked == 0 || req.Diff.Closure != req.Diff.Locked+len(npmfixture.RecordedBackstagePluginAdds) {
		t.Errorf("closure %d, locked %d", req.Diff.Closure, req.Diff.Locked)
	}
	if req.Body.App.Lockfile != "" {
		t.Error("the stored request keeps the inline lockfile")
	}

	var list page[pluginSummary]
	f.mustCall(http.StatusOK, "GET", "/api/v1/plugin-requests", tok("audrey"), nil, &list)
	if len(list.Items) != 1 || list.Items[0].ID != req.ID || list.Items[0].Added != len(npmfixture.RecordedBackstagePluginAdds) ||
		list.Items[0].Tier != "medium" || list.Items[0].Status != approvals.PluginPending {
		t.Errorf("plugin request list = %+v", list.Items)
	}

	status, data := f.call("POST", "/api/v1/plugin-requests/"+req.ID+"/approve", tok("bob"), map[string]string{})
	if status != http.StatusForbidden || decodeError(t, data).Code != codeSeparation {
		t.Errorf("requester approves own plugin request = %d %s, want 403 %s", status, data, codeSeparation)
	}
	status, _ = f.call("POST", "/api/v1/plugin-requests/"+req.ID+"/approve", tok("rita"), map[string]string{})
	if status != http.StatusForbidden {
		t.Errorf("requester role approves = %d, want 403", status)
	}
	for _, key := range npmfixture.RecordedBackstagePluginAdds {
		name, version := splitKey(key)
		if len(mirrorVersions(t, verdaccio.URL, name)) != 0 {
			t.Errorf("%s@%s is on the mirror before approval", name, version)
		}
	}

	checkPluginPages(t, f, req.ID)

	var approval pluginApproval
	f.mustCall(http.StatusOK, "POST", "/api/v1/plugin-requests/"+req.ID+"/approve", tok("alice"),
		map[string]string{"reason": "reviewed the diff"}, &approval)
	if approval.PublishError != "" {
		t.Fatalf("publish after approval: %s", approval.PublishError)
	}
	if approval.Published == nil || approval.Published.Published != len(npmfixture.RecordedBackstagePluginAdds) {
		t.Errorf("published summary = %+v, want %d published", approval.Published, len(npmfixture.RecordedBackstagePluginAdds))
	}
	if approval.Request.Status != approvals.PluginPublished {
		t.Errorf("status after approval = %s, want published", approval.Request.Status)
	}
	for _, key := range npmfixture.RecordedBackstagePluginAdds {
		name, version := splitKey(key)
		if _, ok := mirrorVersions(t, verdaccio.URL, name)[version]; !ok {
			t.Errorf("%s is not on the mirror", key)
		}
	}
	f.mustCall(http.StatusOK, "GET", "/api/v1/plugin-requests/"+req.ID, tok("rita"), nil, &req)
	for _, p := range req.Packages {
		if p.State != state.StatePublished {
			t.Errorf("%s is %s, want published", p.Key(), p.State)
		}
	}
}

// checkPluginPages checks the review page of a pending plugin request:
// listed on the index, its packages shown, and an approval posted by its
// requester bob rejected for separation of duties.
func checkPluginPages(t *testing.T, f *fixture, id string) {
	t.Helper()
	signIn := func(user string) *http.Client {
		c := browserClient(t)
		resp, _ := postForm(t, c, f.url+"/ui/login", url.Values{"token": {f.idp.token(t, user)}}, "")
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("sign-in as %s = %d", user, resp.StatusCode)
		}
		return c
	}
	alice := signIn("alice")
	_, index := get(t, alice, f.url+"/ui/")
	if !strings.Contains(index, "/ui/plugins/"+id) {
		t.Errorf("index does not link the pending plugin request %s", id)
	}
	_, page := get(t, alice, f.url+"/ui/plugins/"+id)
	for _, want := range []string{"@backstage/catalog-model@1.10.3", "Approve all waiting packages",
		`id="plugin-status">pending`} {
		if !strings.Contains(page, want) {
			t.Errorf("plugin page lacks %q", want)
		}
	}
	bob := signIn("bob")
	_, page = get(t, bob, f.url+"/ui/plugins/"+id)
	m := csrfField.FindStringSubmatch(page)
	if m == nil {
		t.Fatal("no CSRF token on the plugin page of bob")
	}
	resp, page := postForm(t, bob, f.url+"/ui/plugins/"+id+"/approve", url.Values{"csrf": {m[1]}}, "")
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(page, "own request") {
		t.Errorf("requester approves on the review page = %d, want 403 naming the own request", resp.StatusCode)
	}
}

// splitKey splits "@scope/name@1.2.3" at the version's '@'.
func splitKey(key string) (string, string) {
	i := strings.LastIndex(key, "@")
	return key[:i], key[i+1:]
}

// mirrorVersions returns the versions of a package on the mirror, none
// when the mirror does not have it.
func mirrorVersions(t *testing.T, mirror, name string) map[string]json.RawMessage {
	t.Helper()
	resp, err := http.Get(mirror + "/" + escapePackage(name))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound {
		return nil
	}
	var doc struct {
		Versions map[string]json.RawMessage `json:"versions"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
		t.Fatalf("packument of %s: %v", name, err)
	}
	return doc.Versions
}

func escapePackage(name string) string {
	return strings.Replace(name, "/", "%2f", 1)
}
