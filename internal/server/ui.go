package server

import (
	"embed"
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/sluice-dev/sluice/approvals"
	"github.com/sluice-dev/sluice/scanners"
)

//go:embed templates/*.html static/*.css
var uiFiles embed.FS

var uiTemplates = template.Must(template.New("").Funcs(template.FuncMap{
	"time": func(t time.Time) string {
		if t.IsZero() {
			return "-"
		}
		return t.UTC().Format("2006-01-02 15:04 UTC")
	},
	"join":    strings.Join,
	"pathEsc": url.PathEscape,
}).ParseFS(uiFiles, "templates/*.html"))

// pageData is the input of every page template.
type pageData struct {
	Title    string
	Identity *Identity
	CSRF     string
	Message  string
	Error    string
	Data     any
}

func (s *Server) uiRoutes(mux *http.ServeMux) {
	mux.Handle("GET /ui/static/", http.StripPrefix("/ui", http.FileServerFS(uiFiles)))
	mux.HandleFunc("GET /ui/login", s.uiLoginForm)
	mux.HandleFunc("POST /ui/login", s.uiLogin)
	mux.HandleFunc("POST /ui/logout", s.uiSession(s.uiLogout))
	mux.HandleFunc("GET /ui/{$}", s.uiSession(s.uiIndex))
	mux.HandleFunc("GET /ui/requests/{key}", s.uiSession(s.uiRequest))
	mux.HandleFunc("POST /ui/requests/{key}/decide", s.uiSession(s.uiDecide))
	mux.HandleFunc("GET /ui/artifacts/{key}/sbom", s.uiSession(func(w http.ResponseWriter, r *http.Request, _ *session) {
		s.serveSBOM(w, r, r.PathValue("key"), r.URL.Query().Get("format"))
	}))
	mux.HandleFunc("GET /ui/runs/{id}", s.uiSession(s.uiRun))
	mux.HandleFunc("GET /ui/plugins/{id}", s.uiSession(s.uiPlugin))
	mux.HandleFunc("POST /ui/plugins/{id}/approve", s.uiSession(s.uiApprovePlugin))
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/ui/", http.StatusSeeOther)
	})
}

func (s *Server) render(w http.ResponseWriter, status int, name string, p pageData) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'self'; form-action 'self'; frame-ancestors 'none'")
	w.Header().Set("X-Frame-Options", "DENY")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	if err := uiTemplates.ExecuteTemplate(w, name, p); err != nil {
		s.log.Error("render page", "page", name, "error", err)
	}
}

// uiSession sends a request without a live session to the login page, and
// one whose identity holds no review role away with 403.
func (s *Server) uiSession(h func(http.ResponseWriter, *http.Request, *session)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		sess := s.sessions.get(r)
		if sess == nil {
			if r.Method == http.MethodGet {
				http.Redirect(w, r, "/ui/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
				return
			}
			s.render(w, http.StatusForbidden, "error.html", pageData{Title: "Signed out",
				Error: "your session ended: sign in again"})
			return
		}
		h(w, r, sess)
	}
}

func (s *Server) uiLoginForm(w http.ResponseWriter, r *http.Request) {
	s.render(w, http.StatusOK, "login.html", pageData{Title: "Sign in", Data: safeNext(r.URL.Query().Get("next"))})
}

// safeNext keeps a post-login redirect on this server.
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/ui/") || strings.HasPrefix(next, "//") {
		return "/ui/"
	}
	return next
}

