package harbor

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// RetentionRule keeps the artifacts it selects; a retention run deletes
// the artifacts that no rule of the policy keeps.
type RetentionRule struct {
	// Template is Harbor's rule kind, such as "latestPushedK" (keep the K
	// most recently pushed), "nDaysSinceLastPush" or "always".
	Template string
	// Params holds the template's parameters, such as
	// {"latestPushedK": 10}. Harbor names each after its template.
	Params       map[string]int64
	Repositories Selector
	Tags         Selector
	// Untagged makes the rule select untagged artifacts as well.
	Untagged bool
	Disabled bool
}

func (r RetentionRule) String() string {
	keys := slices.Sorted(maps.Keys(r.Params))
	params := make([]string, 0, len(keys))
	for _, k := range keys {
		params = append(params, fmt.Sprintf("%s=%d", k, r.Params[k]))
	}
	s := fmt.Sprintf("%s(%s) repositories %s, tags %s", r.Template, strings.Join(params, ","),
		r.Repositories, r.Tags)
	if r.Untagged {
		s += " and untagged"
	}
	if r.Disabled {
		s += " (disabled)"
	}
	return s
}

// RetentionPolicy is a project's tag retention policy.
type RetentionPolicy struct {
	ID    int64
	Rules []RetentionRule
	// Schedule is the cron expression of scheduled runs (Harbor's six-field
	// form, seconds first); empty means the policy runs only when started
	// by hand.
	Schedule string
}

// retentionJSON is Harbor's RetentionPolicy definition.
type retentionJSON struct {
	ID        int64               `json:"id,omitempty"`
	Algorithm string              `json:"algorithm"`
	Rules     []retentionRuleJSON `json:"rules"`
	Trigger   struct {
		Kind     string `json:"kind"`
		Settings struct {
			Cron string `json:"cron"`
		} `json:"settings"`
	} `json:"trigger"`
	Scope struct {
		Level string `json:"level"`
		Ref   int64  `json:"ref"`
	} `json:"scope"`
}

// retentionRuleJSON is Harbor's RetentionRule definition.
type retentionRuleJSON struct {
	ID             int64                     `json:"id,omitempty"`
	Priority       int64                     `json:"priority,omitempty"`
	Disabled       bool                      `json:"disabled"`
	Action         string                    `json:"action"`
	Template       string                    `json:"template"`
	Params         map[string]int64          `json:"params"`
	TagSelectors   []selectorJSON            `json:"tag_selectors"`
	ScopeSelectors map[string][]selectorJSON `json:"scope_selectors"`
}

func (p RetentionPolicy) json(projectID int64) retentionJSON {
	var out retentionJSON
	out.ID = p.ID
	out.Algorithm = "or"
	out.Trigger.Kind = "Schedule"
	out.Trigger.Settings.Cron = p.Schedule
	out.Scope.Level = "project"
	out.Scope.Ref = projectID
	out.Rules = []retentionRuleJSON{}
	for _, r := range p.Rules {
		extras, _ := json.Marshal(map[string]bool{"untagged": r.Untagged})
		params := r.Params
		if params == nil {
			params = map[string]int64{}
		}
		out.Rules = append(out.Rules, retentionRuleJSON{Disabled: r.Disabled, Action: "retain",
			Template: r.Template, Params: params, TagSelectors: tagSelectorJSON(r.Tags, string(extras)),
			ScopeSelectors: repoSelectorJSON(r.Repositories)})
	}
	return out
}

func (p retentionJSON) policy() RetentionPolicy {
	out := RetentionPolicy{ID: p.ID, Schedule: p.Trigger.Settings.Cron}
	for _, r := range p.Rules {
		repo, tag, extras := selectors(r.ScopeSelectors, r.TagSelectors)
		var x struct {
			Untagged bool `json:"untagged"`
		}
		_ = json.Unmarshal([]byte(extras), &x)
		params := r.Params
		if len(params) == 0 {
			params = nil
		}
		out.Rules = append(out.Rules, RetentionRule{Template: r.Template, Params: params,
			Repositories: repo, Tags: tag, Untagged: x.Untagged, Disabled: r.Disabled})
	}
	return out
}

// Retention returns the project's tag retention policy, and false when the
// project has none.
func (c *Client) Retention(ctx context.Context, project string) (RetentionPolicy, bool, error) {
	p, err := c.Project(ctx, project)
	if err != nil || p.RetentionID == 0 {
		return RetentionPolicy{}, false, err
	}
	pol, err := c.retention(ctx, project, p.RetentionID)
	return pol, err == nil, err
}

func (c *Client) retention(ctx context.Context, project string, id int64) (RetentionPolicy, error) {
	var raw retentionJSON
	_, err := c.decode(ctx, call{op: "read tag retention policy", project: project,
		need: "to read tag retention (project admin or maintainer)", method: http.MethodGet,
		path: "/retentions/" + strconv.FormatInt(id, 10)}, &raw)
	return raw.policy(), err
}

// EnsureRetention gives the project the tag retention policy: it creates
// the policy when the project has none, and replaces its rules and
// schedule when they differ. Rule order is significant to the comparison.
func (c *Client) EnsureRetention(ctx context.Context, project string, want RetentionPolicy) ([]Change, error) {
	for _, r := range want.Rules {
		if r.Template == "" || r.Repositories.Pattern == "" || r.Tags.Pattern == "" {
			return nil, fmt.Errorf("harbor: tag retention rule %q in project %q: template, repository "+
				"and tag patterns are required", r, project)
		}
	}
	p, err := c.Project(ctx, project)
	if err != nil {
		return nil, err
	}
	need := "to manage tag retention (project admin or maintainer)"
	if p.RetentionID == 0 {
		_, err := c.do(ctx, call{op: "create tag retention policy", project: project, need: need,
			method: http.MethodPost, path: "/retentions", body: want.json(p.ID)})
		if err != nil {
			return nil, err
		}
		return []Change{{Field: "tag retention policy", To: policyString(want)}}, nil
	}
	have, err := c.retention(ctx, project, p.RetentionID)
	if err != nil {
		return nil, err
	}
	want.ID = p.RetentionID
	if policyString(have) == policyString(want) {
		return nil, nil
	}
	_, err = c.do(ctx, call{op: "update tag retention policy", project: project, need: need,
		method: http.MethodPut, path: "/retentions/" + strconv.FormatInt(p.RetentionID, 10),
		body: want.json(p.ID)})
	if err != nil {
		return nil, err
	}
	return []Change{{Field: "tag retention policy", From: policyString(have), To: policyString(want)}}, nil
}

// policyString returns a comparable text form of a policy's rules and
// schedule.
func policyString(p RetentionPolicy) string {
	rules := make([]string, 0, len(p.Rules))
	for _, r := range p.Rules {
		rules = append(rules, r.String())
	}
	return fmt.Sprintf("[%s] schedule %q", strings.Join(rules, "; "), p.Schedule)
}
