package harbortest

import (
	"fmt"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"strconv"
)

// nameRE is the rule Harbor applies to project and robot names.
var nameRE = regexp.MustCompile(`^[a-z0-9]+(?:[._-][a-z0-9]+)*$`)

type project struct {
	id        int64
	name      string
	owner     *user
	metadata  map[string]string
	artifacts []*artifact
	immutable []*immutableRule
}

// projectMetadataJSON is the contract's ProjectMetadata definition; every
// value is a string.
type projectMetadataJSON struct {
	Public                    *string `json:"public,omitempty"`
	EnableContentTrust        *string `json:"enable_content_trust,omitempty"`
	EnableContentTrustCosign  *string `json:"enable_content_trust_cosign,omitempty"`
	PreventVul                *string `json:"prevent_vul,omitempty"`
	Severity                  *string `json:"severity,omitempty"`
	AutoScan                  *string `json:"auto_scan,omitempty"`
	AutoSBOMGeneration        *string `json:"auto_sbom_generation,omitempty"`
	ReuseSysCVEAllowlist      *string `json:"reuse_sys_cve_allowlist,omitempty"`
	RetentionID               *string `json:"retention_id,omitempty"`
	ProxySpeedKb              *string `json:"proxy_speed_kb,omitempty"`
	MaxUpstreamConn           *string `json:"max_upstream_conn,omitempty"`
	ProxyCacheLocalOnNotFound *string `json:"proxy_cache_local_on_not_found,omitempty"`
}

func (m *projectMetadataJSON) fields() map[string]*string {
	return map[string]*string{"public": m.Public, "enable_content_trust": m.EnableContentTrust,
		"enable_content_trust_cosign": m.EnableContentTrustCosign, "prevent_vul": m.PreventVul,
		"severity": m.Severity, "auto_scan": m.AutoScan, "auto_sbom_generation": m.AutoSBOMGeneration,
		"reuse_sys_cve_allowlist": m.ReuseSysCVEAllowlist, "retention_id": m.RetentionID,
		"proxy_speed_kb": m.ProxySpeedKb, "max_upstream_conn": m.MaxUpstreamConn,
		"proxy_cache_local_on_not_found": m.ProxyCacheLocalOnNotFound}
}

// projectReqJSON is the contract's ProjectReq definition.
type projectReqJSON struct {
	ProjectName  string               `json:"project_name"`
	Public       *bool                `json:"public"`
	Metadata     *projectMetadataJSON `json:"metadata"`
	CVEAllowlist map[string]any       `json:"cve_allowlist"`
	StorageLimit *int64               `json:"storage_limit"`
	RegistryID   *int64               `json:"registry_id"`
}

var booleanKeys = []string{"public", "enable_content_trust", "enable_content_trust_cosign", "prevent_vul",
	"auto_scan", "auto_sbom_generation", "reuse_sys_cve_allowlist", "proxy_cache_local_on_not_found"}

// checkMetadata applies the value rules Harbor's metadata validation has
// for the keys it sets.
func checkMetadata(m map[string]*string) error {
	for key, v := range m {
		switch {
		case v == nil:
		case slices.Contains(booleanKeys, key) && *v != "true" && *v != "false":
			return fmt.Errorf("metadata.%s should only be 'true' or 'false', but got: '%s'", key, *v)
		case key == "severity" && !slices.Contains([]string{"none", "low", "medium", "high", "critical"}, *v):
			return fmt.Errorf("invalid severity '%s'", *v)
		}
	}
	return nil
}

func (p *project) public() bool { return p.metadata["public"] == "true" }

func (p *project) json() map[string]any {
	return map[string]any{"project_id": p.id, "owner_id": p.owner.id, "owner_name": p.owner.name,
		"name": p.name, "creation_time": timestamp, "update_time": timestamp, "deleted": false,
		"repo_count": len(p.repositories()), "metadata": maps.Clone(p.metadata),
		"cve_allowlist": map[string]any{"id": p.id, "project_id": p.id, "items": []any{},
			"creation_time": timestamp, "update_time": timestamp}}
}

// projectByName returns the project of a name, or nil.
func (s *Server) projectByName(name string) *project {
	for _, p := range s.projects {
		if p.name == name {
			return p
		}
	}
	return nil
}

// lookupProject resolves a {project_name_or_id} path segment the way the
// X-Is-Resource-Name header selects, and responds 404 or 403 itself when the
// project is missing or hidden from the caller.
func (s *Server) lookupProject(w http.ResponseWriter, r *http.Request, caller identity, segment string) *project {
	var p *project
	if id, err := strconv.ParseInt(segment, 10, 64); err == nil && r.Header.Get("X-Is-Resource-Name") != "true" {
		p = s.projects[id]
	} else {
		p = s.projectByName(segment)
	}
	if p == nil {
		if caller.anonymous() {
			writeUnauthorized(w)
			return nil
		}
		writeError(w, http.StatusNotFound, "NOT_FOUND", fmt.Sprintf("project %s not found", segment))
	}
	return p
}

// readOnly lists the permissions that every account, and anonymous
// callers, have on a public project.
var readOnly = []string{"project:read", "repository:pull", "artifact:read", "tag:list"}

