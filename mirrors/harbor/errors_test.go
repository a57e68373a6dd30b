package harbor_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/internal/harbortest"
	"github.com/sluice-dev/sluice/mirrors/harbor"
)

func TestPermissionErrors(t *testing.T) {
	srv, c := withProject(t, harbortest.WithUser("dev", "Dev12345", false))
	ctx := context.Background()
	pull, err := c.EnsureRobot(ctx, harbor.PullRobot("mirror"))
	if err != nil {
		t.Fatal(err)
	}
	dev := newClient(t, srv, "dev", "Dev12345")
	robot := newClient(t, srv, pull.Robot.Name, pull.Secret)
	anonymous := newClient(t, srv, "", "")
	wrong := newClient(t, srv, harbortest.AdminUser, "wrong")
	tests := []struct {
		name     string
		run      func() error
		sentinel error
		want     []string
	}{
		{"user creates project", func() error {
			_, err := dev.EnsureProject(ctx, "other", strict)
			return err
		}, harbor.ErrForbidden, []string{`create project in project "other"`, "status 403 FORBIDDEN",
			"Only system admin can create project", `account "dev" lacks the permission to create projects`}},
		{"user reads private project", func() error {
			_, err := dev.EnsureRobot(ctx, harbor.PushRobot("mirror"))
			return err
		}, harbor.ErrForbidden, []string{`read project in project "mirror"`, `account "dev"`,
			"to read the project"}},
		{"pull robot creates robot", func() error {
			_, err := robot.EnsureRobot(ctx, harbor.PushRobot("mirror"))
			return err
		}, harbor.ErrForbidden, []string{`account "robot$mirror+sluice-pull"`}},
		{"anonymous reads private project", func() error {
			_, err := anonymous.Project(ctx, "mirror")
			return err
		}, harbor.ErrUnauthorized, []string{"status 401 UNAUTHORIZED", "the request had no credentials"}},
		{"wrong password reads project", func() error {
			_, err := wrong.Project(ctx, "mirror")
			return err
		}, harbor.ErrUnauthorized, []string{`Harbor rejected the credentials of "admin"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.run()
			if !errors.Is(err, tt.sentinel) {
				t.Fatalf("error = %v, want %v", err, tt.sentinel)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			var he *harbor.Error
			if !errors.As(err, &he) || he.RequestID == "" || he.Code == "" {
				t.Errorf("error %#v lacks a request ID or Harbor error code", err)
			}
		})
	}
}

func TestRetries(t *testing.T) {
	tests := []struct {
		name       string
		inject     func(*harbortest.Server)
		wantErr    bool
		wantStatus []int // statuses of the requests the fake received
	}{
		{"503 twice then recovery", func(s *harbortest.Server) { s.FailNext(2, http.StatusServiceUnavailable) },
			false, []int{503, 503, 200}},
		{"500 once then recovery", func(s *harbortest.Server) { s.FailNext(1, http.StatusInternalServerError) },
			false, []int{500, 200}},
		{"500 past the retries", func(s *harbortest.Server) { s.FailNext(10, http.StatusInternalServerError) },
			true, []int{500, 500, 500, 500}},
		{"429 then recovery", func(s *harbortest.Server) { s.ThrottleNext(1, time.Second) },
			false, []int{429, 200}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := harbortest.New(t)
			c := admin(t, srv)
			tt.inject(srv)
			_, err := c.CurrentUser(context.Background())
			if (err != nil) != tt.wantErr {
				t.Fatalf("CurrentUser error = %v, want error %v", err, tt.wantErr)
			}
			var statuses []int
			for _, r := range srv.Requests() {
				statuses = append(statuses, r.Status)
			}
			if !equalInts(statuses, tt.wantStatus) {
				t.Errorf("fake saw statuses %v, want %v", statuses, tt.wantStatus)
			}
			var he *harbor.Error
			if tt.wantErr && (!errors.As(err, &he) || he.Attempts != 4 || !strings.Contains(err.Error(), "after 4 attempts")) {
				t.Errorf("error = %v, want a *harbor.Error after 4 attempts", err)
			}
		})
	}
}

func TestRetryAfterHonoured(t *testing.T) {
	srv := harbortest.New(t)
	// The backoff is 1ms, so a gap of a second can only come from the
	// Retry-After header.
	c := admin(t, srv)
	srv.ThrottleNext(1, time.Second)
	if _, err := c.CurrentUser(context.Background()); err != nil {
		t.Fatal(err)
	}
	reqs := srv.Requests()
	if len(reqs) != 2 {
		t.Fatalf("fake saw %d requests, want 2", len(reqs))
	}
	if gap := reqs[1].Time.Sub(reqs[0].Time); gap < time.Second {
		t.Errorf("retry came %v after the 429, want at least the 1s of Retry-After", gap)
	}
	if reqs[0].RequestID != reqs[1].RequestID || !strings.HasPrefix(reqs[0].RequestID, "sluice-") {
		t.Errorf("request IDs %q and %q, want one sluice- ID for both attempts", reqs[0].RequestID, reqs[1].RequestID)
	}
}

func TestCheck(t *testing.T) {
	srv := harbortest.New(t, harbortest.WithUser("dev", "Dev12345", false))
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadURL := "http://" + closed.Addr().String()
	closed.Close()
	tests := []struct {
		name      string
		url       string
		user, pwd string
		wantUser  harbor.User
		wantErr   string
	}{
		{"admin", srv.URL, harbortest.AdminUser, harbortest.AdminPassword,
			harbor.User{Username: "admin", SysAdmin: true}, ""},
		{"user", srv.URL, "dev", "Dev12345", harbor.User{Username: "dev"}, ""},
		{"wrong password", srv.URL, harbortest.AdminUser, "wrong", harbor.User{},
			`rejected the credentials of "admin": check the password`},
		{"no credentials", srv.URL, "", "", harbor.User{}, "no credentials configured"},
		{"nothing listening", deadURL, harbortest.AdminUser, harbortest.AdminPassword, harbor.User{},
			"is not reachable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := harbor.New(tt.url, harbor.WithBasicAuth(tt.user, tt.pwd), harbor.WithRetries(1),
				harbor.WithBackoff(time.Millisecond, time.Millisecond))
			if err != nil {
				t.Fatal(err)
			}
			u, err := c.Check(context.Background())
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("Check error = %v, want it to contain %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if u.Username != tt.wantUser.Username || u.SysAdmin != tt.wantUser.SysAdmin || u.ID == 0 {
				t.Errorf("Check = %+v, want %+v with an ID", u, tt.wantUser)
			}
		})
	}
}

func TestNewRejectsBadURL(t *testing.T) {
	for _, u := range []string{"", "harbor.internal", "ftp://harbor", "http://"} {
		if _, err := harbor.New(u); err == nil {
			t.Errorf("New(%q) succeeded, want an invalid URL error", u)
		}
	}
	c, err := harbor.New("https://harbor.internal/api/v2.0/")
	if err != nil || c.URL() != "https://harbor.internal" {
		t.Errorf("New strips the API prefix: got %v, %v", c, err)
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestRetriedCreate covers a POST that Harbor commits but whose response
// is lost: the retry meets a 409 conflict with the client's own change.
func TestRetriedCreate(t *testing.T) {
	t.Run("project is reconciled", func(t *testing.T) {
		srv := harbortest.New(t)
		c := admin(t, srv)
		srv.FailNextAfterHandling(http.MethodPost, 1, http.StatusBadGateway)
		res, err := c.EnsureProject(context.Background(), "mirror", strict)
		if err != nil {
			t.Fatal(err)
		}
		if res.Project.Settings != strict || len(res.Changes) != 0 {
			t.Errorf("EnsureProject = %+v, want the project found with its settings", res)
		}
		if n := countRequests(srv, http.MethodPost, "/api/v2.0/projects"); n != 2 {
			t.Errorf("POST /projects sent %d times, want 2", n)
		}
	})
	t.Run("robot secret is reported lost", func(t *testing.T) {
		srv, c := withProject(t)
		srv.FailNextAfterHandling(http.MethodPost, 1, http.StatusBadGateway)
		_, err := c.EnsureRobot(context.Background(), harbor.PushRobot("mirror"))
		if !errors.Is(err, harbor.ErrConflict) || !strings.Contains(err.Error(), "RefreshRobotSecret") {
			t.Fatalf("EnsureRobot error = %v, want a conflict that says to refresh the secret", err)
		}
		res, err := c.EnsureRobot(context.Background(), harbor.PushRobot("mirror"))
		if err != nil || res.Created {
			t.Fatalf("second EnsureRobot = %+v, %v, want the robot found", res, err)
		}
		if _, err := c.RefreshRobotSecret(context.Background(), res.Robot); err != nil {
			t.Errorf("RefreshRobotSecret: %v", err)
		}
	})
}
