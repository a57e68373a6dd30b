package harbortest

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
)

// retentionTemplates are the rule templates Harbor's retention metadata
// lists.
var retentionTemplates = []string{"always", "latestPushedK", "latestPulledN", "nDaysSinceLastPush",
	"nDaysSinceLastPull"}

// retentionJSON is the contract's RetentionPolicy definition.
type retentionJSON struct {
	ID        int64      `json:"id"`
	Algorithm string     `json:"algorithm"`
	Rules     []ruleJSON `json:"rules"`
	Trigger   *struct {
		Kind       string         `json:"kind"`
		Settings   map[string]any `json:"settings"`
		References map[string]any `json:"references,omitempty"`
	} `json:"trigger"`
	Scope *struct {
		Level string `json:"level"`
		Ref   int64  `json:"ref"`
	} `json:"scope"`
}

type retention = retentionJSON

// decodeRetention reads and checks a policy the way Harbor's retention
// handler does, and returns its project.
func (s *Server) decodeRetention(w http.ResponseWriter, r *http.Request) (retentionJSON, *project, bool) {
	var pol retentionJSON
	if !decodeBody(w, r, "RetentionPolicy", &pol) {
		return pol, nil, false
	}
	fail := func(format string, args ...any) (retentionJSON, *project, bool) {
		badRequest(w, format, args...)
		return pol, nil, false
	}
	if len(pol.Rules) > 15 {
		return fail("only 15 rules are allowed at most")
	}
	if pol.Scope == nil || pol.Scope.Level != "project" {
		return fail("scope is not support: want level project")
	}
	p := s.projects[pol.Scope.Ref]
	if p == nil {
		return fail("invalid Project id %d", pol.Scope.Ref)
	}
	if pol.Algorithm != "or" {
		return fail("invalid algorithm %q: want or", pol.Algorithm)
	}
	if pol.Trigger == nil || pol.Trigger.Kind != "Schedule" {
		return fail("invalid trigger: want kind Schedule")
	}
	if _, ok := pol.Trigger.Settings["cron"].(string); !ok {
		return fail("invalid trigger: settings.cron must be a string")
	}
	for i, rule := range pol.Rules {
		if rule.Action != "retain" || !slices.Contains(retentionTemplates, rule.Template) {
			return fail("rule %d: invalid action %q or template %q", i, rule.Action, rule.Template)
		}
		if _, ok := rule.Params[rule.Template].(float64); rule.Template != "always" && !ok {
			return fail("rule %d: params.%s must be a number", i, rule.Template)
		}
		if err := checkSelectors(rule, []string{"matches", "excludes"}, []string{"repoMatches", "repoExcludes"}); err != nil {
			return fail("rule %d: %v", i, err)
		}
		for j := range i {
			if sameRule(pol.Rules[j], rule) {
				return fail("rule %d is conflict with rule %d", i, j)
			}
		}
	}
	return pol, p, true
}

func (s *Server) createRetention(w http.ResponseWriter, r *http.Request, caller identity) {
	if caller.anonymous() {
		writeUnauthorized(w)
		return
	}
	pol, p, ok := s.decodeRetention(w, r)
	if !ok || !s.allow(w, caller, p, "tag-retention", "create") {
		return
	}
	if old := p.metadata["retention_id"]; old != "" {
		badRequest(w, "project %d already has retention policy %s", p.id, old)
		return
	}
	pol.ID = s.newID("retention")
	s.retentions[pol.ID] = &pol
	p.metadata["retention_id"] = strconv.FormatInt(pol.ID, 10)
	created(w, r, pol.ID)
}

// lookupRetention resolves the {id} path segment and checks that caller may
// perform action on the policy's project.
func (s *Server) lookupRetention(w http.ResponseWriter, r *http.Request, caller identity, action string) *retention {
	if caller.anonymous() {
		writeUnauthorized(w)
		return nil
	}
	id, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
	pol := s.retentions[id]
	if pol == nil {
		writeError(w, http.StatusNotFound, "NOT_FOUND", fmt.Sprintf("the retention policy id %d does not match", id))
		return nil
	}
	if !s.allow(w, caller, s.projects[pol.Scope.Ref], "tag-retention", action) {
		return nil
	}
	return pol
}

func (s *Server) getRetention(w http.ResponseWriter, r *http.Request, caller identity) {
	if pol := s.lookupRetention(w, r, caller, "read"); pol != nil {
		writeJSON(w, http.StatusOK, pol)
	}
}

func (s *Server) updateRetention(w http.ResponseWriter, r *http.Request, caller identity) {
	stored := s.lookupRetention(w, r, caller, "update")
	if stored == nil {
		return
	}
	pol, p, ok := s.decodeRetention(w, r)
	if !ok {
		return
	}
	if p.id != stored.Scope.Ref {
		badRequest(w, "the retention policy id %d does not match project %d", stored.ID, p.id)
		return
	}
	pol.ID = stored.ID
	*stored = pol
	w.WriteHeader(http.StatusOK)
}

// RetentionRules returns the number of rules of a project's retention
// policy and its cron schedule, and false when the project has none.
func (s *Server) RetentionRules(project string) (rules int, cron string, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.projectByName(project)
	if p == nil {
		return 0, "", false
	}
	id, _ := strconv.ParseInt(p.metadata["retention_id"], 10, 64)
	pol := s.retentions[id]
	if pol == nil {
		return 0, "", false
	}
	cron, _ = pol.Trigger.Settings["cron"].(string)
	return len(pol.Rules), cron, true
}
