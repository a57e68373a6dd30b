package server

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/sluice-dev/sluice/approvals"
	"github.com/sluice-dev/sluice/ingest"
	"github.com/sluice-dev/sluice/ingest/plugin"
	"github.com/sluice-dev/sluice/internal/pipeline"
	"github.com/sluice-dev/sluice/manifests"
)

// PluginRequester files the plugin requests of POST /api/v1/plugin-requests.
// The default, RunnerPluginRequester, computes the dependency diff against
// the app lockfile in the body, scans and evaluates the added packages and
// stores the request with approvals.RequestPlugin.
type PluginRequester interface {
	// RequestPlugin files body, whose Requester is the authenticated
	// caller. It returns a nil request with the diff when the app locks the
	// plugin's whole closure already.
	RequestPlugin(ctx context.Context, body *manifests.PluginRequest) (*approvals.PluginRequest, *plugin.Diff, error)
}

// RunnerPluginRequester files plugin requests with runners from Build.
type RunnerPluginRequester struct {
	Build RunnerBuilder
}

// RequestPlugin builds a runner recording the requester and runs the plugin
// request flow with the lockfile content of the body.
func (p *RunnerPluginRequester) RequestPlugin(ctx context.Context, body *manifests.PluginRequest) (
	*approvals.PluginRequest, *plugin.Diff, error) {
	r, done, err := p.Build(body.Requester)
	if err != nil {
		return nil, nil, err
	}
	defer done()
	return approvals.RequestPlugin(ctx, r, body, body.App.LockfilePath, []byte(body.App.Lockfile))
}

// pluginSummary is a plugin request in a list: its status, tier and the
// size of its dependency diff.
type pluginSummary struct {
	ID        string                 `json:"id"`
	Plugin    string                 `json:"plugin"`
	Status    approvals.PluginStatus `json:"status"`
	Tier      string                 `json:"tier"`
	Requester string                 `json:"requester"`
	Owner     string                 `json:"owner"`
	DataClass string                 `json:"dataClass"`
	Closure   int                    `json:"closure"`
	Locked    int                    `json:"locked"`
	Added     int                    `json:"added"`
	Created   time.Time              `json:"created"`
}

// pluginView is a stored plugin request with its current status; each
// package's State is its current state, not the one at filing.
type pluginView struct {
	*approvals.PluginRequest
	Status approvals.PluginStatus `json:"status"`
}

func (s *Server) viewPlugin(req *approvals.PluginRequest) (*pluginView, error) {
	status, arts, err := req.Status(s.db)
	if err != nil {
		return nil, err
	}
	cp := *req
	cp.Packages = make([]approvals.PluginPackage, len(req.Packages))
	for i, p := range req.Packages {
		p.State = arts[i].State
		cp.Packages[i] = p
	}
	return &pluginView{PluginRequest: &cp, Status: status}, nil
}

func (s *Server) listPluginRequests(w http.ResponseWriter, r *http.Request, _ *Identity) {
	reqs, err := approvals.PluginRequests(s.db)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	want := r.URL.Query().Get("status")
	items := []pluginSummary{}
	for _, req := range reqs {
		status, _, err := req.Status(s.db)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		if want != "" && string(status) != want {
			continue
		}
		items = append(items, pluginSummary{ID: req.ID, Plugin: req.Diff.Plugin, Status: status,
			Tier: string(req.Tier), Requester: req.Requester, Owner: req.Body.Owner, DataClass: req.Body.DataClass,
			Closure: req.Diff.Closure, Locked: req.Diff.Locked, Added: len(req.Packages), Created: req.Created})
	}
	writePageOf(s, w, r, items)
}

func (s *Server) getPluginRequest(w http.ResponseWriter, r *http.Request, _ *Identity) {
	req, err := approvals.LoadPluginRequest(s.db, r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	view, err := s.viewPlugin(req)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, view)
}

