package harbor

import (
	"context"
	"strconv"
)

// The Plan calls read Harbor and return the changes the matching Ensure
// call would make, without making them, for a dry run.

// PlanProject returns the changes EnsureProject would make to the project.
func (c *Client) PlanProject(ctx context.Context, name string, want ProjectSettings) ([]Change, error) {
	exists, err := c.ProjectExists(ctx, name)
	if err != nil || !exists {
		return createdProject(name, want), err
	}
	have, err := c.Project(ctx, name)
	if err != nil {
		return nil, err
	}
	return settingsDiff(have.Settings, want), nil
}

// createdProject lists the settings a new project gets, as changes.
func createdProject(name string, want ProjectSettings) []Change {
	b := strconv.FormatBool
	changes := []Change{{Field: "project", To: name}, {Field: "public", To: b(want.Public)},
		{Field: "prevent_vul", To: b(want.PreventVulnerable)}}
	if want.Severity != "" {
		changes = append(changes, Change{Field: "severity", To: want.Severity})
	}
	return append(changes, Change{Field: "enable_content_trust_cosign", To: b(want.CosignRequired)},
		Change{Field: "auto_scan", To: b(want.AutoScan)})
}

// PlanRobot returns the changes EnsureRobot would make, and the robot when
// it exists. A missing project means a missing robot.
func (c *Client) PlanRobot(ctx context.Context, spec RobotSpec) ([]Change, *Robot, error) {
	exists, err := c.ProjectExists(ctx, spec.Project)
	if err != nil {
		return nil, nil, err
	}
	if exists {
		robots, err := c.Robots(ctx, spec.Project)
		if err != nil {
			return nil, nil, err
		}
		for _, r := range robots {
			if robotNamed(r.Name, spec.Project, spec.Name) {
				return robotChanges(r, spec), &r, nil
			}
		}
	}
	return []Change{{Field: "robot account", To: spec.Project + "+" + spec.Name},
		{Field: "robot permissions", To: accessString(spec.Access)}}, nil, nil
}

// robotChanges lists how an existing robot differs from spec.
func robotChanges(have Robot, spec RobotSpec) []Change {
	var changes []Change
	if !sameAccess(have.Access, spec.Access) {
		changes = append(changes, Change{Field: "robot permissions", From: accessString(have.Access),
			To: accessString(spec.Access)})
	}
	if have.Description != spec.Description {
		changes = append(changes, Change{Field: "robot description", From: have.Description,
			To: spec.Description})
	}
	if have.Disabled {
		changes = append(changes, Change{Field: "robot disabled", From: "true", To: "false"})
	}
	return changes
}

// PlanImmutability returns the changes EnsureImmutability would make.
func (c *Client) PlanImmutability(ctx context.Context, project string, want []ImmutableRule) ([]Change, error) {
	var have []ImmutableRule
	exists, err := c.ProjectExists(ctx, project)
	if err != nil {
		return nil, err
	}
	if exists {
		if have, err = c.ImmutableRules(ctx, project); err != nil {
			return nil, err
		}
	}
	var changes []Change
	for _, w := range want {
		i := matchImmutable(have, w)
		switch {
		case i < 0:
			changes = append(changes, Change{Field: "tag immutability rule", To: w.String()})
		case have[i].Disabled:
			changes = append(changes, Change{Field: "tag immutability rule " + w.String(),
				From: "disabled", To: "enabled"})
		}
	}
	return changes, nil
}

// matchImmutable returns the index of the rule in have with the selectors
// of w, or -1.
func matchImmutable(have []ImmutableRule, w ImmutableRule) int {
	for j, h := range have {
		if h.Repositories == w.Repositories && h.Tags == w.Tags {
			return j
		}
	}
	return -1
}

// PlanRetention returns the change EnsureRetention would make.
func (c *Client) PlanRetention(ctx context.Context, project string, want RetentionPolicy) ([]Change, error) {
	exists, err := c.ProjectExists(ctx, project)
	if err != nil {
		return nil, err
	}
	have, found := RetentionPolicy{}, false
	if exists {
		if have, found, err = c.Retention(ctx, project); err != nil {
			return nil, err
		}
	}
	if !found {
		return []Change{{Field: "tag retention policy", To: policyString(want)}}, nil
	}
	if policyString(have) == policyString(want) {
		return nil, nil
	}
	return []Change{{Field: "tag retention policy", From: policyString(have), To: policyString(want)}}, nil
}
