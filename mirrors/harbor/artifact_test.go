package harbor_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/sluice-dev/sluice/internal/harbortest"
	"github.com/sluice-dev/sluice/mirrors/harbor"
)

const (
	digestA = "sha256:1111111111111111111111111111111111111111111111111111111111111111"
	digestB = "sha256:2222222222222222222222222222222222222222222222222222222222222222"
)

// seeded returns a fake with project "mirror", two artifacts and a pull
// robot, and an admin client.
func seeded(t *testing.T) (*harbortest.Server, *harbor.Client, harbor.RobotResult) {
	t.Helper()
	srv, c := withProject(t)
	ctx := context.Background()
	for _, a := range []harbortest.Artifact{
		{Repository: "library/nginx", Digest: digestA, Size: 1234, Tags: []string{"1.27", "latest"},
			Scan: &harbortest.Scan{Status: "Success", Severity: "High", Fixable: 1,
				BySeverity: map[string]int{"High": 1, "Low": 2}}},
		{Repository: "busybox", Digest: digestB, Size: 99},
	} {
		if err := srv.AddArtifact("mirror", a); err != nil {
			t.Fatal(err)
		}
	}
	pull, err := c.EnsureRobot(ctx, harbor.PullRobot("mirror"))
	if err != nil {
		t.Fatal(err)
	}
	return srv, c, pull
}

func TestArtifact(t *testing.T) {
	srv, c, pull := seeded(t)
	robot := newClient(t, srv, pull.Robot.Name, pull.Secret)
	tests := []struct {
		name       string
		client     *harbor.Client
		repo, ref  string
		wantDigest string
		wantTags   int
		wantScan   *harbor.VulnerabilitySummary
	}{
		{"by digest with scan", c, "library/nginx", digestA, digestA, 2,
			&harbor.VulnerabilitySummary{Total: 3, Fixable: 1, BySeverity: map[string]int{"High": 1, "Low": 2}}},
		{"by tag", c, "library/nginx", "latest", digestA, 2,
			&harbor.VulnerabilitySummary{Total: 3, Fixable: 1, BySeverity: map[string]int{"High": 1, "Low": 2}}},
		{"never scanned", c, "busybox", digestB, digestB, 0, nil},
		{"as pull robot", robot, "library/nginx", digestA, digestA, 2,
			&harbor.VulnerabilitySummary{Total: 3, Fixable: 1, BySeverity: map[string]int{"High": 1, "Low": 2}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := tt.client.Artifact(context.Background(), "mirror", tt.repo, tt.ref)
			if err != nil {
				t.Fatal(err)
			}
			if a.Digest != tt.wantDigest || len(a.Tags) != tt.wantTags {
				t.Errorf("artifact = %s with %d tags, want %s with %d", a.Digest, len(a.Tags), tt.wantDigest, tt.wantTags)
			}
			scan, ok := a.Scan()
			if (tt.wantScan != nil) != ok {
				t.Fatalf("scan present = %v, want %v", ok, tt.wantScan != nil)
			}
			if !ok {
				return
			}
			if scan.ScanStatus != "Success" || scan.Severity != "High" || scan.Summary.Total != tt.wantScan.Total ||
				scan.Summary.Fixable != tt.wantScan.Fixable || scan.Summary.BySeverity["Low"] != 2 {
				t.Errorf("scan = %+v, want %+v", scan, tt.wantScan)
			}
		})
	}
}

func TestArtifactNotFound(t *testing.T) {
	_, c, _ := seeded(t)
	_, err := c.Artifact(context.Background(), "mirror", "library/nginx", digestB)
	if !errors.Is(err, harbor.ErrNotFound) {
		t.Errorf("Artifact of a missing digest: %v, want ErrNotFound", err)
	}
}

func TestTags(t *testing.T) {
	_, c, _ := seeded(t)
	tags, err := c.Tags(context.Background(), "mirror", "library/nginx", digestA)
	if err != nil {
		t.Fatal(err)
	}
	if len(tags) != 2 || tags[0].Name != "1.27" || tags[1].Name != "latest" {
		t.Errorf("tags = %+v, want 1.27 and latest", tags)
	}
}

