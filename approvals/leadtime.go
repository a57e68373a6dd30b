package approvals

import (
	"time"

	"github.com/sluice-dev/sluice/ingest/state"
)

// LeadTime is how long an artifact took from request to publication.
type LeadTime struct {
	Requested time.Time `json:"requested"`
	Evaluated time.Time `json:"evaluated,omitzero"`
	Approved  time.Time `json:"approved,omitzero"`
	Published time.Time `json:"published,omitzero"`
	// Total is Published minus Requested; zero until published.
	Total time.Duration `json:"total,omitempty"`
	// Waiting is the time spent in awaiting-approval, summed over every
	// wait (an invalidated approval waits again).
	Waiting time.Duration `json:"waiting,omitempty"`
}

// LeadTimeOf computes an artifact's lead time from its ledger entries, in
// ledger order. It reports false when the entries hold no request.
// Approved is the last move to approved before publication.
func LeadTimeOf(entries []state.Entry) (LeadTime, bool) {
	var lt LeadTime
	var waitingSince time.Time
	for _, e := range entries {
		if e.Type != state.EntryTransition {
			continue
		}
		if !waitingSince.IsZero() && e.From == state.StateAwaitingApproval {
			lt.Waiting += e.Time.Sub(waitingSince)
			waitingSince = time.Time{}
		}
		switch e.To {
		case state.StateRequested:
			lt.Requested = e.Time
		case state.StateEvaluated:
			if lt.Evaluated.IsZero() {
				lt.Evaluated = e.Time
			}
		case state.StateAwaitingApproval:
			waitingSince = e.Time
		case state.StateApproved:
			if lt.Published.IsZero() {
				lt.Approved = e.Time
			}
		case state.StatePublished:
			if lt.Published.IsZero() {
				lt.Published = e.Time
				lt.Total = e.Time.Sub(lt.Requested)
			}
		}
	}
	return lt, !lt.Requested.IsZero()
}
