package ingest

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/sluice-dev/sluice/ingest/state"
	"golang.org/x/sync/errgroup"
)

// slot is a place in the pipeline that a Stage fills.
type slot struct {
	stage  Stage
	target state.State
	// final is the last main-path state the slot covers: evaluation ends
	// in approved (or off the main path), the others in their target.
	final state.State
}

func (r *Runner) slots() []slot {
	return []slot{
		{r.Scan, state.StateScanned, state.StateScanned},
		{r.Evaluate, state.StateEvaluated, state.StateApproved},
		{r.Sign, state.StateSigned, state.StateSigned},
	}
}

// stageAll passes every stored artifact through the configured stages.
func (r *Runner) stageAll(ctx context.Context, runID string, arts []*state.Artifact, sum *Summary) error {
	var mu sync.Mutex
	var errs []error
	var g errgroup.Group
	g.SetLimit(r.Concurrency)
	for i := range arts {
		if !state.Reached(arts[i].State, state.StateFetched) {
			continue
		}
		g.Go(func() error {
			a, err := r.stageOne(ctx, runID, arts[i])
			mu.Lock()
			defer mu.Unlock()
			arts[i] = a
			switch {
			case err != nil:
				errs = append(errs, err)
			case a.State == state.StateRejected:
				sum.Rejected++
			case a.State == state.StateAwaitingApproval:
				sum.Waiting++
			}
			return nil
		})
	}
	g.Wait()
	return errors.Join(errs...)
}

// stageOne runs the stages an artifact has not passed yet. Empty slots are
// not transitions of their own: their states are named as skipped on the
// next move, so the ledger shows which stages did not run.
func (r *Runner) stageOne(ctx context.Context, runID string, a *state.Artifact) (*state.Artifact, error) {
	// An artifact waiting for people or rejected goes no further in a
	// sync; a decision moves it on.
	if a.State == state.StateAwaitingApproval || a.State == state.StateRejected {
		return a, nil
	}
	for _, s := range r.slots() {
		if s.stage == nil || state.Reached(a.State, s.target) || a.State == state.StateRejected {
			continue
		}
		skipped := state.Between(a.State, s.target)
		out, err := s.stage.Process(ctx, a, r.tarballOpener(a))
		if err != nil {
			return a, fmt.Errorf("%s: %s: %w", a.Key(), s.stage.Name(), err)
		}
		next, err := r.DB.Transition(a.Key(), state.Change{To: s.target, Run: runID, Actor: r.Actor,
			Skipped: skipped, Evidence: out.Evidence, Update: out.Update})
		if err != nil {
			return a, err
		}
		a = next
		if out.To != "" && out.To != s.target {
			next, err = r.DB.Transition(a.Key(), state.Change{To: out.To, Run: runID, Actor: r.Actor})
			if err != nil {
				return a, err
			}
			a = next
		}
		if !state.Reached(a.State, s.final) {
			return a, nil
		}
	}
	return a, nil
}

// publishable reports whether an artifact may be published: it has passed
// every configured stage, so only empty slots lie between it and published.
func (r *Runner) publishable(a *state.Artifact) bool {
	if !state.Reached(a.State, state.StateFetched) || state.Reached(a.State, state.StatePublished) {
		return false
	}
	if a.State == state.StateAwaitingApproval || a.State == state.StateRejected {
		return false
	}
	for _, s := range r.slots() {
		if s.stage == nil {
			continue
		}
		if !state.Reached(a.State, s.final) {
			return false
		}
		// An artifact that passed this slot's states while the slot was
		// empty has not been through the stage configured now.
		for _, skipped := range a.Skipped {
			if skipped == s.target || skipped == s.final {
				return false
			}
		}
	}
	return true
}
