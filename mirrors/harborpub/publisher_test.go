package harborpub_test

import (
	"context"
	"encoding/base64"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/ingest/blobs"
	"github.com/sluice-dev/sluice/ingest/oci"
	"github.com/sluice-dev/sluice/ingest/state"
	"github.com/sluice-dev/sluice/internal/harbortest"
	"github.com/sluice-dev/sluice/internal/registrytest"
	"github.com/sluice-dev/sluice/internal/storetest"
	"github.com/sluice-dev/sluice/mirrors/harbor"
	"github.com/sluice-dev/sluice/mirrors/harborpub"
)

// env is a fake Harbor whose /v2/ is a real distribution registry behind
// a counting proxy, and an image copied from another registry into the
// blob store.
type env struct {
	harbor *harbortest.Server
	proxy  *registrytest.Proxy
	store  *blobs.Store
	app    *state.Artifact
	dir    string
}

func newEnv(t *testing.T) *env {
	t.Helper()
	up := registrytest.Start(t)
	target := registrytest.Start(t)
	proxy := registrytest.NewProxy(t, target.Host)
	srv := harbortest.New(t, harbortest.WithRegistry("http://"+proxy.Host))
	if _, err := registrytest.Image(up.Host, "team/app", "1.0.0", "app", 32<<10); err != nil {
		t.Fatal(err)
	}
	_, store := storetest.Open(t)
	return &env{harbor: srv, proxy: proxy, store: store, app: fetchArtifact(t, store, up.Host+"/team/app:1.0.0"),
		dir: t.TempDir()}
}

// fetchArtifact copies ref into the store and returns the artifact a sync
// would have recorded.
func fetchArtifact(t *testing.T, store *blobs.Store, ref string) *state.Artifact {
	t.Helper()
	ctx := context.Background()
	client := oci.NewClient()
	res, err := client.Resolve(ctx, oci.Request{Ref: ref, Origin: "test"})
	if err != nil {
		t.Fatal(err)
	}
	st, err := oci.NewFetcher(client, store, 4).Fetch(ctx, res[0])
	if err != nil {
		t.Fatal(err)
	}
	return &state.Artifact{Ecosystem: state.EcosystemOCI, Name: res[0].Repository, Version: res[0].Digest,
		Digest: st.Digest, MediaType: st.MediaType, Tags: res[0].Tags, Size: st.Size}
}

var settings = harbor.ProjectSettings{PreventVulnerable: true, Severity: "high", CosignRequired: true,
	AutoScan: true}