func (s *Server) uiLogin(w http.ResponseWriter, r *http.Request) {
	next := safeNext(r.PostFormValue("next"))
	id, err := s.auth.authenticate(r.Context(), strings.TrimSpace(r.PostFormValue("token")))
	if err != nil {
		s.log.Info("review page sign-in failed", "requestId", requestID(r.Context()), "error", err)
		s.render(w, http.StatusUnauthorized, "login.html", pageData{Title: "Sign in", Data: next,
			Error: "sign-in failed: " + err.Error()})
		return
	}
	if !id.Has(reviewers...) {
		s.render(w, http.StatusForbidden, "login.html", pageData{Title: "Sign in", Data: next,
			Error: forbiddenMessage(id, reviewers)})
		return
	}
	s.sessions.create(w, id)
	s.log.Info("review page sign-in", "identity", id.Name, "via", id.Via)
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (s *Server) uiLogout(w http.ResponseWriter, r *http.Request, sess *session) {
	if !sess.validPost(r) {
		s.render(w, http.StatusForbidden, "error.html", pageData{Title: "Rejected", Error: "invalid CSRF token"})
		return
	}
	s.sessions.end(w, r)
	http.Redirect(w, r, "/ui/login", http.StatusSeeOther)
}

func (s *Server) page(sess *session, title string, data any) pageData {
	return pageData{Title: title, Identity: sess.id, CSRF: sess.csrf, Data: data}
}

func (s *Server) uiIndex(w http.ResponseWriter, r *http.Request, sess *session) {
	pending, err := s.requestViews(func(x *approvals.Request) bool { return x.Status == approvals.StatusPending })
	if err != nil {
		s.uiFail(w, sess, err)
		return
	}
	runs, err := s.runs.list()
	if err != nil {
		s.uiFail(w, sess, err)
		return
	}
	runs = runs[:min(len(runs), 10)]
	plugins, err := s.pendingPlugins()
	if err != nil {
		s.uiFail(w, sess, err)
		return
	}
	s.render(w, http.StatusOK, "index.html", s.page(sess, "Pending approvals", struct {
		Pending []requestView
		Plugins []*pluginView
		Runs    []*Run
	}{pending, plugins, runs}))
}

func (s *Server) uiFail(w http.ResponseWriter, sess *session, err error) {
	status, _ := classify(err)
	p := s.page(sess, "Error", nil)
	p.Error = err.Error()
	s.render(w, status, "error.html", p)
}

// reviewData is the content of the request page.
type reviewData struct {
	Request   requestView
	Evidence  *approvals.Evidence
	Report    *scanners.ArtifactReport
	Vulns     []scanners.Finding
	Licenses  []scanners.Finding
	Scripts   []scanners.Finding
	Others    []scanners.Finding
	Diff      *dependencyDiff
	CanDecide bool
}

func (s *Server) reviewData(key string, sess *session) (*reviewData, error) {
	req, err := approvals.LoadRequest(s.db, key)
	if err != nil {
		return nil, err
	}
	d := &reviewData{Request: viewRequest(req)}
	if d.Evidence, _, err = approvals.LoadEvidence(s.blobs, req.Evidence); err != nil {
		return nil, err
	}
	d.Report, err = s.findings(key)
	if err != nil && !errors.Is(err, scanners.ErrNoResult) {
		return nil, err
	}
	if d.Report != nil {
		for _, f := range d.Report.Findings {
			switch f.Kind {
			case scanners.KindVulnerability:
				d.Vulns = append(d.Vulns, f)
			case scanners.KindLicense:
				d.Licenses = append(d.Licenses, f)
			case scanners.KindInstallScript, scanners.KindNativeBuild:
				d.Scripts = append(d.Scripts, f)
			default:
				d.Others = append(d.Others, f)
			}
		}
	}
	if d.Diff, err = s.dependencyDiff(key); err != nil {
		s.log.Warn("dependency diff", "artifact", key, "error", err)
	}
	d.CanDecide = req.Status == approvals.StatusPending && sess.id.Has(deciders...)
	return d, nil
}

func (s *Server) uiRequest(w http.ResponseWriter, r *http.Request, sess *session) {
	key := r.PathValue("key")
	d, err := s.reviewData(key, sess)
	if err != nil {
		s.uiFail(w, sess, err)
		return
	}
	p := s.page(sess, key, d)
	p.Message = r.URL.Query().Get("done")
	s.render(w, http.StatusOK, "request.html", p)
}

// uiDecide approves or rejects from the review page. It checks the CSRF
// token and the caller's role; the approvals package checks separation of
// duties and chain membership.
func (s *Server) uiDecide(w http.ResponseWriter, r *http.Request, sess *session) {
	key := r.PathValue("key")
	if !s.checkDecision(w, r, sess, "artifact", key) {
		return
	}
	action := r.PostFormValue("action")
	if action != "approve" && action != "reject" {
		s.uiFail(w, sess, badRequestf("invalid action %q: use approve or reject", action))
		return
	}
	_, err := s.applyDecision(key, sess.id, decision{Reason: r.PostFormValue("reason")}, action == "approve",
		"review-page")
	if err != nil {
		d, derr := s.reviewData(key, sess)
		if derr != nil {
			s.uiFail(w, sess, errors.Join(err, derr))
			return
		}
		status, _ := classify(err)
		p := s.page(sess, key, d)
		p.Error = err.Error()
		s.render(w, status, "request.html", p)
		return
	}
	done := "approved"
	if action == "reject" {
		done = "rejected"
	}
	http.Redirect(w, r, "/ui/requests/"+url.PathEscape(key)+"?done="+done, http.StatusSeeOther)
}

// checkDecision checks a decision posted on the review page: the session's
// CSRF token and a deciding role. It renders the error page and returns
// false when either is missing. kind and subject name what was decided
// on, for the log.
func (s *Server) checkDecision(w http.ResponseWriter, r *http.Request, sess *session, kind, subject string) bool {
	if !sess.validPost(r) {
		s.log.Warn("review page post without a valid CSRF token", "identity", sess.id.Name, kind, subject,
			"requestId", requestID(r.Context()))
		p := s.page(sess, "Rejected", nil)
		p.Error = "invalid CSRF token: reload the page and try again"
		s.render(w, http.StatusForbidden, "error.html", p)
		return false
	}
	if !sess.id.Has(deciders...) {
		p := s.page(sess, "Forbidden", nil)
		p.Error = forbiddenMessage(sess.id, deciders)
		s.render(w, http.StatusForbidden, "error.html", p)
		return false
	}
	return true
}

func (s *Server) uiRun(w http.ResponseWriter, r *http.Request, sess *session) {
	run, err := s.runs.get(r.PathValue("id"))
	if err != nil {
		s.uiFail(w, sess, err)
		return
	}
	s.render(w, http.StatusOK, "run.html", s.page(sess, "Run "+run.ID, struct {
		Run     *Run
		Running bool
	}{run, slices.Contains([]string{RunQueued, RunRunning}, run.Status)}))
}
