package approvals

import (
	"errors"
	"fmt"

	"github.com/sluice-dev/sluice/ingest/state"
)

// PluginStatus is the state of a plugin request, derived from the current
// states of its packages.
type PluginStatus string

// Plugin request statuses.
const (
	// PluginPending: a package awaits approval.
	PluginPending PluginStatus = "pending"
	// PluginRejected: a package is rejected, so the plugin cannot enter
	// at this version on top of this app.
	PluginRejected PluginStatus = "rejected"
	// PluginApproved: every package is approved and may be published.
	PluginApproved PluginStatus = "approved"
	// PluginPublished: every package is published or pinned.
	PluginPublished PluginStatus = "published"
	// PluginIncomplete: a package has no verdict yet.
	PluginIncomplete PluginStatus = "incomplete"
)

// Status returns the request's status and the current artifact of each
// package, in Packages order.
func (r *PluginRequest) Status(db *state.DB) (PluginStatus, []*state.Artifact, error) {
	arts := make([]*state.Artifact, len(r.Packages))
	counts := map[PluginStatus]int{}
	for i, p := range r.Packages {
		a, err := db.Artifact(p.Artifact)
		if err != nil {
			return "", nil, fmt.Errorf("plugin request %s: %w", r.ID, err)
		}
		arts[i] = a
		switch {
		case a.State == state.StateRejected:
			counts[PluginRejected]++
		case a.State == state.StateAwaitingApproval:
			counts[PluginPending]++
		case state.Reached(a.State, state.StatePublished):
			counts[PluginPublished]++
		case state.Reached(a.State, state.StateApproved):
			counts[PluginApproved]++
		default:
			counts[PluginIncomplete]++
		}
	}
	for _, s := range []PluginStatus{PluginRejected, PluginPending, PluginIncomplete, PluginApproved} {
		if counts[s] > 0 {
			return s, arts, nil
		}
	}
	return PluginPublished, arts, nil
}

// PluginVote is the outcome of one approval that ApprovePlugin cast.
type PluginVote struct {
	Artifact string
	// Request is the package's request after the vote; nil when Err is set.
	Request *Request
	Err     error
}

// ApprovePlugin casts act as an approval on every package of the plugin
// request that awaits approval, each through Approve, so separation of
// duties holds per package. A package whose chain act.Identity has no open
// step in is reported with its error and left as it is.
// It returns an error only when no vote counted.
func ApprovePlugin(db *state.DB, id string, act Action) ([]PluginVote, error) {
	r, err := LoadPluginRequest(db, id)
	if err != nil {
		return nil, err
	}
	_, arts, err := r.Status(db)
	if err != nil {
		return nil, err
	}
	var votes []PluginVote
	var errs []error
	counted := 0
	for _, a := range arts {
		if a.State != state.StateAwaitingApproval {
			continue
		}
		req, err := Approve(db, a.Key(), act)
		votes = append(votes, PluginVote{Artifact: a.Key(), Request: req, Err: err})
		if err != nil {
			errs = append(errs, err)
			continue
		}
		counted++
	}
	if len(votes) == 0 {
		return nil, fmt.Errorf("plugin request %s: %w: no package awaits approval", id, ErrNotPending)
	}
	if counted == 0 {
		return votes, fmt.Errorf("plugin request %s: no approval counted:\n%w", id, errors.Join(errs...))
	}
	return votes, nil
}