// allow reports whether caller may perform action on resource in p, and
// writes 401 or 403 when not. Administrators may do anything; robots have
// the access of their permissions on their own project; other users are
// members of no project.
func (s *Server) allow(w http.ResponseWriter, caller identity, p *project, resource, action string) bool {
	perm := resource + ":" + action
	switch {
	case caller.admin():
		return true
	case p != nil && p.public() && slices.Contains(readOnly, perm):
		return true
	case caller.anonymous():
		writeUnauthorized(w)
		return false
	case caller.robot != nil && p != nil && caller.robot.projectID == p.id && slices.Contains(caller.robot.access, perm):
		return true
	}
	writeForbidden(w)
	return false
}

func (s *Server) headProject(w http.ResponseWriter, r *http.Request, caller identity) {
	name := r.URL.Query().Get("project_name")
	switch {
	case caller.anonymous():
		writeUnauthorized(w)
	case name == "":
		badRequest(w, "project_name in query is required")
	case s.projectByName(name) == nil:
		writeError(w, http.StatusNotFound, "NOT_FOUND", fmt.Sprintf("project %s not found", name))
	default:
		w.WriteHeader(http.StatusOK)
	}
}

func (s *Server) listProjects(w http.ResponseWriter, r *http.Request, caller identity) {
	var out []map[string]any
	for _, id := range slices.Sorted(maps.Keys(s.projects)) {
		p := s.projects[id]
		if name := r.URL.Query().Get("name"); name != "" && p.name != name {
			continue
		}
		if caller.admin() || p.public() || (caller.robot != nil && caller.robot.projectID == p.id) {
			out = append(out, p.json())
		}
	}
	paginate(w, r, out)
}

func (s *Server) createProject(w http.ResponseWriter, r *http.Request, caller identity) {
	if caller.anonymous() {
		writeUnauthorized(w)
		return
	}
	if caller.robot != nil {
		writeError(w, http.StatusForbidden, "FORBIDDEN", "Only system level robot can create project")
		return
	}
	if !caller.admin() {
		writeError(w, http.StatusForbidden, "FORBIDDEN", "Only system admin can create project")
		return
	}
	var req projectReqJSON
	if !decodeBody(w, r, "ProjectReq", &req) {
		return
	}
	if len(req.ProjectName) > 255 || !nameRE.MatchString(req.ProjectName) {
		badRequest(w, "project name is not in lower case or contains illegal characters")
		return
	}
	if s.projectByName(req.ProjectName) != nil {
		writeError(w, http.StatusConflict, "CONFLICT",
			fmt.Sprintf("The project named %s already exists", req.ProjectName))
		return
	}
	if req.Metadata == nil {
		req.Metadata = &projectMetadataJSON{}
	}
	if req.Public != nil && req.Metadata.Public == nil {
		v := strconv.FormatBool(*req.Public)
		req.Metadata.Public = &v
	}
	fields := req.Metadata.fields()
	if err := checkMetadata(fields); err != nil {
		badRequest(w, "%v", err)
		return
	}
	if v := fields["retention_id"]; v != nil && *v != "" {
		badRequest(w, "the retention_id in the request's payload when creating a project should be omitted")
		return
	}
	p := &project{id: s.newID("project"), name: req.ProjectName, owner: caller.user, metadata: map[string]string{"public": "false"}}
	for k, v := range fields {
		if v != nil && k != "retention_id" && k != "proxy_speed_kb" && k != "max_upstream_conn" {
			p.metadata[k] = *v
		}
	}
	s.projects[p.id] = p
	created(w, r, p.id)
}

func (s *Server) getProject(w http.ResponseWriter, r *http.Request, caller identity) {
	p := s.lookupProject(w, r, caller, r.PathValue("project"))
	if p == nil || !s.allow(w, caller, p, "project", "read") {
		return
	}
	writeJSON(w, http.StatusOK, p.json())
}

func (s *Server) updateProject(w http.ResponseWriter, r *http.Request, caller identity) {
	p := s.lookupProject(w, r, caller, r.PathValue("project"))
	if p == nil || !s.allow(w, caller, p, "project", "update") {
		return
	}
	var req projectReqJSON
	if !decodeBody(w, r, "ProjectReq", &req) {
		return
	}
	if req.Metadata == nil {
		w.WriteHeader(http.StatusOK)
		return
	}
	fields := req.Metadata.fields()
	if err := checkMetadata(fields); err != nil {
		badRequest(w, "%v", err)
		return
	}
	if v := fields["retention_id"]; v != nil && *v != p.metadata["retention_id"] {
		badRequest(w, "the retention_id in the request's payload when updating a project should be "+
			"omitted, alternatively passing the one that has already been associated to this project")
		return
	}
	for k, v := range fields {
		if v != nil && k != "proxy_speed_kb" && k != "max_upstream_conn" {
			p.metadata[k] = *v
		}
	}
	w.WriteHeader(http.StatusOK)
}

// ProjectMetadata returns a copy of a project's metadata, and false when
// the project does not exist.
func (s *Server) ProjectMetadata(name string) (map[string]string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.projectByName(name)
	if p == nil {
		return nil, false
	}
	return maps.Clone(p.metadata), true
}

// SetProjectMetadata changes one metadata value of an existing project
// behind the client's back, to simulate drift made in Harbor's UI.
func (s *Server) SetProjectMetadata(name, key, value string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p := s.projectByName(name); p != nil {
		p.metadata[key] = value
	}
}