// createPluginRequest files a body of schema plugin-request.v1 as the
// caller. It responds once the added packages are scanned and evaluated.
func (s *Server) createPluginRequest(w http.ResponseWriter, r *http.Request, id *Identity) {
	data, err := io.ReadAll(io.LimitReader(r.Body, maxPluginBody+1))
	if err != nil {
		s.fail(w, r, badRequestf("read request body: %v", err))
		return
	}
	body, err := manifests.ParsePluginRequest("request body", data)
	if err != nil {
		s.fail(w, r, badRequestf("%v", err))
		return
	}

	if body.App.Lockfile == "" {
		s.fail(w, r, badRequestf("app.lockfile is missing: the server does not read %s from %q; send the "+
			"lockfile's content in app.lockfile", body.App.LockfilePath, body.App.Repository))
		return
	}
	// NOTE: the caller's identity is the requester that separation of
	// duties excludes from approving. A body naming someone else, such as
	// the Backstage user behind a proxy token, is recorded in the ledger
	// but does not exclude that person.
	named := body.Requester
	body.Requester = id.Name
	if err := s.recordCall(entryRequestFiled, body.Plugin.Name+"@"+body.Plugin.Version, id,
		map[string]string{"kind": "plugin", "namedRequester": named, "owner": body.Owner,
			"dataClass": body.DataClass, "justification": body.Justification,
			"lockfilePath": body.App.LockfilePath, "repository": body.App.Repository}); err != nil {
		s.fail(w, r, err)
		return
	}

	req, diff, err := s.plugins.RequestPlugin(r.Context(), body)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if req == nil {
		s.fail(w, r, badRequestf("%s: the app locks all %d packages of the plugin's closure already; nothing "+
			"to request", diff.Plugin, diff.Closure))
		return
	}
	view, err := s.viewPlugin(req)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, view)
}

// maxPluginBody bounds a plugin request body, which carries the app
// lockfile inline; ParsePluginRequest applies its own limit as well.
const maxPluginBody = 32 << 20

// pluginApproval is the response to approving a plugin request.
type pluginApproval struct {
	Request *pluginView  `json:"request"`
	Votes   []pluginVote `json:"votes"`
	// Published is the summary of the publishing run, when the approval
	// completed the request and a mirror is configured; PublishError is
	// set when that run failed, which leaves the approvals in place.
	Published    *ingest.Summary `json:"published,omitempty"`
	PublishError string          `json:"publishError,omitempty"`
}

type pluginVote struct {
	Artifact string   `json:"artifact"`
	Status   string   `json:"status,omitempty"`
	Waiting  []string `json:"waiting,omitempty"`
	Error    string   `json:"error,omitempty"`
}

// approvePluginRequest casts the caller's approval on every package of the
// request that awaits approval.
func (s *Server) approvePluginRequest(w http.ResponseWriter, r *http.Request, id *Identity) {
	var d decision
	if err := decodeBody(r, &d); err != nil {
		s.fail(w, r, err)
		return
	}
	out, err := s.applyPluginApproval(r.Context(), r.PathValue("id"), id, d, "api")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// applyPluginApproval approves the packages of plugin request key through
// approvals.ApprovePlugin, which enforces separation of duties per
// package, and publishes the plugin through the gated publisher once all
// are approved and a mirror is configured.
func (s *Server) applyPluginApproval(ctx context.Context, key string, id *Identity, d decision, via string) (
	*pluginApproval, error) {
	votes, err := approvals.ApprovePlugin(s.db, key,
		approvals.Action{Identity: id.Name, Role: d.Role, Reason: d.Reason, Via: via})
	if err != nil {
		return nil, err
	}
	out := &pluginApproval{Votes: []pluginVote{}}
	for _, v := range votes {
		pv := pluginVote{Artifact: v.Artifact}
		if v.Err != nil {
			pv.Error = v.Err.Error()
		} else {
			pv.Status, pv.Waiting = string(v.Request.Status), v.Request.Waiting()
		}
		out.Votes = append(out.Votes, pv)
	}
	req, err := approvals.LoadPluginRequest(s.db, key)
	if err != nil {
		return nil, err
	}
	status, _, err := req.Status(s.db)
	if err != nil {
		return nil, err
	}
	if status == approvals.PluginApproved && s.cfg.NPM.Mirror != "" {
		if out.Published, err = s.publishPlugin(ctx, req, id.Name); err != nil {
			s.log.Error("publish approved plugin", "pluginRequest", req.ID, "identity", id.Name, "error", err)
			out.PublishError = err.Error()
		}
	}
	if out.Request, err = s.viewPlugin(req); err != nil {
		return nil, err
	}
	return out, nil
}

// publishPlugin publishes an approved plugin request with a runner from
// the server's configuration.
// NOTE: it runs in the API call, beside the scheduler's syncs, and is not
// listed under /api/v1/runs; its ledger run records it.
func (s *Server) publishPlugin(ctx context.Context, req *approvals.PluginRequest, actor string) (
	*ingest.Summary, error) {
	runner, done, err := s.buildRunner(actor)
	if err != nil {
		return nil, err
	}
	defer done()
	if runner.Publish != nil {
		runner.Publish = countingPublisher{runner.Publish, s.metrics}
	}
	sum, err := pipeline.PublishPlugin(ctx, runner, req)
	if sum != nil {
		s.metrics.published.Add(float64(sum.Published))
	}
	if err != nil {
		return sum, fmt.Errorf("plugin request %s: %w", req.ID, err)
	}
	return sum, nil
}
