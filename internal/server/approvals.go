package server

import (
	"net/http"
	"time"

	"github.com/sluice-dev/sluice/approvals"
	"github.com/sluice-dev/sluice/ingest/state"
)

// TriggerApproval marks a sync started because an approval completed, so
// the approved artifact moves on to signing and publication.
const TriggerApproval = "approval"

// requestView is an approval request with what it still waits for.
type requestView struct {
	*approvals.Request
	Waiting []string `json:"waiting"`
}

func viewRequest(r *approvals.Request) requestView {
	w := []string{}
	if r.Status == approvals.StatusPending {
		w = append(w, r.Waiting()...)
	}
	return requestView{Request: r, Waiting: w}
}

// requestViews returns the requests that keep accepts, after rejecting
// those whose expiry has passed.
func (s *Server) requestViews(keep func(*approvals.Request) bool) ([]requestView, error) {
	// ExpireDue writes one transaction per pending request, so it runs
	// only when a request is due, not on every list.
	now := time.Now()
	due, err := approvals.Requests(s.db, func(r *approvals.Request) bool {
		return r.Status == approvals.StatusPending && r.Expired(now)
	})
	if err != nil {
		return nil, err
	}
	if len(due) > 0 {
		if _, err := approvals.ExpireDue(s.db); err != nil {
			return nil, err
		}
	}
	reqs, err := approvals.Requests(s.db, keep)
	if err != nil {
		return nil, err
	}
	views := make([]requestView, len(reqs))
	for i, r := range reqs {
		views[i] = viewRequest(r)
	}
	return views, nil
}

func (s *Server) listApprovalRequests(w http.ResponseWriter, r *http.Request, _ *Identity) {
	status := r.URL.Query().Get("status")
	views, err := s.requestViews(func(x *approvals.Request) bool {
		return status == "" || string(x.Status) == status
	})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writePageOf(s, w, r, views)
}

func (s *Server) getApprovalRequest(w http.ResponseWriter, r *http.Request, _ *Identity) {
	req, err := approvals.LoadRequest(s.db, r.PathValue("key"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, viewRequest(req))
}

// decision is the body of approve and reject.
type decision struct {
	Reason string `json:"reason"`
	// Role picks which of the caller's approval chain roles an approval
	// counts for.
	Role string `json:"role,omitempty"`
}

func (s *Server) approve(w http.ResponseWriter, r *http.Request, id *Identity) {
	s.decide(w, r, id, true)
}

func (s *Server) reject(w http.ResponseWriter, r *http.Request, id *Identity) {
	s.decide(w, r, id, false)
}

func (s *Server) decide(w http.ResponseWriter, r *http.Request, id *Identity, approve bool) {
	var d decision
	if err := decodeBody(r, &d); err != nil {
		s.fail(w, r, err)
		return
	}
	req, err := s.applyDecision(r.PathValue("key"), id, d, approve, "api")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, viewRequest(req))
}

// applyDecision approves or rejects through the approvals package, which
// enforces separation of duties, and syncs the artifact's manifests when
// an approval completes its chain.
func (s *Server) applyDecision(key string, id *Identity, d decision, approve bool, via string) (*approvals.Request, error) {
	act := approvals.Action{Identity: id.Name, Role: d.Role, Reason: d.Reason, Via: via}
	if !approve {
		return approvals.Reject(s.db, key, act)
	}
	req, err := approvals.Approve(s.db, key, act)
	if err != nil {
		return req, err
	}
	if req.Status == approvals.StatusApproved {
		s.proceed(key)
	}
	return req, nil
}

// proceed queues a sync of the manifests that requested an approved
// artifact. A manifest already syncing picks the artifact up in its next
// run.
func (s *Server) proceed(key string) {
	a, err := s.db.Artifact(key)
	if err != nil {
		s.log.Error("load approved artifact", "artifact", key, "error", err)
		return
	}
	ms, err := s.loadManifests()
	if err != nil {
		s.log.Error("load manifests", "error", err)
		return
	}
	var names []string
	for _, m := range ms {
		for _, name := range a.Manifests {
			if m.Metadata.Name == name {
				names = append(names, name)
			}
		}
	}
	if len(names) == 0 {
		return
	}
	if _, err := s.runs.trigger(names, TriggerApproval, schedulerActor); err != nil {
		s.log.Info("approved artifact waits for the next sync", "artifact", key, "error", err)
	}
}

// recordCall appends a ledger entry for an API call that changed state
// outside the library's own entries.
func (s *Server) recordCall(typ, subject string, id *Identity, evidence map[string]string) error {
	return s.db.Update(func(tx *state.Tx) error {
		return tx.Append(state.Entry{Type: typ, Subject: subject, Actor: id.Name, Evidence: evidence})
	})
}
