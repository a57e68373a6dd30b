package harbortest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
)

// selectorJSON is the contract's ImmutableSelector and RetentionSelector
// definition.
type selectorJSON struct {
	Kind       string `json:"kind"`
	Decoration string `json:"decoration"`
	Pattern    string `json:"pattern"`
	Extras     string `json:"extras,omitempty"`
}

// ruleJSON is the contract's ImmutableRule and RetentionRule definition;
// the two have the same fields.
type ruleJSON struct {
	ID             int64                     `json:"id"`
	Priority       int64                     `json:"priority"`
	Disabled       bool                      `json:"disabled"`
	Action         string                    `json:"action"`
	Template       string                    `json:"template"`
	Params         map[string]any            `json:"params,omitempty"`
	TagSelectors   []selectorJSON            `json:"tag_selectors"`
	ScopeSelectors map[string][]selectorJSON `json:"scope_selectors"`
}

type immutableRule = ruleJSON

// checkSelectors applies Harbor's selector rules: one doublestar tag
// selector and one doublestar repository selector.
func checkSelectors(rule ruleJSON, tagDecorations, repoDecorations []string) error {
	if len(rule.TagSelectors) == 0 || len(rule.ScopeSelectors["repository"]) == 0 {
		return fmt.Errorf("rule needs a tag selector and a repository scope selector")
	}
	for _, sel := range rule.TagSelectors {
		if sel.Kind != "doublestar" || !slices.Contains(tagDecorations, sel.Decoration) || sel.Pattern == "" {
			return fmt.Errorf("invalid tag selector %+v", sel)
		}
	}
	for _, sel := range rule.ScopeSelectors["repository"] {
		if sel.Kind != "doublestar" || !slices.Contains(repoDecorations, sel.Decoration) || sel.Pattern == "" {
			return fmt.Errorf("invalid repository selector %+v", sel)
		}
	}
	return nil
}

// sameRule reports whether two rules select the same artifacts with the
// same template, which Harbor rejects as a duplicate.
func sameRule(a, b ruleJSON) bool {
	a.ID, b.ID, a.Priority, b.Priority, a.Disabled, b.Disabled = 0, 0, 0, 0, false, false
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}

func (s *Server) listImmutableRules(w http.ResponseWriter, r *http.Request, caller identity) {
	p := s.lookupProject(w, r, caller, r.PathValue("project"))
	if p == nil || !s.allow(w, caller, p, "immutable-tag", "list") {
		return
	}
	out := make([]ruleJSON, 0, len(p.immutable))
	for _, rule := range p.immutable {
		out = append(out, *rule)
	}
	paginate(w, r, out)
}

// immutableRuleRequest resolves the project of a create or update
// request, checks the caller's permission and decodes the rule, and
// responds itself when any step fails.
func (s *Server) immutableRuleRequest(w http.ResponseWriter, r *http.Request, caller identity, action string) (*project, ruleJSON, bool) {
	var rule ruleJSON
	p := s.lookupProject(w, r, caller, r.PathValue("project"))
	if p == nil || !s.allow(w, caller, p, "immutable-tag", action) {
		return nil, rule, false
	}
	if !decodeBody(w, r, "ImmutableRule", &rule) {
		return nil, rule, false
	}
	if rule.Action != "immutable" || rule.Template != "immutable_template" {
		badRequest(w, "invalid immutable rule: action must be immutable and template immutable_template")
		return nil, rule, false
	}
	if err := checkSelectors(rule, []string{"matches", "excludes"}, []string{"repoMatches", "repoExcludes"}); err != nil {
		badRequest(w, "invalid immutable rule: %v", err)
		return nil, rule, false
	}
	return p, rule, true
}

func (s *Server) createImmutableRule(w http.ResponseWriter, r *http.Request, caller identity) {
	p, rule, ok := s.immutableRuleRequest(w, r, caller, "create")
	if !ok {
		return
	}
	for _, other := range p.immutable {
		if sameRule(*other, rule) {
			writeError(w, http.StatusConflict, "CONFLICT", "immutable rule already exists")
			return
		}
	}
	if len(p.immutable) >= 15 {
		badRequest(w, "only 15 immutable rules are allowed at most")
		return
	}
	rule.ID = s.newID("immutable")
	p.immutable = append(p.immutable, &rule)
	created(w, r, rule.ID)
}

func (s *Server) updateImmutableRule(w http.ResponseWriter, r *http.Request, caller identity) {
	p, rule, ok := s.immutableRuleRequest(w, r, caller, "update")
	if !ok {
		return
	}
	id, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
	for _, stored := range p.immutable {
		if stored.ID == id {
			rule.ID = id
			*stored = rule
			w.WriteHeader(http.StatusOK)
			return
		}
	}
	writeError(w, http.StatusNotFound, "NOT_FOUND", fmt.Sprintf("immutable rule %d not found", id))
}

// ImmutableRules returns the number of enabled and disabled tag
// immutability rules of a project.
func (s *Server) ImmutableRules(project string) (enabled, disabled int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p := s.projectByName(project); p != nil {
		for _, rule := range p.immutable {
			if rule.Disabled {
				disabled++
			} else {
				enabled++
			}
		}
	}
	return enabled, disabled
}

// DisableImmutableRules disables every tag immutability rule of a project
// behind the client's back, to simulate drift.
func (s *Server) DisableImmutableRules(project string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p := s.projectByName(project); p != nil {
		for _, rule := range p.immutable {
			rule.Disabled = true
		}
	}
}
