package harbortest

import (
	"crypto/rand"
	"fmt"
	"maps"
	"math"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// projectPolicies are the project-level permissions Harbor v2.15.2 lets a
// robot account have (src/common/rbac/const.go).
var projectPolicies = []string{
	"log:list", "project:read", "project:delete", "project:update",
	"metadata:read", "metadata:create", "metadata:delete", "metadata:list", "metadata:update",
	"repository:read", "repository:update", "repository:delete", "repository:list",
	"repository:pull", "repository:push",
	"artifact:read", "artifact:create", "artifact:list", "artifact:delete",
	"scan:create", "scan:read", "scan:stop", "sbom:create", "sbom:stop", "sbom:read",
	"tag:create", "tag:list", "tag:delete", "accessory:list", "artifact-addition:read",
	"artifact-label:create", "artifact-label:delete", "scanner:create", "scanner:read",
	"preheat-policy:read", "preheat-policy:create", "preheat-policy:delete", "preheat-policy:list",
	"preheat-policy:update", "immutable-tag:create", "immutable-tag:delete", "immutable-tag:list",
	"immutable-tag:update", "notification-policy:read", "notification-policy:create",
	"notification-policy:delete", "notification-policy:list", "notification-policy:update",
	"tag-retention:read",
}

type robot struct {
	id          int64
	name        string // short name, as created
	projectID   int64
	projectName string
	description string
	access      []string // "resource:action"
	disabled    bool
	secret      string
	duration    int64
}

// accessJSON is the contract's Access definition.
type accessJSON struct {
	Resource string `json:"resource"`
	Action   string `json:"action"`
	Effect   string `json:"effect,omitempty"`
}

// permissionJSON is the contract's RobotPermission definition.
type permissionJSON struct {
	Kind      string       `json:"kind"`
	Namespace string       `json:"namespace"`
	Access    []accessJSON `json:"access"`
}

// robotCreateJSON is the contract's RobotCreate definition.
type robotCreateJSON struct {
	Name        string           `json:"name"`
	Description string           `json:"description"`
	Secret      string           `json:"secret"`
	Level       string           `json:"level"`
	Disable     bool             `json:"disable"`
	Duration    int64            `json:"duration"`
	Permissions []permissionJSON `json:"permissions"`
}

// robotJSON is the contract's Robot definition, the body of an update.
type robotJSON struct {
	ID           int64            `json:"id"`
	Name         string           `json:"name"`
	Description  string           `json:"description"`
	Secret       string           `json:"secret,omitempty"`
	Level        string           `json:"level"`
	Duration     *int64           `json:"duration"`
	Editable     bool             `json:"editable"`
	Disable      bool             `json:"disable"`
	ExpiresAt    int64            `json:"expires_at"`
	Permissions  []permissionJSON `json:"permissions"`
	CreatorType  string           `json:"creator_type"`
	CreatorRef   int64            `json:"creator_ref"`
	CreationTime string           `json:"creation_time"`
	UpdateTime   string           `json:"update_time"`
}

func (s *Server) robotName(rb *robot) string {
	return s.robotPrefix + rb.projectName + "+" + rb.name
}

func (s *Server) robotJSON(rb *robot) robotJSON {
	access := make([]accessJSON, 0, len(rb.access))
	for _, a := range rb.access {
		res, act, _ := strings.Cut(a, ":")
		access = append(access, accessJSON{Resource: res, Action: act, Effect: "allow"})
	}
	d := rb.duration
	return robotJSON{ID: rb.id, Name: s.robotName(rb), Description: rb.description, Level: "project",
		Duration: &d, Editable: true, Disable: rb.disabled, ExpiresAt: -1, CreatorType: "local",
		CreatorRef: 1, CreationTime: timestamp, UpdateTime: timestamp,
		Permissions: []permissionJSON{{Kind: "project", Namespace: rb.projectName, Access: access}}}
}

// checkRobot applies Harbor's robot validation and returns the project
// and the access list, or writes the error response itself.
func (s *Server) checkRobot(w http.ResponseWriter, duration int64, level string, perms []permissionJSON) (*project, []string, bool) {
	fail := func(format string, args ...any) (*project, []string, bool) {
		badRequest(w, format, args...)
		return nil, nil, false
	}
	if duration != -1 && (duration <= 0 || duration >= math.MaxInt32) {
		return fail("bad request error duration input: %d, duration must be either -1(Never) or a positive integer", duration)
	}
	if level != "project" && level != "system" {
		return fail("bad request error level input: %s", level)
	}
	if level == "system" {
		return fail("the fake Harbor supports project-level robot accounts only")
	}
	if len(perms) != 1 {
		return fail("bad request permission: a project robot needs exactly one permission, got %d", len(perms))
	}
	perm := perms[0]
	if len(perm.Access) == 0 {
		return fail("bad request empty access")
	}
	if perm.Kind != "project" {
		return fail("bad request permission level: %s", perm.Kind)
	}
	var access []string
	for _, a := range perm.Access {
		key := a.Resource + ":" + a.Action
		if !slices.Contains(projectPolicies, key) {
			return fail("bad request permission: %s", key)
		}
		access = append(access, key)
	}
	p := s.projectByName(perm.Namespace)
	if id, err := strconv.ParseInt(perm.Namespace, 10, 64); err == nil && p == nil {
		p = s.projects[id]
	}
	if p == nil {
		writeError(w, http.StatusNotFound, "NOT_FOUND", fmt.Sprintf("project %s not found", perm.Namespace))
		return nil, nil, false
	}
	return p, access, true
}

func (s *Server) listRobots(w http.ResponseWriter, r *http.Request, caller identity) {
	if caller.anonymous() {
		writeUnauthorized(w)
		return
	}
	keys := map[string]string{}
	if q := r.URL.Query().Get("q"); q != "" {
		for kv := range strings.SplitSeq(q, ",") {
			k, v, _ := strings.Cut(kv, "=")
			keys[k] = v
		}
	}
	level := keys["Level"]
	if level != "" && level != "project" && level != "system" {
		badRequest(w, "bad request error level input")
		return
	}
	var out []robotJSON
	if level == "project" {
		pid, err := strconv.ParseInt(keys["ProjectID"], 10, 64)
		if keys["ProjectID"] == "" {
			badRequest(w, "must with project ID when to query project robots")
			return
		}
		if err != nil || pid <= 0 {
			badRequest(w, "ProjectID must be a positive integer")
			return
		}
		if !s.allow(w, caller, s.projects[pid], "robot", "list") {
			return
		}
		for _, id := range slices.Sorted(maps.Keys(s.robots)) {
			if rb := s.robots[id]; rb.projectID == pid {
				out = append(out, s.robotJSON(rb))
			}
		}
	} else if !s.allow(w, caller, nil, "robot", "list") {
		return
	}
	paginate(w, r, out)
}

func (s *Server) createRobot(w http.ResponseWriter, r *http.Request, caller identity) {
	if caller.anonymous() {
		writeUnauthorized(w)
		return
	}
	var req robotCreateJSON
	if !decodeBody(w, r, "RobotCreate", &req) {
		return
	}
	if !nameRE.MatchString(req.Name) {
		badRequest(w, "robot name is not in lower case or contains illegal characters")
		return
	}
	p, access, ok := s.checkRobot(w, req.Duration, req.Level, req.Permissions)
	if !ok || !s.allow(w, caller, p, "robot", "create") {
		return
	}
	for _, rb := range s.robots {
		if rb.projectID == p.id && rb.name == req.Name {
			writeError(w, http.StatusConflict, "CONFLICT",
				fmt.Sprintf("robot account %d:%s+%s already exists", p.id, p.name, req.Name))
			return
		}
	}
	rb := &robot{id: s.newID("robot"), name: req.Name, projectID: p.id, projectName: p.name,
		description: req.Description, access: access, disabled: req.Disable, secret: newSecret(),
		duration: req.Duration}
	s.robots[rb.id] = rb
	w.Header().Set("Location", fmt.Sprintf("%s/%d", r.URL.Path, rb.id))
	writeJSON(w, http.StatusCreated, map[string]any{"id": rb.id, "name": s.robotName(rb),
		"secret": rb.secret, "creation_time": timestamp, "expires_at": -1})
}

// lookupRobot resolves the {id} path segment, responding 404 itself.
func (s *Server) lookupRobot(w http.ResponseWriter, r *http.Request, caller identity) *robot {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if caller.anonymous() {
		writeUnauthorized(w)
		return nil
	}
	if err != nil || s.robots[id] == nil {
		writeError(w, http.StatusNotFound, "NOT_FOUND", fmt.Sprintf("robot %s not found", r.PathValue("id")))
		return nil
	}
	return s.robots[id]
}

func (s *Server) getRobot(w http.ResponseWriter, r *http.Request, caller identity) {
	rb := s.lookupRobot(w, r, caller)
	if rb != nil && s.allow(w, caller, s.projects[rb.projectID], "robot", "read") {
		writeJSON(w, http.StatusOK, s.robotJSON(rb))
	}
}

func (s *Server) updateRobot(w http.ResponseWriter, r *http.Request, caller identity) {
	rb := s.lookupRobot(w, r, caller)
	if rb == nil {
		return
	}
	var req robotJSON
	if !decodeBody(w, r, "Robot", &req) {
		return
	}
	duration := rb.duration
	if req.Duration != nil {
		duration = *req.Duration
	}
	p, access, ok := s.checkRobot(w, duration, req.Level, req.Permissions)
	if !ok {
		return
	}
	if p.id != rb.projectID {
		badRequest(w, "cannot update the project id of robot")
		return
	}
	if !s.allow(w, caller, p, "robot", "update") {
		return
	}
	if req.Level != "project" || req.Name != s.robotName(rb) {
		badRequest(w, "cannot update the level or name of robot")
		return
	}
	rb.duration, rb.description, rb.disabled, rb.access = duration, req.Description, req.Disable, access
	w.WriteHeader(http.StatusOK)
}

func (s *Server) refreshRobotSecret(w http.ResponseWriter, r *http.Request, caller identity) {
	rb := s.lookupRobot(w, r, caller)
	if rb == nil {
		return
	}
	var req struct {
		Secret string `json:"secret"`
	}
	if !decodeBody(w, r, "RobotSec", &req) || !s.allow(w, caller, s.projects[rb.projectID], "robot", "update") {
		return
	}
	if req.Secret != "" {
		if !validSecret(req.Secret) {
			badRequest(w, "the secret must be 8-128, inclusively, characters long with at least 1 "+
				"uppercase letter, 1 lowercase letter and 1 number")
			return
		}
		rb.secret = req.Secret
		writeJSON(w, http.StatusOK, map[string]any{})
		return
	}
	rb.secret = newSecret()
	writeJSON(w, http.StatusOK, map[string]string{"secret": rb.secret})
}

var (
	upperRE = regexp.MustCompile(`[A-Z]`)
	lowerRE = regexp.MustCompile(`[a-z]`)
	digitRE = regexp.MustCompile(`[0-9]`)
)

func validSecret(s string) bool {
	return len(s) >= 8 && len(s) <= 128 && upperRE.MatchString(s) && lowerRE.MatchString(s) &&
		digitRE.MatchString(s)
}

// newSecret returns a 32-character secret that passes Harbor's rule.
func newSecret() string {
	const letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	for {
		b := make([]byte, 32)
		_, _ = rand.Read(b)
		for i := range b {
			b[i] = letters[int(b[i])%len(letters)]
		}
		if validSecret(string(b)) {
			return string(b)
		}
	}
}

// RobotAccount is a robot account as the fake stores it.
type RobotAccount struct {
	ID       int64
	Name     string   // full name, such as robot$project+name
	Access   []string // "resource:action", sorted
	Disabled bool
	Secret   string
}

// Robots returns the robot accounts of a project, by ID.
func (s *Server) Robots(project string) []RobotAccount {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []RobotAccount
	for _, id := range slices.Sorted(maps.Keys(s.robots)) {
		rb := s.robots[id]
		if rb.projectName == project {
			out = append(out, RobotAccount{ID: rb.id, Name: s.robotName(rb), Access: slices.Sorted(slices.Values(rb.access)),
				Disabled: rb.disabled, Secret: rb.secret})
		}
	}
	return out
}

// SetRobotAccess replaces the permissions of a robot account behind the
// client's back, to simulate drift.
func (s *Server) SetRobotAccess(id int64, access ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if rb := s.robots[id]; rb != nil {
		rb.access = access
	}
}
