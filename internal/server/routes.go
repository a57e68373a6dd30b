package server

import (
	"errors"
	"net/http"
	"strings"
)

// Role sets of the API's operations.
var (
	anyRole         = AllRoles
	requesters      = []Role{RoleRequester, RoleAdmin}
	deciders        = []Role{RoleApprover, RoleSecurity}
	evidenceReaders = []Role{RoleAuditor, RoleSecurity, RoleAdmin}
	reviewers       = []Role{RoleApprover, RoleSecurity, RoleAuditor, RoleAdmin}
)

// route is one API operation: the method and path pattern the document
// describes, the roles allowed (none: public) and the handler.
type route struct {
	method, path string
	roles        []Role
	handle       func(w http.ResponseWriter, r *http.Request, id *Identity)
}

// apiRoutes lists every operation of the API. The OpenAPI document must
// describe exactly these; a test checks both directions.
func (s *Server) apiRoutes() []route {
	const v1 = "/api/v1"
	return []route{
		{"GET", v1 + "/openapi.yaml", nil, s.getOpenAPI},
		{"GET", v1 + "/manifests", anyRole, s.listManifests},
		{"GET", v1 + "/manifests/{name}", anyRole, s.getManifest},
		{"GET", v1 + "/runs", anyRole, s.listRuns},
		{"POST", v1 + "/runs", requesters, s.triggerRun},
		{"GET", v1 + "/runs/{id}", anyRole, s.getRun},
		{"GET", v1 + "/artifacts", anyRole, s.listArtifacts},
		{"GET", v1 + "/artifacts/{key}", anyRole, s.getArtifact},
		{"GET", v1 + "/artifacts/{key}/findings", anyRole, s.getFindings},
		{"GET", v1 + "/artifacts/{key}/evidence", evidenceReaders, s.getEvidence},
		{"GET", v1 + "/artifacts/{key}/sbom", anyRole, s.getSBOM},
		{"GET", v1 + "/approval-requests", anyRole, s.listApprovalRequests},
		{"POST", v1 + "/approval-requests", requesters, s.createApprovalRequest},
		{"GET", v1 + "/approval-requests/{key}", anyRole, s.getApprovalRequest},
		{"POST", v1 + "/approval-requests/{key}/approve", deciders, s.approve},
		{"POST", v1 + "/approval-requests/{key}/reject", deciders, s.reject},
		{"GET", v1 + "/plugin-requests", anyRole, s.listPluginRequests},
		{"POST", v1 + "/plugin-requests", requesters, s.createPluginRequest},
		{"GET", v1 + "/plugin-requests/{id}", anyRole, s.getPluginRequest},
		{"POST", v1 + "/plugin-requests/{id}/approve", deciders, s.approvePluginRequest},
		{"GET", v1 + "/reports/{target}", anyRole, s.getReport},
		{"GET", v1 + "/ledger/export", evidenceReaders, s.exportLedger},
		{"GET", v1 + "/whoami", anyRole, s.whoami},
	}
}

func (s *Server) routesHandler() http.Handler {
	mux := http.NewServeMux()
	s.routes = s.apiRoutes()
	allowed := map[string][]string{}
	for _, rt := range s.routes {
		mux.Handle(rt.method+" "+rt.path, s.guard(rt.roles, rt.handle))
		allowed[rt.path] = append(allowed[rt.path], rt.method)
	}
	// A path without a method matches the methods no route serves, so
	// they get the API's error document instead of the mux's plain text.
	for path, methods := range allowed {
		allow := strings.Join(methods, ", ")
		mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Allow", allow)
			writeError(w, r, http.StatusMethodNotAllowed, codeMethodNotAllowed,
				r.Method+" is not allowed on "+r.URL.Path+": use "+allow)
		})
	}
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /.well-known/openapi.yaml", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/api/v1/openapi.yaml", http.StatusPermanentRedirect)
	})
	metricsRoles := []Role{RoleAuditor, RoleAdmin}
	if s.cfg.MetricsPublic {
		metricsRoles = nil
	}
	metrics := s.metrics.handler()
	mux.Handle("GET /metrics", s.guard(metricsRoles, func(w http.ResponseWriter, r *http.Request, _ *Identity) {
		metrics.ServeHTTP(w, r)
	}))
	s.uiRoutes(mux)
	mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, r, http.StatusNotFound, codeNotFound, "no such API operation: "+r.Method+" "+r.URL.Path+
			"; see /api/v1/openapi.yaml")
	})
	return withRequestID(s.instrument(mux))
}

// guard authenticates the bearer token and checks the caller's roles. A
// nil roles list makes the operation public.
func (s *Server) guard(roles []Role, h func(http.ResponseWriter, *http.Request, *Identity)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if roles == nil {
			h(w, r, nil)
			return
		}
		token, ok := bearer(r)
		if !ok {
			writeError(w, r, http.StatusUnauthorized, codeUnauthenticated,
				"missing bearer token: send Authorization: Bearer TOKEN")
			return
		}
		id, err := s.auth.authenticate(r.Context(), token)
		if err != nil {
			s.log.Info("authentication failed", "path", r.URL.Path, "requestId", requestID(r.Context()),
				"error", err)
			writeError(w, r, http.StatusUnauthorized, codeUnauthenticated, err.Error())
			return
		}
		if !id.Has(roles...) {
			writeError(w, r, http.StatusForbidden, codeForbidden, forbiddenMessage(id, roles))
			return
		}
		h(w, r, id)
	})
}

func forbiddenMessage(id *Identity, roles []Role) string {
	names := make([]string, len(roles))
	for i, r := range roles {
		names[i] = string(r)
	}
	held := make([]string, len(id.Roles))
	for i, r := range id.Roles {
		held[i] = string(r)
	}
	return id.Name + " may not do this: it needs one of the roles " + strings.Join(names, ", ") +
		"; held: " + strings.Join(held, ", ")
}

// errBusy is returned when a manifest's sync is already running.
var errBusy = errors.New("a sync of this manifest is already running")
