package harbor_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/internal/harbortest"
	"github.com/sluice-dev/sluice/mirrors/harbor"
)

// newClient returns a client of the fake with fast retries.
func newClient(t *testing.T, srv *harbortest.Server, user, password string, opts ...harbor.Option) *harbor.Client {
	t.Helper()
	opts = append([]harbor.Option{harbor.WithBasicAuth(user, password), harbor.WithRetries(3),
		harbor.WithBackoff(time.Millisecond, 5*time.Millisecond)}, opts...)
	c, err := harbor.New(srv.URL, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func admin(t *testing.T, srv *harbortest.Server, opts ...harbor.Option) *harbor.Client {
	return newClient(t, srv, harbortest.AdminUser, harbortest.AdminPassword, opts...)
}

// withProject returns a fake with project "mirror" made by EnsureProject
// with strict settings, and an admin client.
func withProject(t *testing.T, opts ...harbortest.Option) (*harbortest.Server, *harbor.Client) {
	t.Helper()
	srv := harbortest.New(t, opts...)
	c := admin(t, srv)
	if _, err := c.EnsureProject(context.Background(), "mirror", strict); err != nil {
		t.Fatal(err)
	}
	return srv, c
}

var strict = harbor.ProjectSettings{Public: false, PreventVulnerable: true, Severity: "high",
	CosignRequired: true, AutoScan: true}

func TestEnsureProjectIdempotent(t *testing.T) {
	tests := []struct {
		name     string
		settings harbor.ProjectSettings
		wantMeta map[string]string
	}{
		{"strict private", strict, map[string]string{"public": "false", "prevent_vul": "true",
			"severity": "high", "enable_content_trust_cosign": "true", "auto_scan": "true"}},
		{"public without prevention", harbor.ProjectSettings{Public: true}, map[string]string{
			"public": "true", "prevent_vul": "false", "enable_content_trust_cosign": "false",
			"auto_scan": "false"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := harbortest.New(t)
			c := admin(t, srv)
			ctx := context.Background()
			first, err := c.EnsureProject(ctx, "mirror", tt.settings)
			if err != nil {
				t.Fatal(err)
			}
			if !first.Created || first.Project.ID == 0 || len(first.Changes) == 0 {
				t.Errorf("first EnsureProject = %+v, want created with an ID and changes", first)
			}
			if first.Project.Settings != tt.settings {
				t.Errorf("settings read back = %+v, want %+v", first.Project.Settings, tt.settings)
			}
			second, err := c.EnsureProject(ctx, "mirror", tt.settings)
			if err != nil {
				t.Fatal(err)
			}
			if second.Created || len(second.Changes) != 0 {
				t.Errorf("second EnsureProject = %+v, want no change", second)
			}
			meta, _ := srv.ProjectMetadata("mirror")
			for k, v := range tt.wantMeta {
				if meta[k] != v {
					t.Errorf("metadata %s = %q, want %q", k, meta[k], v)
				}
			}
			if n := countRequests(srv, http.MethodPost, "/api/v2.0/projects"); n != 1 {
				t.Errorf("POST /projects sent %d times, want 1", n)
			}
		})
	}
}

func TestEnsureProjectCorrectsDrift(t *testing.T) {
	tests := []struct {
		key, drifted string
		want         harbor.Change
	}{
		{"public", "true", harbor.Change{Field: "public", From: "true", To: "false"}},
		{"prevent_vul", "false", harbor.Change{Field: "prevent_vul", From: "false", To: "true"}},
		{"severity", "low", harbor.Change{Field: "severity", From: "low", To: "high"}},
		{"enable_content_trust_cosign", "false",
			harbor.Change{Field: "enable_content_trust_cosign", From: "false", To: "true"}},
		{"auto_scan", "false", harbor.Change{Field: "auto_scan", From: "false", To: "true"}},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			srv, c := withProject(t)
			ctx := context.Background()
			srv.SetProjectMetadata("mirror", tt.key, tt.drifted)
			res, err := c.EnsureProject(ctx, "mirror", strict)
			if err != nil {
				t.Fatal(err)
			}
			if res.Created || len(res.Changes) != 1 || res.Changes[0] != tt.want {
				t.Errorf("EnsureProject after drift = %+v, want the one change %+v", res, tt.want)
			}
			meta, _ := srv.ProjectMetadata("mirror")
			if got := meta[tt.key]; got == tt.drifted {
				t.Errorf("metadata %s still %q after EnsureProject", tt.key, got)
			}
		})
	}
}

func TestEnsureProjectRejectsInvalidSettings(t *testing.T) {
	srv := harbortest.New(t)
	c := admin(t, srv)
	tests := []struct {
		name     string
		settings harbor.ProjectSettings
		want     string
	}{
		{"unknown severity", harbor.ProjectSettings{PreventVulnerable: true, Severity: "urgent"}, "invalid severity"},
		{"prevention without severity", harbor.ProjectSettings{PreventVulnerable: true}, "needs a severity"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := c.EnsureProject(context.Background(), "mirror", tt.settings)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("EnsureProject error = %v, want it to contain %q", err, tt.want)
			}
		})
	}
	if len(srv.Requests()) != 0 {
		t.Errorf("invalid settings reached the server: %+v", srv.Requests())
	}
}

func TestProjectMissing(t *testing.T) {
	srv := harbortest.New(t)
	c := admin(t, srv)
	ok, err := c.ProjectExists(context.Background(), "absent")
	if err != nil || ok {
		t.Errorf("ProjectExists(absent) = %v, %v, want false, nil", ok, err)
	}
	_, err = c.Project(context.Background(), "absent")
	if !errors.Is(err, harbor.ErrNotFound) {
		t.Errorf("Project(absent) error = %v, want ErrNotFound", err)
	}
}

func countRequests(srv *harbortest.Server, method, path string) int {
	n := 0
	for _, r := range srv.Requests() {
		if r.Method == method && r.Path == path {
			n++
		}
	}
	return n
}
