package provision

import (
	"context"
	"fmt"

	"github.com/sluice-dev/sluice/mirrors/harbor"
)

// harborStep is one Harbor target: its declared state and the calls that
// plan and apply it.
type harborStep struct {
	target string
	want   any
	plan   func(context.Context) ([]harbor.Change, error)
	apply  func(context.Context) ([]harbor.Change, error)
}

// projectSettings derives a project's settings from its data class.
// Scanning on push is always on, because vulnerability prevention needs
// a scan report.
func (d *Declaration) projectSettings(p Project) harbor.ProjectSettings {
	s := harbor.ProjectSettings{Public: p.Public, AutoScan: true}
	for _, c := range d.DataClasses {
		if c.Name == p.DataClass {
			s.PreventVulnerable = c.Severity != ""
			s.Severity = c.Severity
			s.CosignRequired = c.CosignRequired
		}
	}
	return s
}

// harborSteps lists the Harbor targets of a project in the order they are
// applied: project, robots, tag immutability, tag retention.
func (r *run) harborSteps(p Project) []harborStep {
	c := r.opts.Harbor
	settings := r.d.projectSettings(p)
	steps := []harborStep{{
		target: "harbor project " + p.Name, want: settings,
		plan: func(ctx context.Context) ([]harbor.Change, error) { return c.PlanProject(ctx, p.Name, settings) },
		apply: func(ctx context.Context) ([]harbor.Change, error) {
			res, err := c.EnsureProject(ctx, p.Name, settings)
			return res.Changes, err
		},
	}}
	for _, push := range []bool{true, false} {
		steps = append(steps, r.robotStep(p.Name, push))
	}
	if len(p.ImmutableTags) > 0 {
		rules := make([]harbor.ImmutableRule, 0, len(p.ImmutableTags))
		for _, t := range p.ImmutableTags {
			rules = append(rules, harbor.ImmutableRule{Repositories: harbor.Selector{Pattern: "**"},
				Tags: harbor.Selector{Pattern: t}})
		}
		steps = append(steps, harborStep{target: "harbor immutability " + p.Name, want: rules,
			plan: func(ctx context.Context) ([]harbor.Change, error) {
				return c.PlanImmutability(ctx, p.Name, rules)
			},
			apply: func(ctx context.Context) ([]harbor.Change, error) {
				return c.EnsureImmutability(ctx, p.Name, rules)
			}})
	}
	if p.Retention != nil {
		policy := harbor.RetentionPolicy{Schedule: p.Retention.Schedule, Rules: []harbor.RetentionRule{{
			Template: "latestPushedK", Params: map[string]int64{"latestPushedK": p.Retention.KeepLast},
			Repositories: harbor.Selector{Pattern: "**"}, Tags: harbor.Selector{Pattern: "**"},
		}}}
		steps = append(steps, harborStep{target: "harbor retention " + p.Name, want: policy,
			plan: func(ctx context.Context) ([]harbor.Change, error) {
				return c.PlanRetention(ctx, p.Name, policy)
			},
			apply: func(ctx context.Context) ([]harbor.Change, error) {
				return c.EnsureRetention(ctx, p.Name, policy)
			}})
	}
	return steps
}

// robotStep plans or applies the push or pull robot of a project and
// keeps its credential for the files that carry it. The secret comes
// from Harbor when it creates the robot, else from the credential file
// written earlier. When that file is lost, apply refreshes the secret.
func (r *run) robotStep(project string, push bool) harborStep {
	c := r.opts.Harbor
	spec := harbor.PullRobot(project)
	if push {
		spec = harbor.PushRobot(project)
	}
	onDisk := credentialOnDisk(r.dir, project, push)
	keep := func(robot *harbor.Robot, secret string) {
		name := "robot$" + project + "+" + spec.Name
		if robot != nil {
			name = robot.Name
		}
		if secret == "" {
			secret = storedSecret(onDisk, name)
		}
		r.credentials = append(r.credentials, credentialFile(r.d, project, push,
			robotCredential{Registry: registryHost(r.d.Harbor.Registry), Username: name, Password: secret}))
	}
	return harborStep{target: "harbor robot " + project + "+" + spec.Name, want: spec,
		plan: func(ctx context.Context) ([]harbor.Change, error) {
			changes, robot, err := c.PlanRobot(ctx, spec)
			if err == nil {
				keep(robot, "")
			}
			return changes, err
		},
		apply: func(ctx context.Context) ([]harbor.Change, error) {
			res, err := c.EnsureRobot(ctx, spec)
			if err != nil {
				return nil, err
			}
			secret := res.Secret
			if secret == "" && storedSecret(onDisk, res.Robot.Name) == "" {
				if secret, err = c.RefreshRobotSecret(ctx, res.Robot); err != nil {
					return res.Changes, err
				}
				res.Changes = append(res.Changes, harbor.Change{Field: "robot secret",
					From: "not stored", To: "refreshed"})
			}
			keep(&res.Robot, secret)
			return res.Changes, nil
		}}
}

// techdocsDigest reads the digest of the TechDocs generator image.
func (r *run) techdocsDigest(ctx context.Context) (string, error) {
	img := r.d.Backstage.TechDocsImage
	a, err := r.opts.Harbor.Artifact(ctx, img.Project, img.Repository, img.Tag)
	if err != nil {
		return "", fmt.Errorf("techdocs image %s/%s:%s: %w", img.Project, img.Repository, img.Tag, err)
	}
	return a.Digest, nil
}
