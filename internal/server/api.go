package server

import (
	_ "embed"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/sluice-dev/sluice/approvals"
	"github.com/sluice-dev/sluice/ingest/state"
	"github.com/sluice-dev/sluice/manifests"
	"github.com/sluice-dev/sluice/scanners"
)

//go:embed openapi.yaml
var openAPIDocument []byte

func (s *Server) getOpenAPI(w http.ResponseWriter, _ *http.Request, _ *Identity) {
	w.Header().Set("Content-Type", "application/yaml")
	w.Write(openAPIDocument)
}

func (s *Server) whoami(w http.ResponseWriter, _ *http.Request, id *Identity) {
	writeJSON(w, http.StatusOK, map[string]any{"identity": id.Name, "roles": id.Roles, "via": id.Via})
}

// manifestView is a manifest as the API shows it.
type manifestView struct {
	Name      string            `json:"name"`
	Owner     string            `json:"owner"`
	DataClass string            `json:"dataClass"`
	Labels    map[string]string `json:"labels,omitempty"`
	Schedule  string            `json:"schedule,omitempty"`
	Path      string            `json:"path"`
	Digest    string            `json:"digest"`
	Packages  []string          `json:"packages"`
	Lockfiles []string          `json:"lockfiles"`
}

func (s *Server) viewManifest(m *manifests.Manifest) manifestView {
	v := manifestView{Name: m.Metadata.Name, Owner: m.Metadata.Owner, DataClass: m.Metadata.DataClass,
		Labels: m.Metadata.Labels, Schedule: s.scheduleOf(m), Path: m.Path, Digest: m.Digest,
		Packages: []string{}, Lockfiles: []string{}}
	if m.Spec.NPM != nil {
		for _, p := range m.Spec.NPM.Packages {
			spec := p.Name
			if p.Version != "" {
				spec += "@" + p.Version
			}
			v.Packages = append(v.Packages, spec)
		}
		for _, l := range m.Spec.NPM.Lockfiles {
			v.Lockfiles = append(v.Lockfiles, l.Path)
		}
	}
	return v
}

func (s *Server) listManifests(w http.ResponseWriter, r *http.Request, _ *Identity) {
	ms, err := s.loadManifests()
	if err != nil {
		s.fail(w, r, err)
		return
	}
	views := make([]manifestView, len(ms))
	for i, m := range ms {
		views[i] = s.viewManifest(m)
	}
	writePageOf(s, w, r, views)
}

func (s *Server) getManifest(w http.ResponseWriter, r *http.Request, _ *Identity) {
	ms, err := s.loadManifests()
	if err != nil {
		s.fail(w, r, err)
		return
	}
	for _, m := range ms {
		if m.Metadata.Name == r.PathValue("name") {
			writeJSON(w, http.StatusOK, s.viewManifest(m))
			return
		}
	}
	s.fail(w, r, fmt.Errorf("manifest %q: %w", r.PathValue("name"), errNotFound))
}

// writePageOf writes one page of items.
func writePageOf[T any](s *Server, w http.ResponseWriter, r *http.Request, items []T) {
	p, err := paginate(r, items)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, p)
}

func (s *Server) listRuns(w http.ResponseWriter, r *http.Request, _ *Identity) {
	runs, err := s.runs.list()
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if st := r.URL.Query().Get("status"); st != "" {
		kept := runs[:0]
		for _, run := range runs {
			if run.Status == st {
				kept = append(kept, run)
			}
		}
		runs = kept
	}
	writePageOf(s, w, r, runs)
}

// triggerRequest is the body of POST /runs.
type triggerRequest struct {
	Manifests []string `json:"manifests"`
}

