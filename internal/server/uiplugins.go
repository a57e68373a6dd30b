package server

import (
	"net/http"
	"net/url"

	"github.com/sluice-dev/sluice/approvals"
)

// pendingPlugins returns the plugin requests that await approval.
func (s *Server) pendingPlugins() ([]*pluginView, error) {
	reqs, err := approvals.PluginRequests(s.db)
	if err != nil {
		return nil, err
	}
	var out []*pluginView
	for _, req := range reqs {
		view, err := s.viewPlugin(req)
		if err != nil {
			return nil, err
		}
		if view.Status == approvals.PluginPending {
			out = append(out, view)
		}
	}
	return out, nil
}

// pluginPageData is the content of a plugin request's review page.
type pluginPageData struct {
	Request   *pluginView
	CanDecide bool
}

func (s *Server) pluginPage(key string, sess *session) (*pluginPageData, error) {
	req, err := approvals.LoadPluginRequest(s.db, key)
	if err != nil {
		return nil, err
	}
	view, err := s.viewPlugin(req)
	if err != nil {
		return nil, err
	}
	return &pluginPageData{Request: view,
		CanDecide: view.Status == approvals.PluginPending && sess.id.Has(deciders...)}, nil
}

func (s *Server) uiPlugin(w http.ResponseWriter, r *http.Request, sess *session) {
	key := r.PathValue("id")
	d, err := s.pluginPage(key, sess)
	if err != nil {
		s.uiFail(w, sess, err)
		return
	}
	p := s.page(sess, d.Request.Diff.Plugin, d)
	p.Message = r.URL.Query().Get("done")
	s.render(w, http.StatusOK, "plugin.html", p)
}

// uiApprovePlugin approves every waiting package of a plugin request from
// the review page. It checks the CSRF token and the caller's role, and
// the approvals package checks separation of duties per package.
func (s *Server) uiApprovePlugin(w http.ResponseWriter, r *http.Request, sess *session) {
	key := r.PathValue("id")
	if !s.checkDecision(w, r, sess, "pluginRequest", key) {
		return
	}
	out, err := s.applyPluginApproval(r.Context(), key, sess.id, decision{Reason: r.PostFormValue("reason")},
		"review-page")
	if err == nil && out.PublishError != "" {
		err = badRequestf("approved, but publishing failed: %s", out.PublishError)
	}
	if err != nil {
		d, derr := s.pluginPage(key, sess)
		if derr != nil {
			s.uiFail(w, sess, err)
			return
		}
		status, _ := classify(err)
		p := s.page(sess, d.Request.Diff.Plugin, d)
		p.Error = err.Error()
		s.render(w, status, "plugin.html", p)
		return
	}
	http.Redirect(w, r, "/ui/plugins/"+url.PathEscape(key)+"?done="+string(out.Request.Status), http.StatusSeeOther)
}
