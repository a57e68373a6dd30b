package approvals

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/sluice-dev/sluice/ingest/state"
	"github.com/sluice-dev/sluice/manifests/policy"
)

// RequestsBucket is the state store bucket that keeps each artifact's
// latest approval request, under the artifact's key.
const RequestsBucket = "approvals"

// Ledger entry types this package writes besides artifact transitions.
const (
	EntryRequested   = "approval.requested"
	EntryGranted     = "approval.granted"
	EntryInvalidated = "approval.invalidated"
	EntryReevaluated = "approval.reevaluated"
	EntryExternal    = "approval.external"
)

// Errors that callers branch on. Approve and Reject wrap them with the
// artifact and the identity.
var (
	ErrNoRequest        = errors.New("no approval request")
	ErrNotPending       = errors.New("approval request is closed")
	ErrExpired          = errors.New("approval request expired")
	ErrSelfApproval     = errors.New("the requester may not approve their own request")
	ErrAlreadyApproved  = errors.New("identity has approved this request already")
	ErrNotApprover      = errors.New("identity is not a member of any role in the approval chain")
	ErrOutOfOrder       = errors.New("approval step waits for an earlier step")
	ErrStepComplete     = errors.New("approval step is complete")
	ErrReasonRequired   = errors.New("a reason is required")
	ErrIdentityRequired = errors.New("an identity is required")
)

// Status is the state of an approval request.
type Status string

// Request statuses. Every status but pending is final.
const (
	StatusPending    Status = "pending"
	StatusApproved   Status = "approved"
	StatusRejected   Status = "rejected"
	StatusExpired    Status = "expired"
	StatusSuperseded Status = "superseded"
)

// Step is one step of an approval chain, with the identities that held
// the role when the request was made.
type Step struct {
	Role  string `json:"role"`
	Count int    `json:"count"`
	// After names the role of the step that must be complete first.
	After   string   `json:"after,omitempty"`
	Members []string `json:"members"`
}

// Vote is one approval granted on a request.
type Vote struct {
	Identity string    `json:"identity"`
	Role     string    `json:"role"`
	Time     time.Time `json:"time"`
	Reason   string    `json:"reason,omitempty"`
	// Via names the channel, such as "cli" or "e-approval:DOC-17".
	Via string `json:"via,omitempty"`
}

// External links a request to a document in an external e-approval system.
type External struct {
	System     string    `json:"system"`
	DocumentID string    `json:"documentID"`
	URL        string    `json:"url,omitempty"`
	Submitted  time.Time `json:"submitted"`
	// Notes are events recorded from the system that moved nothing, such
	// as decisions Sluice did not count.
	Notes []string `json:"notes,omitempty"`
}

// Request is an artifact's pending or decided approval request.
type Request struct {
	Artifact string `json:"artifact"`
	// Digest is the tarball digest the request is about.
	Digest       string      `json:"digest"`
	Tier         policy.Tier `json:"tier"`
	Policy       string      `json:"policy"`
	PolicyDigest string      `json:"policyDigest"`
	Rules        []string    `json:"rules,omitempty"`
	// Evidence is the digest of the evidence document in the blob store.
	Evidence  string    `json:"evidence"`
	Chain     []Step    `json:"chain"`
	Requester string    `json:"requester,omitempty"`
	Created   time.Time `json:"created"`
	// Expires is zero when the tier sets no expiry.
	Expires   time.Time `json:"expires,omitzero"`
	Approvals []Vote    `json:"approvals,omitempty"`
	Status    Status    `json:"status"`
	// Closed, ClosedBy and Reason record who or what closed the request.
	Closed   time.Time `json:"closed,omitzero"`
	ClosedBy string    `json:"closedBy,omitempty"`
	Reason   string    `json:"reason,omitempty"`
	External *External `json:"external,omitempty"`
}

// newRequest builds the request for a decision that needs approvers.
func newRequest(a *state.Artifact, p *policy.Policy, d *Decision, evidence string, now time.Time) *Request {
	spec := p.Tiers.Spec(d.Tier)
	r := &Request{Artifact: a.Key(), Digest: a.Digest, Tier: d.Tier, Policy: d.Policy,
		PolicyDigest: d.PolicyDigest, Rules: d.RuleNames(), Evidence: evidence,
		Requester: a.Requester, Created: now, Status: StatusPending}
	if spec.ExpiresAfter > 0 {
		r.Expires = now.Add(time.Duration(spec.ExpiresAfter))
	}
	for _, ap := range spec.Approvers {
		r.Chain = append(r.Chain, Step{Role: ap.Role, Count: ap.Count, After: ap.After,
			Members: slices.Clone(p.Roles[ap.Role])})
	}
	return r
}

// SameIdentity reports whether two identities name the same person. It
// ignores case and the "cli:" prefix that CLI runs put before the user
// name, so a sync run as cli:alice and an approval as alice are one
// identity.
func SameIdentity(a, b string) bool {
	return normalize(a) == normalize(b)
}

func normalize(id string) string {
	return strings.ToLower(strings.TrimPrefix(strings.TrimSpace(id), "cli:"))
}

// Expired reports whether the request has an expiry at or before now.
func (r *Request) Expired(now time.Time) bool {
	return !r.Expires.IsZero() && !now.Before(r.Expires)
}

