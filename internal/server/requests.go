package server

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"unicode"

	"gopkg.in/yaml.v3"

	"github.com/sluice-dev/sluice/manifests"
)

// entryRequestFiled is the ledger entry of a filed ingestion request.
const entryRequestFiled = "server.request-filed"

// IngestionRequest is a request for a package to enter the air gap.
type IngestionRequest struct {
	// Kind is "package".
	Kind          string `json:"kind"`
	Name          string `json:"name"`
	Version       string `json:"version"`
	Owner         string `json:"owner"`
	DataClass     string `json:"dataClass"`
	Justification string `json:"justification"`
	// Requester is the authenticated caller; the body cannot set it.
	Requester string `json:"-"`
}

// FiledRequest is the manifest a request was filed into.
type FiledRequest struct {
	// Manifest is the name of the manifest that now requests the artifact.
	// A sync of it evaluates the artifact and opens an approval request
	// when the policy requires people to decide.
	Manifest string `json:"manifest"`
	// Path is the file the manifest was written to, if any.
	Path string `json:"path,omitempty"`
}

// PackageRequester files the package requests of POST
// /api/v1/approval-requests. The default, ManifestRequester, writes a
// manifest; another implementation may open a pull request in the
// manifests repository instead.
type PackageRequester interface {
	FileRequest(ctx context.Context, req IngestionRequest) (*FiledRequest, error)
}

var npmName = regexp.MustCompile(`^(@[a-z0-9][a-z0-9._~-]*/)?[a-z0-9][a-z0-9._~-]*$`)

// validate checks a request's fields.
func (req *IngestionRequest) validate() error {
	if len(req.Name) > 214 || !npmName.MatchString(req.Name) {
		return badRequestf("invalid name %q: use an npm package name such as @backstage/plugin-todo", req.Name)
	}
	fields := map[string]string{"version": req.Version, "owner": req.Owner, "dataClass": req.DataClass,
		"justification": req.Justification}
	for field, v := range fields {
		if strings.TrimSpace(v) == "" {
			return badRequestf("missing %s", field)
		}
		if strings.IndexFunc(v, unicode.IsControl) >= 0 {
			return badRequestf("%s contains a control character: write it on one line", field)
		}
	}
	return nil
}

// ManifestRequester writes each request as a manifest into Dir, which the
// server loads with its configured manifests.
type ManifestRequester struct {
	Dir string
}

// FileRequest writes the manifest. The manifest is parsed back before FileRequest returns, so a
// request the manifest schema rejects is never left on disk.
func (m *ManifestRequester) FileRequest(_ context.Context, req IngestionRequest) (*FiledRequest, error) {
	if err := os.MkdirAll(m.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("file request for %s: %w", req.Name, err)
	}
	slug := strings.Trim(regexp.MustCompile(`[^a-z0-9]+`).ReplaceAllString(req.Name, "-"), "-")
	name := fmt.Sprintf("%s-%s-%s", req.Kind, limit(slug, 40), newID(3))
	npm := map[string]any{"packages": []map[string]string{{"name": req.Name, "version": req.Version}}}
	doc := map[string]any{
		"apiVersion": manifests.APIVersionV1, "kind": manifests.KindManifest,
		"metadata": map[string]any{"name": name, "owner": req.Owner, "dataClass": req.DataClass,
			"labels": map[string]string{"requestedBy": req.Requester, "requestKind": req.Kind,
				"justification": req.Justification}},
		"spec": map[string]any{"npm": npm},
	}
	data, err := yaml.Marshal(doc)
	if err != nil {
		return nil, err
	}
	path := filepath.Join(m.Dir, name+".yaml")
	if _, err := manifests.Parse(path, data); err != nil {
		return nil, badRequestf("the request does not make a valid manifest: %v", err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		return nil, fmt.Errorf("file request for %s: %w", req.Name, err)
	}
	return &FiledRequest{Manifest: name, Path: path}, nil
}

func limit(s string, n int) string {
	if len(s) > n {
		return strings.TrimRight(s[:n], "-")
	}
	return s
}

// filed is the response to a filed request.
type filed struct {
	FiledRequest
	// Run is the sync that evaluates the request, when one could start.
	Run *Run `json:"run,omitempty"`
}

func (s *Server) createApprovalRequest(w http.ResponseWriter, r *http.Request, id *Identity) {
	var req IngestionRequest
	if err := decodeBody(r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	req.Kind = "package"
	s.fileRequest(w, r, id, req)
}

// fileRequest files req as the caller, records it in the ledger and
// starts a sync of the new manifest.
func (s *Server) fileRequest(w http.ResponseWriter, r *http.Request, id *Identity, req IngestionRequest) {
	req.Requester = id.Name
	if err := req.validate(); err != nil {
		s.fail(w, r, err)
		return
	}
	f, err := s.requester.FileRequest(r.Context(), req)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if err := s.recordCall(entryRequestFiled, f.Manifest, id, map[string]string{"kind": req.Kind,
		"name": req.Name, "version": req.Version, "owner": req.Owner, "dataClass": req.DataClass,
		"justification": req.Justification, "path": f.Path}); err != nil {
		s.fail(w, r, err)
		return
	}
	out := filed{FiledRequest: *f}
	if run, err := s.runs.trigger([]string{f.Manifest}, TriggerAPI, id.Name); err == nil {
		out.Run = run
	} else {
		s.log.Info("filed request waits for a sync", "manifest", f.Manifest, "error", err)
	}
	writeJSON(w, http.StatusCreated, out)
}
