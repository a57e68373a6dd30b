package harbortest

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// defaultReportType is the scan report MIME type Harbor uses when the
// request names none.
const defaultReportType = "application/vnd.security.vulnerability.report; version=1.1"

// Artifact is an artifact to seed a fake project with, standing in for a
// push through the registry protocol.
type Artifact struct {
	Repository string // inside the project, such as "library/nginx"
	Digest     string // sha256:...
	MediaType  string // manifest media type; the OCI image manifest when empty
	Size       int64
	Tags       []string
	Scan       *Scan // nil when the artifact was never scanned
}

// Scan is the scan summary Harbor shows for an artifact.
type Scan struct {
	Status     string // Success, Running, Error, ...
	Severity   string // the highest found, such as "High"
	Fixable    int
	BySeverity map[string]int // such as {"High": 2, "Low": 5}
}

type artifact struct {
	Artifact
	id, repoID int64
	tagIDs     []int64
}

// AddArtifact stores an artifact in an existing project.
func (s *Server) AddArtifact(project string, a Artifact) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.projectByName(project)
	if p == nil {
		return fmt.Errorf("harbortest: add artifact %s@%s: project %q does not exist", a.Repository, a.Digest, project)
	}
	if a.MediaType == "" {
		a.MediaType = "application/vnd.oci.image.manifest.v1+json"
	}
	stored := &artifact{Artifact: a, id: s.newID("artifact")}
	stored.repoID = s.newID("repository")
	for _, other := range p.artifacts {
		if other.Repository == a.Repository {
			stored.repoID = other.repoID
		}
	}
	for range a.Tags {
		stored.tagIDs = append(stored.tagIDs, s.newID("tag"))
	}
	p.artifacts = append(p.artifacts, stored)
	return nil
}

func (p *project) repositories() map[string]bool {
	out := map[string]bool{}
	for _, a := range p.artifacts {
		out[a.Repository] = true
	}
	return out
}

// lookupArtifact resolves the project, repository and reference path
// segments and responds 401, 403 or 404 itself. Harbor wants a repository
// name with slashes encoded twice, so a segment that still contains a
// slash after the router's unescaping was encoded once and is not found.
func (s *Server) lookupArtifact(w http.ResponseWriter, r *http.Request, caller identity, action string) (*project, *artifact) {
	p := s.projectByName(r.PathValue("project"))
	if p == nil {
		if caller.anonymous() {
			writeUnauthorized(w)
		} else {
			writeError(w, http.StatusNotFound, "NOT_FOUND", fmt.Sprintf("project %s not found", r.PathValue("project")))
		}
		return nil, nil
	}
	resource := "artifact"
	if action == "list" {
		resource = "tag"
	}
	if !s.allow(w, caller, p, resource, action) {
		return nil, nil
	}
	repo, err := url.PathUnescape(r.PathValue("repo"))
	ref := r.PathValue("ref")
	if err == nil && !strings.Contains(r.PathValue("repo"), "/") {
		for _, a := range p.artifacts {
			if a.Repository != repo {
				continue
			}
			if a.Digest == ref || (!strings.Contains(ref, ":") && slices.Contains(a.Tags, ref)) {
				return p, a
			}
		}
	}
	if err == nil && !strings.Contains(r.PathValue("repo"), "/") {
		if a := s.registryArtifact(p, repo, ref); a != nil {
			return p, a
		}
	}
	writeError(w, http.StatusNotFound, "NOT_FOUND", fmt.Sprintf("artifact %s/%s@%s not found", p.name, repo, ref))
	return nil, nil
}

func (a *artifact) tagsJSON() []map[string]any {
	out := []map[string]any{}
	for i, t := range a.Tags {
		out = append(out, map[string]any{"id": a.tagIDs[i], "repository_id": a.repoID, "artifact_id": a.id,
			"name": t, "push_time": timestamp, "pull_time": "0001-01-01T00:00:00.000Z", "immutable": false})
	}
	return out
}

func (s *Server) getArtifact(w http.ResponseWriter, r *http.Request, caller identity) {
	p, a := s.lookupArtifact(w, r, caller, "read")
	if a == nil {
		return
	}
	q := r.URL.Query()
	out := map[string]any{"id": a.id, "type": "IMAGE", "media_type": a.MediaType,
		"manifest_media_type": a.MediaType, "project_id": p.id, "repository_id": a.repoID,
		"repository_name": p.name + "/" + a.Repository, "digest": a.Digest, "size": a.Size,
		"push_time": timestamp, "pull_time": "0001-01-01T00:00:00.000Z", "icon": "",
		"extra_attrs": map[string]any{}, "annotations": map[string]string{},
		"addition_links": map[string]any{"vulnerabilities": map[string]any{"absolute": false,
			"href": r.URL.Path + "/additions/vulnerabilities"}}}
	if q.Get("with_tag") != "false" {
		out["tags"] = a.tagsJSON()
	}
	if q.Get("with_scan_overview") == "true" && a.Scan != nil {
		mime := defaultReportType
		if accept := r.Header.Get("X-Accept-Vulnerabilities"); accept != "" {
			mime = strings.TrimSpace(strings.Split(accept, ",")[0])
		}
		total := 0
		for _, n := range a.Scan.BySeverity {
			total += n
		}
		out["scan_overview"] = map[string]any{mime: map[string]any{
			"report_id": fmt.Sprintf("report-%d", a.id), "scan_status": a.Scan.Status,
			"severity": a.Scan.Severity, "duration": 3, "complete_percent": 100,
			"start_time": timestamp, "end_time": timestamp,
			"summary": map[string]any{"total": total, "fixable": a.Scan.Fixable, "summary": a.Scan.BySeverity},
			"scanner": map[string]string{"name": "Trivy", "vendor": "Aqua Security", "version": "v0.58.0"},
		}}
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) listTags(w http.ResponseWriter, r *http.Request, caller identity) {
	if _, a := s.lookupArtifact(w, r, caller, "list"); a != nil {
		paginate(w, r, a.tagsJSON())
	}
}