// votes returns how many approvals a step has.
func (r *Request) votes(role string) int {
	n := 0
	for _, v := range r.Approvals {
		if v.Role == role {
			n++
		}
	}
	return n
}

func (r *Request) stepDone(role string) bool {
	for _, s := range r.Chain {
		if s.Role == role {
			return r.votes(role) >= s.Count
		}
	}
	return true
}

// Complete reports whether every step has its approvals.
func (r *Request) Complete() bool {
	for _, s := range r.Chain {
		if !r.stepDone(s.Role) {
			return false
		}
	}
	return true
}

// Waiting describes the steps that still need approvals, such as
// "security: 1 more of carol, dave (after team-lead)".
func (r *Request) Waiting() []string {
	var out []string
	for _, s := range r.Chain {
		missing := s.Count - r.votes(s.Role)
		if missing <= 0 {
			continue
		}
		w := fmt.Sprintf("%s: %d more of %s", s.Role, missing, strings.Join(s.Members, ", "))
		if s.After != "" && !r.stepDone(s.After) {
			w += " (after " + s.After + ")"
		}
		out = append(out, w)
	}
	return out
}

// assign returns the step an approval by identity counts for. role, when
// not empty, picks among the identity's roles. It enforces separation of
// duties: not the requester, one approval per identity, members only, and
// a step with after only once that step is complete.
func (r *Request) assign(identity, role string) (*Step, error) {
	// NOTE: a request without a requester (an artifact recorded before
	// the runner stored one) excludes nobody from approving it.
	if SameIdentity(identity, r.Requester) {
		return nil, ErrSelfApproval
	}
	for _, v := range r.Approvals {
		if SameIdentity(v.Identity, identity) {
			return nil, fmt.Errorf("%w (as %s on %s)", ErrAlreadyApproved, v.Role,
				v.Time.Format(time.RFC3339))
		}
	}
	var member, open []*Step
	for i := range r.Chain {
		s := &r.Chain[i]
		if !s.hasMember(identity) || (role != "" && s.Role != role) {
			continue
		}
		member = append(member, s)
		if !r.stepDone(s.Role) {
			open = append(open, s)
		}
	}
	switch {
	case len(member) == 0 && role != "":
		return nil, fmt.Errorf("%w: %s is not a member of role %s in this chain", ErrNotApprover,
			identity, role)
	case len(member) == 0:
		return nil, fmt.Errorf("%w: the chain needs %s", ErrNotApprover, r.roleList())
	case len(open) == 0:
		return nil, fmt.Errorf("%w: role %s has all the approvals it needs", ErrStepComplete,
			member[0].Role)
	}
	for _, s := range open {
		if s.After == "" || r.stepDone(s.After) {
			return s, nil
		}
	}
	return nil, fmt.Errorf("%w: role %s approves after role %s, which still needs approvals",
		ErrOutOfOrder, open[0].Role, open[0].After)
}

func (s *Step) hasMember(identity string) bool {
	return slices.ContainsFunc(s.Members, func(m string) bool { return SameIdentity(m, identity) })
}

func (r *Request) roleList() string {
	roles := make([]string, len(r.Chain))
	for i, s := range r.Chain {
		roles[i] = s.Role
	}
	return strings.Join(roles, ", ")
}

// member reports whether identity holds any role of the chain.
func (r *Request) member(identity string) bool {
	return slices.ContainsFunc(r.Chain, func(s Step) bool { return s.hasMember(identity) })
}

// approverList formats the votes as "team-lead:alice, security:carol".
func (r *Request) approverList() string {
	parts := make([]string, len(r.Approvals))
	for i, v := range r.Approvals {
		parts[i] = v.Role + ":" + v.Identity
	}
	return strings.Join(parts, ", ")
}

// ChainString formats the chain as "team-lead x1; security x1 after
// team-lead".
func (r *Request) ChainString() string {
	parts := make([]string, len(r.Chain))
	for i, s := range r.Chain {
		parts[i] = fmt.Sprintf("%s x%d", s.Role, s.Count)
		if s.After != "" {
			parts[i] += " after " + s.After
		}
	}
	return strings.Join(parts, "; ")
}

// LoadRequest returns an artifact's latest request, or ErrNoRequest.
func LoadRequest(db *state.DB, key string) (*Request, error) {
	var r *Request
	err := db.View(func(tx *state.Tx) error {
		var err error
		r, err = getRequest(tx, key)
		return err
	})
	return r, err
}

func getRequest(tx *state.Tx, key string) (*Request, error) {
	r := new(Request)
	ok, err := tx.Get(RequestsBucket, key, r)
	if err != nil {
		return nil, fmt.Errorf("approval request of %s: %w", key, err)
	}
	if !ok {
		return nil, fmt.Errorf("%s: %w", key, ErrNoRequest)
	}
	return r, nil
}

// Requests returns the stored requests for which keep returns true (all
// when keep is nil), in artifact key order.
func Requests(db *state.DB, keep func(*Request) bool) ([]*Request, error) {
	var out []*Request
	err := db.View(func(tx *state.Tx) error {
		return tx.ForEach(RequestsBucket, func(key string, value []byte) error {
			r := new(Request)
			if err := json.Unmarshal(value, r); err != nil {
				return fmt.Errorf("approval request of %s: %w", key, err)
			}
			if keep == nil || keep(r) {
				out = append(out, r)
			}
			return nil
		})
	})
	return out, err
}