func TestEnsureImmutability(t *testing.T) {
	srv, c, _ := seeded(t)
	ctx := context.Background()
	rules := []harbor.ImmutableRule{
		{Repositories: harbor.Selector{Pattern: "**"}, Tags: harbor.Selector{Pattern: "v*"}},
		{Repositories: harbor.Selector{Pattern: "library/**"}, Tags: harbor.Selector{Pattern: "latest", Exclude: true}},
	}
	steps := []struct {
		name        string
		before      func()
		wantChanges int
	}{
		{"create", func() {}, 2},
		{"unchanged", func() {}, 0},
		{"re-enable after drift", func() { srv.DisableImmutableRules("mirror") }, 2},
	}
	for _, st := range steps {
		st.before()
		changes, err := c.EnsureImmutability(ctx, "mirror", rules)
		if err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if len(changes) != st.wantChanges {
			t.Errorf("%s: changes = %v, want %d", st.name, changes, st.wantChanges)
		}
		if enabled, disabled := srv.ImmutableRules("mirror"); enabled != 2 || disabled != 0 {
			t.Errorf("%s: fake has %d enabled and %d disabled rules, want 2 and 0", st.name, enabled, disabled)
		}
	}
	listed, err := c.ImmutableRules(ctx, "mirror")
	if err != nil {
		t.Fatal(err)
	}
	if len(listed) != 2 || listed[1].Tags != rules[1].Tags || listed[1].Repositories != rules[1].Repositories {
		t.Errorf("ImmutableRules = %+v, want %+v", listed, rules)
	}
}

func TestEnsureRetention(t *testing.T) {
	srv, c, _ := seeded(t)
	ctx := context.Background()
	policy := harbor.RetentionPolicy{Schedule: "0 0 3 * * *", Rules: []harbor.RetentionRule{
		{Template: "latestPushedK", Params: map[string]int64{"latestPushedK": 10},
			Repositories: harbor.Selector{Pattern: "**"}, Tags: harbor.Selector{Pattern: "**"}, Untagged: true},
		{Template: "always", Repositories: harbor.Selector{Pattern: "**"}, Tags: harbor.Selector{Pattern: "v*"}},
	}}
	nightly := policy
	nightly.Schedule = "0 0 1 * * *"
	steps := []struct {
		name        string
		policy      harbor.RetentionPolicy
		wantChanges int
		wantCron    string
	}{
		{"create", policy, 1, "0 0 3 * * *"},
		{"unchanged", policy, 0, "0 0 3 * * *"},
		{"schedule changed", nightly, 1, "0 0 1 * * *"},
	}
	for _, st := range steps {
		changes, err := c.EnsureRetention(ctx, "mirror", st.policy)
		if err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if len(changes) != st.wantChanges {
			t.Errorf("%s: changes = %v, want %d", st.name, changes, st.wantChanges)
		}
		rules, cron, ok := srv.RetentionRules("mirror")
		if !ok || rules != 2 || cron != st.wantCron {
			t.Errorf("%s: fake policy has %d rules, cron %q, want 2 and %q", st.name, rules, cron, st.wantCron)
		}
	}
	got, ok, err := c.Retention(ctx, "mirror")
	if err != nil || !ok {
		t.Fatalf("Retention = %v, %v", ok, err)
	}
	if len(got.Rules) != 2 || !got.Rules[0].Untagged || got.Rules[0].Params["latestPushedK"] != 10 {
		t.Errorf("Retention read back %+v", got)
	}
}

func TestEnsurePoliciesRejectIncompleteRules(t *testing.T) {
	srv := harbortest.New(t)
	c := admin(t, srv)
	ctx := context.Background()
	if _, err := c.EnsureRetention(ctx, "mirror", harbor.RetentionPolicy{Rules: []harbor.RetentionRule{
		{Template: "always"}}}); err == nil {
		t.Error("EnsureRetention accepted a rule without selectors")
	}
	if _, err := c.EnsureImmutability(ctx, "mirror", []harbor.ImmutableRule{{}}); err == nil {
		t.Error("EnsureImmutability accepted a rule without selectors")
	}
}

func TestTagsPaginate(t *testing.T) {
	srv, c := withProject(t)
	ctx := context.Background()
	var names []string
	for i := range 250 {
		names = append(names, fmt.Sprintf("v%d", i))
	}
	if err := srv.AddArtifact("mirror", harbortest.Artifact{Repository: "app", Digest: digestA, Tags: names}); err != nil {
		t.Fatal(err)
	}
	tags, err := c.Tags(ctx, "mirror", "app", digestA)
	if err != nil {
		t.Fatal(err)
	}
	if len(tags) != 250 || tags[249].Name != "v249" {
		t.Errorf("got %d tags, want all 250 in order", len(tags))
	}
	if n := countRequests(srv, http.MethodGet, "/api/v2.0/projects/mirror/repositories/app/artifacts/"+digestA+"/tags"); n != 3 {
		t.Errorf("tag list took %d requests, want 3 pages of at most 100", n)
	}
}
