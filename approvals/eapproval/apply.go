package eapproval

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/sluice-dev/sluice/approvals"
	"github.com/sluice-dev/sluice/ingest/state"
)

// chainViolations are the errors of a decision that breaks the chain's
// rules. Such a decision is not counted, and the request stays open.
var chainViolations = []error{approvals.ErrSelfApproval, approvals.ErrAlreadyApproved,
	approvals.ErrNotApprover, approvals.ErrOutOfOrder, approvals.ErrStepComplete}

func violatesChain(err error) bool {
	return slices.ContainsFunc(chainViolations, func(target error) bool { return errors.Is(err, target) })
}

// apply brings a document's status into Sluice: each decision not yet
// counted, in the order the system lists them, and a rejection of the
// whole document. It stops at the first decision that closes the request.
func (c *Client) apply(db *state.DB, r *approvals.Request, st *Status, sum *Summary) error {
	if st.ID != "" && st.ID != r.External.DocumentID {
		return fmt.Errorf("%s: %s returned document %s for %s", r.Artifact, c.system, st.ID,
			r.External.DocumentID)
	}
	via := c.system + ":" + r.External.DocumentID
	for _, d := range st.Decisions {
		if counted(r, d) {
			continue
		}
		var next *approvals.Request
		var err error
		switch d.Decision {
		case DecisionApprove:
			next, err = approvals.Approve(db, r.Artifact, approvals.Action{Identity: d.Identity,
				Role: d.Role, Reason: d.Reason, Via: via})
		case DecisionReject:
			reason := d.Reason
			if strings.TrimSpace(reason) == "" {
				reason = "rejected in " + via
			}
			next, err = approvals.Reject(db, r.Artifact, approvals.Action{Identity: d.Identity,
				Reason: reason, Via: via})
		default:
			if err := c.notCounted(db, r, d, fmt.Sprintf("unknown decision %q", d.Decision)); err != nil {
				return err
			}
			continue
		}
		switch {
		case errors.Is(err, approvals.ErrExpired):
			sum.Expired = append(sum.Expired, r.Artifact)
			return nil
		case errors.Is(err, approvals.ErrNotPending):
			return nil
		case violatesChain(err):
			if err := c.notCounted(db, r, d, err.Error()); err != nil {
				return err
			}
			sum.NotCounted = append(sum.NotCounted, fmt.Sprintf("%s: %s: %v", r.Artifact, d.Identity, err))
			continue
		case err != nil:
			return err
		}
		r = next
		switch r.Status {
		case approvals.StatusApproved:
			sum.Approved = append(sum.Approved, r.Artifact)
			c.log.Debug("approved in "+c.system, "artifact", r.Artifact, "document", r.External.DocumentID)
			return nil
		case approvals.StatusRejected:
			sum.Rejected = append(sum.Rejected, r.Artifact)
			c.log.Debug("rejected in "+c.system, "artifact", r.Artifact, "document", r.External.DocumentID)
			return nil
		}
	}
	switch st.Status {
	case StatusRejected:
		if _, err := approvals.RejectExternal(db, r.Artifact, via, st.Reason); err != nil {
			if errors.Is(err, approvals.ErrNotPending) {
				return nil
			}
			return err
		}
		sum.Rejected = append(sum.Rejected, r.Artifact)
	case StatusApproved:
		note := "approved in " + c.system + " but the chain is incomplete: waiting for " +
			strings.Join(r.Waiting(), "; ")
		added, err := approvals.NoteExternal(db, r.Artifact, note, nil)
		if err != nil {
			return err
		}
		if added {
			c.log.Warn("external approval does not complete the chain", "artifact", r.Artifact,
				"document", r.External.DocumentID, "waiting", r.Waiting())
		}
	}
	return nil
}

// counted reports whether a decision is already reflected in the request:
// a vote by the same identity, or a note that it was not counted.
func counted(r *approvals.Request, d Decision) bool {
	if d.Decision == DecisionApprove && slices.ContainsFunc(r.Approvals, func(v approvals.Vote) bool {
		return approvals.SameIdentity(v.Identity, d.Identity)
	}) {
		return true
	}
	return r.External != nil && slices.ContainsFunc(r.External.Notes, func(n string) bool {
		return strings.HasPrefix(n, notCountedPrefix(d))
	})
}

func notCountedPrefix(d Decision) string {
	return fmt.Sprintf("not counted: %s by %s at %s: ", d.Decision, d.Identity,
		d.Time.UTC().Format(time.RFC3339))
}

// notCounted records a decision that Sluice does not count, and why.
func (c *Client) notCounted(db *state.DB, r *approvals.Request, d Decision, why string) error {
	_, err := approvals.NoteExternal(db, r.Artifact, notCountedPrefix(d)+why,
		map[string]string{"identity": d.Identity, "role": d.Role, "decision": d.Decision})
	if err == nil {
		c.log.Warn("decision from "+c.system+" not counted", "artifact", r.Artifact, "identity", d.Identity,
			"decision", d.Decision, "why", why)
	}
	return err
}

// CallbackHandler returns the handler for status callbacks from the
// e-approval system. It requires the bearer token, finds the request by
// the status's externalRef and document ID, applies the status as Sync
// does, and responds with 204. Errors are 401 for a wrong token, 400 for
// a body that is not a Status, and 404 for an unknown document. A state
// store failure is 500, which the system should retry.
func (c *Client) CallbackHandler(db *state.DB, token string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.Method != http.MethodPost {
			http.Error(w, "use POST", http.StatusMethodNotAllowed)
			return
		}
		got := strings.TrimPrefix(req.Header.Get("Authorization"), "Bearer ")
		if token == "" || subtle.ConstantTimeCompare([]byte(got), []byte(token)) != 1 {
			http.Error(w, "invalid or missing bearer token", http.StatusUnauthorized)
			return
		}
		var st Status
		if err := json.NewDecoder(io.LimitReader(req.Body, 4<<20)).Decode(&st); err != nil ||
			st.ExternalRef == "" || st.ID == "" {
			http.Error(w, "body must be a status with id and externalRef", http.StatusBadRequest)
			return
		}
		r, err := approvals.LoadRequest(db, st.ExternalRef)
		if err != nil || r.External == nil || r.External.DocumentID != st.ID {
			http.Error(w, "no approval request is linked to document "+st.ID, http.StatusNotFound)
			return
		}
		if err := c.apply(db, r, &st, &Summary{}); err != nil {
			c.log.Error("apply callback", "artifact", st.ExternalRef, "document", st.ID, "error", err)
			http.Error(w, "could not apply the status; retry later", http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}