func (s *Server) triggerRun(w http.ResponseWriter, r *http.Request, id *Identity) {
	var req triggerRequest
	if err := decodeBody(r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	run, err := s.runs.trigger(req.Manifests, TriggerAPI, id.Name)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/v1/runs/"+run.ID)
	writeJSON(w, http.StatusAccepted, run)
}

func (s *Server) getRun(w http.ResponseWriter, r *http.Request, _ *Identity) {
	run, err := s.runs.get(r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, run)
}

func (s *Server) listArtifacts(w http.ResponseWriter, r *http.Request, _ *Identity) {
	q := r.URL.Query()
	arts, err := s.db.Artifacts(func(a *state.Artifact) bool {
		return (q.Get("state") == "" || string(a.State) == q.Get("state")) &&
			(q.Get("ecosystem") == "" || string(a.Ecosystem) == q.Get("ecosystem")) &&
			(q.Get("name") == "" || a.Name == q.Get("name"))
	})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writePageOf(s, w, r, arts)
}

func (s *Server) getArtifact(w http.ResponseWriter, r *http.Request, _ *Identity) {
	a, err := s.db.Artifact(r.PathValue("key"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, a)
}

// findings returns an artifact's scan report.
func (s *Server) findings(key string) (*scanners.ArtifactReport, error) {
	a, err := s.db.Artifact(key)
	if err != nil {
		return nil, err
	}
	res, err := s.scanResult(key)
	if err != nil {
		return nil, err
	}
	rep := scanners.NewArtifactReport(a, res)
	return &rep, nil
}

// scanResult returns an artifact's stored scan result, or an error
// wrapping scanners.ErrNoResult.
func (s *Server) scanResult(key string) (*scanners.ScanResult, error) {
	res, err := scanners.LoadResult(s.db, key)
	if err == nil && res == nil {
		err = fmt.Errorf("%s: %w", key, scanners.ErrNoResult)
	}
	return res, err
}

func (s *Server) getFindings(w http.ResponseWriter, r *http.Request, _ *Identity) {
	rep, err := s.findings(r.PathValue("key"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, rep)
}

func (s *Server) getEvidence(w http.ResponseWriter, r *http.Request, _ *Identity) {
	ae, err := approvals.CollectEvidence(s.db, s.blobs, r.PathValue("key"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, ae)
}

func (s *Server) getSBOM(w http.ResponseWriter, r *http.Request, _ *Identity) {
	s.serveSBOM(w, r, r.PathValue("key"), r.URL.Query().Get("format"))
}

// serveSBOM sends an artifact's stored SBOM, SPDX (default) or CycloneDX
// JSON, as a download.
func (s *Server) serveSBOM(w http.ResponseWriter, r *http.Request, key, format string) {
	res, err := s.scanResult(key)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	digest, ext := res.SBOM.SPDX, "spdx.json"
	switch format {
	case "", "spdx":
	case "cyclonedx":
		digest, ext = res.SBOM.CycloneDX, "cdx.json"
	default:
		s.fail(w, r, badRequestf("invalid format %q: use spdx or cyclonedx", format))
		return
	}
	f, err := s.blobs.Open(digest)
	if err != nil {
		s.fail(w, r, fmt.Errorf("sbom of %s: %w", key, err))
		return
	}
	defer f.Close()
	name := strings.NewReplacer("/", "_", "@", "_").Replace(key) + "." + ext
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	io.Copy(w, f)
}

func (s *Server) getReport(w http.ResponseWriter, r *http.Request, _ *Identity) {
	format := r.URL.Query().Get("format")
	rep, err := scanners.BuildReport(s.db, r.PathValue("target"), time.Now())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	switch format {
	case "", "json":
		w.Header().Set("Content-Type", "application/json")
		err = rep.WriteJSON(w)
	case "markdown":
		w.Header().Set("Content-Type", "text/markdown; charset=utf-8")
		err = rep.WriteMarkdown(w)
	case "sarif":
		w.Header().Set("Content-Type", "application/sarif+json")
		err = rep.WriteSARIF(w)
	default:
		s.fail(w, r, badRequestf("invalid format %q: use json, markdown or sarif", format))
		return
	}
	if err != nil {
		s.log.Error("write report", "target", r.PathValue("target"), "error", err)
	}
}

func (s *Server) exportLedger(w http.ResponseWriter, r *http.Request, id *Identity) {
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.Header().Set("Content-Disposition", `attachment; filename="sluice-ledger.ndjson"`)
	if err := s.db.ExportLedger(w); err != nil {
		s.log.Error("export ledger", "identity", id.Name, "error", err)
	}
}
