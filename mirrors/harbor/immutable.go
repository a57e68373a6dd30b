package harbor

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
)

// Selector picks repositories or tags by a doublestar pattern, such as
// "**" for all or "v*" for release tags.
type Selector struct {
	Pattern string
	// Exclude inverts the selector: it picks what does not match.
	Exclude bool
}

func (s Selector) String() string {
	if s.Exclude {
		return "not " + s.Pattern
	}
	return s.Pattern
}

// selectorJSON is Harbor's ImmutableSelector and RetentionSelector
// definition.
type selectorJSON struct {
	Kind       string `json:"kind"`
	Decoration string `json:"decoration"`
	Pattern    string `json:"pattern"`
	Extras     string `json:"extras,omitempty"`
}

func repoSelectorJSON(s Selector) map[string][]selectorJSON {
	d := "repoMatches"
	if s.Exclude {
		d = "repoExcludes"
	}
	return map[string][]selectorJSON{"repository": {{Kind: "doublestar", Decoration: d, Pattern: s.Pattern}}}
}

func tagSelectorJSON(s Selector, extras string) []selectorJSON {
	d := "matches"
	if s.Exclude {
		d = "excludes"
	}
	return []selectorJSON{{Kind: "doublestar", Decoration: d, Pattern: s.Pattern, Extras: extras}}
}

// selectors reads back the first repository and tag selector of a rule.
func selectors(scope map[string][]selectorJSON, tags []selectorJSON) (repo, tag Selector, extras string) {
	if r := scope["repository"]; len(r) > 0 {
		repo = Selector{Pattern: r[0].Pattern, Exclude: r[0].Decoration == "repoExcludes"}
	}
	if len(tags) > 0 {
		tag = Selector{Pattern: tags[0].Pattern, Exclude: tags[0].Decoration == "excludes"}
		extras = tags[0].Extras
	}
	return repo, tag, extras
}

// ImmutableRule makes the tags it selects immutable: they cannot be moved
// to another artifact or deleted.
type ImmutableRule struct {
	ID           int64
	Disabled     bool
	Repositories Selector
	Tags         Selector
}

func (r ImmutableRule) String() string {
	return fmt.Sprintf("repositories %s, tags %s", r.Repositories, r.Tags)
}

// immutableRuleJSON is Harbor's ImmutableRule definition.
type immutableRuleJSON struct {
	ID             int64                     `json:"id,omitempty"`
	Priority       int64                     `json:"priority,omitempty"`
	Disabled       bool                      `json:"disabled"`
	Action         string                    `json:"action"`
	Template       string                    `json:"template"`
	TagSelectors   []selectorJSON            `json:"tag_selectors"`
	ScopeSelectors map[string][]selectorJSON `json:"scope_selectors"`
}

func (r ImmutableRule) json() immutableRuleJSON {
	return immutableRuleJSON{ID: r.ID, Disabled: r.Disabled, Action: "immutable",
		Template: "immutable_template", TagSelectors: tagSelectorJSON(r.Tags, ""),
		ScopeSelectors: repoSelectorJSON(r.Repositories)}
}

func immutablePath(project string) string {
	return "/projects/" + pathEscape(project, false) + "/immutabletagrules"
}

var isName = http.Header{"X-Is-Resource-Name": {"true"}}

// ImmutableRules lists the tag immutability rules of a project.
func (c *Client) ImmutableRules(ctx context.Context, project string) ([]ImmutableRule, error) {
	raw, err := list[immutableRuleJSON](ctx, c, call{op: "list tag immutability rules", project: project,
		need:   "to list immutable tag rules (project admin or maintainer)",
		method: http.MethodGet, path: immutablePath(project), header: isName})
	if err != nil {
		return nil, err
	}
	out := make([]ImmutableRule, 0, len(raw))
	for _, r := range raw {
		repo, tag, _ := selectors(r.ScopeSelectors, r.TagSelectors)
		out = append(out, ImmutableRule{ID: r.ID, Disabled: r.Disabled, Repositories: repo, Tags: tag})
	}
	return out, nil
}

// EnsureImmutability makes sure each wanted rule exists and is enabled in
// the project: it creates missing rules and enables disabled ones. Rules
// are matched by their selectors. Rules it was not asked for are left as
// they are.
func (c *Client) EnsureImmutability(ctx context.Context, project string, want []ImmutableRule) ([]Change, error) {
	for _, w := range want {
		if w.Repositories.Pattern == "" || w.Tags.Pattern == "" {
			return nil, fmt.Errorf("harbor: tag immutability rule %q in project %q: repository and "+
				"tag patterns are required", w, project)
		}
	}
	have, err := c.ImmutableRules(ctx, project)
	if err != nil {
		return nil, err
	}
	var changes []Change
	for _, w := range want {
		i := -1
		for j, h := range have {
			if h.Repositories == w.Repositories && h.Tags == w.Tags {
				i = j
				break
			}
		}
		need := "to create immutable tag rules (project admin or maintainer)"
		switch {
		case i < 0:
			_, err = c.do(ctx, call{op: fmt.Sprintf("create tag immutability rule %q", w), project: project,
				need: need, method: http.MethodPost, path: immutablePath(project), header: isName,
				body: ImmutableRule{Repositories: w.Repositories, Tags: w.Tags}.json()})
			changes = append(changes, Change{Field: "tag immutability rule", To: w.String()})
		case have[i].Disabled:
			rule := have[i]
			rule.Disabled = false
			_, err = c.do(ctx, call{op: fmt.Sprintf("enable tag immutability rule %q", w), project: project,
				need: need, method: http.MethodPut, header: isName,
				path: immutablePath(project) + "/" + strconv.FormatInt(rule.ID, 10), body: rule.json()})
			changes = append(changes, Change{Field: "tag immutability rule " + w.String(),
				From: "disabled", To: "enabled"})
		}
		if err != nil {
			return changes[:len(changes)-1], err
		}
	}
	return changes, nil
}