// publisher returns a publisher to project "mirror" that authenticates to
// the API as the fake's administrator.
func (e *env) publisher(t *testing.T) *harborpub.Publisher {
	t.Helper()
	admin, err := harbor.New(e.harbor.URL, harbor.WithBasicAuth(harbortest.AdminUser, harbortest.AdminPassword),
		harbor.WithBackoff(time.Millisecond, 10*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	p, err := harborpub.New(admin, harborpub.Config{Project: "mirror", Settings: settings, Dir: e.dir}, e.store)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// robot returns the fake's robot account whose name ends in suffix.
func (e *env) robot(t *testing.T, suffix string) harbortest.RobotAccount {
	t.Helper()
	for _, r := range e.harbor.Robots("mirror") {
		if strings.HasSuffix(r.Name, suffix) {
			return r
		}
	}
	t.Fatalf("fake has no robot account ending in %s: %+v", suffix, e.harbor.Robots("mirror"))
	return harbortest.RobotAccount{}
}

// count returns how many logged requests match method and a path prefix.
func (e *env) count(method, prefix string) int {
	n := 0
	for _, r := range e.harbor.Requests() {
		if r.Method == method && strings.HasPrefix(r.Path, prefix) {
			n++
		}
	}
	return n
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func TestPublishCreatesProjectAndRobots(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.harbor.SetScan(e.app.Digest, harbortest.Scan{Status: "Success", Severity: "High", Fixable: 1,
		BySeverity: map[string]int{"High": 2, "Low": 1}})
	p := e.publisher(t)
	if err := p.Check(ctx); err != nil {
		t.Fatal(err)
	}

	meta, ok := e.harbor.ProjectMetadata("mirror")
	if !ok {
		t.Fatal("project mirror was not created")
	}
	want := map[string]string{"public": "false", "prevent_vul": "true", "severity": "high",
		"enable_content_trust_cosign": "true", "auto_scan": "true"}
	for k, v := range want {
		if meta[k] != v {
			t.Errorf("project metadata %s = %q, want %q", k, meta[k], v)
		}
	}
	push, pull := e.robot(t, "+sluice-push"), e.robot(t, "+sluice-pull")
	if got := strings.Join(push.Access, ","); got != "artifact:read,repository:pull,repository:push" {
		t.Errorf("push robot access = %s", got)
	}
	if got := strings.Join(pull.Access, ","); got != "artifact:read,repository:pull" {
		t.Errorf("pull robot access = %s", got)
	}
	for path, robot := range map[string]harbortest.RobotAccount{p.PushCredentials(): push, p.PullCredentials(): pull} {
		info, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if info.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v, want 0600", path, info.Mode().Perm())
		}
		if data := readFile(t, path); !strings.Contains(data, `"auths"`) || !strings.Contains(data, `"auth"`) {
			t.Errorf("%s is not a docker config.json with credentials:\n%s", path, data)
		}
		if !strings.HasSuffix(robot.Name, filepath.Base(filepath.Dir(path))[len("mirror-"):]) {
			t.Errorf("%s should hold %s", path, robot.Name)
		}
	}

	repo, present, err := p.PublishImage(ctx, e.app)
	if err != nil {
		t.Fatal(err)
	}
	host := strings.TrimPrefix(e.harbor.URL, "http://")
	if repo != host+"/mirror/team/app" || present {
		t.Errorf("PublishImage = %s, present %v; want %s/mirror/team/app, not present", repo, present, host)
	}
	ev := p.PublishEvidence(repo, e.app.Digest)
	wantEv := map[string]string{"harbor.scanStatus": "Success", "harbor.scanSeverity": "High",
		"harbor.scanTotal": "3", "harbor.scanFixable": "1", "harbor.tags": "1.0.0"}
	for k, v := range wantEv {
		if ev[k] != v {
			t.Errorf("evidence %s = %q, want %q (all: %v)", k, ev[k], v, ev)
		}
	}

	pushes := 0
	for _, r := range e.harbor.Requests() {
		if !strings.HasPrefix(r.Path, "/v2/") {
			continue
		}
		if r.User == harbortest.AdminUser {
			t.Errorf("%s %s was sent with the administrator's credentials", r.Method, r.Path)
		}
		if r.User == push.Name && r.Method == http.MethodPut && strings.Contains(r.Path, "/manifests/") {
			pushes++
		}
	}
	if pushes == 0 {
		t.Error("no manifest was pushed with the push robot's credentials")
	}
}

func TestSecondPublishChangesNothing(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	first := e.publisher(t)
	if err := first.Check(ctx); err != nil {
		t.Fatal(err)
	}
	if _, _, err := first.PublishImage(ctx, e.app); err != nil {
		t.Fatal(err)
	}
	pullFile := readFile(t, first.PullCredentials())
	apiBefore := len(e.harbor.Requests())
	e.proxy.Reset()

	second := e.publisher(t)
	if err := second.Check(ctx); err != nil {
		t.Fatal(err)
	}
	_, present, err := second.PublishImage(ctx, e.app)
	if err != nil {
		t.Fatal(err)
	}
	if !present {
		t.Error("second publish did not find the image on Harbor")
	}
	after := e.harbor.Requests()[apiBefore:]
	for _, r := range after {
		if strings.HasPrefix(r.Path, "/api/") && r.Method != http.MethodGet && r.Method != http.MethodHead {
			t.Errorf("second run changed Harbor: %s %s", r.Method, r.Path)
		}
	}
	if n := e.proxy.Count("POST", "uploads") + e.proxy.Count("PUT", "uploads"); n != 1 {
		// The one POST is the push check, which starts an upload and
		// cancels it.
		t.Errorf("second run sent %d blob upload requests, want only the push check's", n)
	}
	if got := readFile(t, first.PullCredentials()); got != pullFile {
		t.Error("second run rewrote the pull robot's credentials file")
	}
}

func TestLostSecretRefreshed(t *testing.T) {
	tests := []struct {
		name  string
		spoil func(t *testing.T, e *env, path string)
	}{
		{"file deleted", func(t *testing.T, _ *env, path string) {
			if err := os.Remove(path); err != nil {
				t.Fatal(err)
			}
		}},
		{"secret rejected", func(t *testing.T, e *env, path string) {
			host := strings.TrimPrefix(e.harbor.URL, "http://")
			auth := base64.StdEncoding.EncodeToString([]byte(e.robot(t, "+sluice-push").Name + ":Wrong1234"))
			data := `{"auths": {"` + host + `": {"auth": "` + auth + `"}}}`
			if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			ctx := context.Background()
			if err := e.publisher(t).Check(ctx); err != nil {
				t.Fatal(err)
			}
			old := e.robot(t, "+sluice-push").Secret
			p := e.publisher(t)
			tt.spoil(t, e, p.PushCredentials())
			if err := p.Check(ctx); err != nil {
				t.Fatal(err)
			}
			if e.count(http.MethodPatch, "/api/v2.0/robots/") != 1 {
				t.Errorf("want one secret refresh, log: %+v", e.harbor.Requests())
			}
			if e.robot(t, "+sluice-push").Secret == old {
				t.Error("the push robot's secret was not refreshed")
			}
			if _, _, err := p.PublishImage(ctx, e.app); err != nil {
				t.Errorf("publish with the refreshed secret: %v", err)
			}
		})
	}
}

func TestPushPermissionError(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	p := e.publisher(t)
	if err := p.Check(ctx); err != nil {
		t.Fatal(err)
	}
	push := e.robot(t, "+sluice-push")
	e.harbor.SetRobotAccess(push.ID, "repository:pull", "artifact:read")
	_, _, err := p.PublishImage(ctx, e.app)
	if err == nil {
		t.Fatal("push by a robot without repository:push succeeded")
	}
	for _, want := range []string{`harbor project "mirror"`, push.Name, "repository:push", "403", "run sync again"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not contain %q: %v", want, err)
		}
	}
	// The next run's Check restores the permission.
	if err := e.publisher(t).Check(ctx); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(e.robot(t, "+sluice-push").Access, ","); !strings.Contains(got, "repository:push") {
		t.Errorf("Check did not restore repository:push: %s", got)
	}
}

func TestServerErrorsThenRecovery(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.harbor.FailNext(2, http.StatusServiceUnavailable)
	p := e.publisher(t)
	if err := p.Check(ctx); err != nil {
		t.Fatalf("Check after two 503s: %v", err)
	}
	// Five 500s outlast the client's four retries of the read-back.
	e.harbor.FailNext(5, http.StatusInternalServerError)
	_, _, err := p.PublishImage(ctx, e.app)
	if err == nil || !strings.Contains(err.Error(), "read back team/app@"+e.app.Digest) ||
		!strings.Contains(err.Error(), "500") {
		t.Fatalf("PublishImage during an outage: %v, want a read-back error naming the artifact and status", err)
	}
	_, present, err := p.PublishImage(ctx, e.app)
	if err != nil {
		t.Fatalf("PublishImage after the outage: %v", err)
	}
	if !present {
		t.Error("the image pushed before the outage's read-back was pushed again")
	}
	var statuses []int
	for _, r := range e.harbor.Requests()[:3] {
		statuses = append(statuses, r.Status)
	}
	if !slices.Equal(statuses, []int{503, 503, 200}) {
		t.Errorf("first statuses %v, want two 503s then 200", statuses)
	}
}

func TestReadBackNotFound(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	p := e.publisher(t)
	if err := p.Check(ctx); err != nil {
		t.Fatal(err)
	}
	e.harbor.FailNext(1, http.StatusNotFound)
	_, _, err := p.PublishImage(ctx, e.app)
	if err == nil {
		t.Fatal("PublishImage succeeded although Harbor's API did not show the artifact")
	}
	for _, want := range []string{`harbor project "mirror"`, "team/app@" + e.app.Digest, "does not show the artifact"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not contain %q: %v", want, err)
		}
	}
}

func TestNewRejectsInvalidConfig(t *testing.T) {
	admin, err := harbor.New("https://harbor.invalid")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		cfg  harborpub.Config
		want string
	}{
		{"no project", harborpub.Config{Dir: "d"}, "no project"},
		{"no folder", harborpub.Config{Project: "p"}, "no folder"},
		{"bad severity", harborpub.Config{Project: "p", Dir: "d",
			Settings: harbor.ProjectSettings{PreventVulnerable: true, Severity: "severe"}}, "invalid severity"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := harborpub.New(admin, tt.cfg, nil)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("New error = %v, want %q", err, tt.want)
			}
		})
	}
}
