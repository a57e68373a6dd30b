package harbor_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/sluice-dev/sluice/internal/harbortest"
	"github.com/sluice-dev/sluice/mirrors/harbor"
)

func TestEnsureRobot(t *testing.T) {
	tests := []struct {
		name       string
		spec       harbor.RobotSpec
		wantName   string
		wantAccess []string
	}{
		{"push for sluice", harbor.PushRobot("mirror"), "robot$mirror+sluice-push",
			[]string{"artifact:read", "repository:pull", "repository:push"}},
		{"pull for builds", harbor.PullRobot("mirror"), "robot$mirror+sluice-pull",
			[]string{"artifact:read", "repository:pull"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, c := withProject(t)
			ctx := context.Background()
			first, err := c.EnsureRobot(ctx, tt.spec)
			if err != nil {
				t.Fatal(err)
			}
			if !first.Created || first.Secret == "" || first.Robot.Name != tt.wantName {
				t.Errorf("first EnsureRobot = %+v, want created %s with a secret", first, tt.wantName)
			}
			stored := srv.Robots("mirror")
			if len(stored) != 1 || !slices.Equal(stored[0].Access, tt.wantAccess) {
				t.Fatalf("fake robots = %+v, want one with access %v", stored, tt.wantAccess)
			}
			if stored[0].Secret != first.Secret {
				t.Errorf("returned secret differs from the one Harbor stored")
			}
			second, err := c.EnsureRobot(ctx, tt.spec)
			if err != nil {
				t.Fatal(err)
			}
			if second.Created || second.Secret != "" || len(second.Changes) != 0 || second.Robot.ID != first.Robot.ID {
				t.Errorf("second EnsureRobot = %+v, want the same robot unchanged and no secret", second)
			}
			robotClient := newClient(t, srv, first.Robot.Name, first.Secret)
			u, err := robotClient.Check(ctx)
			if err != nil || !u.Robot {
				t.Errorf("Check as the new robot = %+v, %v, want a robot identity", u, err)
			}
		})
	}
}

func TestEnsureRobotCorrectsPermissions(t *testing.T) {
	srv, c := withProject(t)
	ctx := context.Background()
	first, err := c.EnsureRobot(ctx, harbor.PushRobot("mirror"))
	if err != nil {
		t.Fatal(err)
	}
	srv.SetRobotAccess(first.Robot.ID, "repository:pull")
	res, err := c.EnsureRobot(ctx, harbor.PushRobot("mirror"))
	if err != nil {
		t.Fatal(err)
	}
	want := harbor.Change{Field: "robot permissions", From: "repository:pull",
		To: "artifact:read,repository:pull,repository:push"}
	if len(res.Changes) != 1 || res.Changes[0] != want {
		t.Errorf("changes = %+v, want %+v", res.Changes, want)
	}
	if got := srv.Robots("mirror")[0].Access; len(got) != 3 {
		t.Errorf("access after correction = %v, want 3 permissions", got)
	}
}

func TestRefreshRobotSecret(t *testing.T) {
	srv, c := withProject(t)
	ctx := context.Background()
	created, err := c.EnsureRobot(ctx, harbor.PullRobot("mirror"))
	if err != nil {
		t.Fatal(err)
	}
	secret, err := c.RefreshRobotSecret(ctx, created.Robot)
	if err != nil {
		t.Fatal(err)
	}
	if secret == "" || secret == created.Secret {
		t.Fatalf("refreshed secret %q, want a new one", secret)
	}
	_, err = newClient(t, srv, created.Robot.Name, created.Secret).Check(ctx)
	if err == nil {
		t.Error("old secret still accepted after refresh")
	}
	if _, err := newClient(t, srv, created.Robot.Name, secret).Check(ctx); err != nil {
		t.Errorf("new secret rejected: %v", err)
	}
}

func TestEnsureRobotCustomPrefix(t *testing.T) {
	_, c := withProject(t, harbortest.WithRobotPrefix("bot-"))
	ctx := context.Background()
	first, err := c.EnsureRobot(ctx, harbor.PushRobot("mirror"))
	if err != nil {
		t.Fatal(err)
	}
	if first.Robot.Name != "bot-mirror+sluice-push" {
		t.Errorf("robot name = %q, want bot-mirror+sluice-push", first.Robot.Name)
	}
	second, err := c.EnsureRobot(ctx, harbor.PushRobot("mirror"))
	if err != nil || second.Created {
		t.Errorf("second EnsureRobot = %+v, %v, want the existing robot found", second, err)
	}
}

func TestRobotNamed(t *testing.T) {
	tests := []struct {
		full, project, short string
		want                 bool
	}{
		{"robot$mirror+push", "mirror", "push", true},
		{"custom+mirror+push", "mirror", "push", false},
		{"robot$mirror+xpush", "mirror", "push", false},
		{"mirror+push", "mirror", "push", true},
	}
	for _, tt := range tests {
		if got := harbor.RobotNamed(tt.full, tt.project, tt.short); got != tt.want {
			t.Errorf("robotNamed(%q, %q, %q) = %v, want %v", tt.full, tt.project, tt.short, got, tt.want)
		}
	}
}

func TestEnsureRobotMissingProject(t *testing.T) {
	srv := harbortest.New(t)
	_, err := admin(t, srv).EnsureRobot(context.Background(), harbor.PushRobot("absent"))
	if !errors.Is(err, harbor.ErrNotFound) {
		t.Errorf("EnsureRobot in a missing project: %v, want ErrNotFound", err)
	}
}
