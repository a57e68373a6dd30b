package state

import (
	"errors"
	"fmt"
	"slices"
)

// ErrInvalidTransition is returned when a move is not an edge of the state
// machine, for example publishing an artifact that was never fetched.
var ErrInvalidTransition = errors.New("invalid state transition")

// mainPath is the order an artifact takes when nothing stops it. The side
// states (awaiting-approval, rejected) hang off evaluated.
var mainPath = []State{
	StateRequested, StateResolved, StateFetched, StateScanned, StateEvaluated,
	StateApproved, StateSigned, StatePublished, StatePinned,
}

// edges lists every direct move besides the steps along mainPath. An
// approved, or signed but unpublished, artifact goes back to
// awaiting-approval when a rescan invalidates the approval it rests on.
var edges = map[State][]State{
	StateEvaluated:        {StateAwaitingApproval, StateRejected},
	StateAwaitingApproval: {StateApproved, StateRejected},
	StateApproved:         {StateAwaitingApproval},
	StateSigned:           {StateAwaitingApproval},
}

// CheckTransition reports whether an artifact in state from may move to
// state to. A move may jump forward along the main path only when skipped
// names exactly the states it jumps over, so a stage that did not run is
// always visible in the ledger.
func CheckTransition(from, to State, skipped []State) error {
	if from == StateRejected {
		return fmt.Errorf("%w: %s is final", ErrInvalidTransition, from)
	}
	if slices.Contains(edges[from], to) && len(skipped) == 0 {
		return nil
	}
	i, j := slices.Index(mainPath, from), slices.Index(mainPath, to)
	if i < 0 || j < 0 || j <= i {
		return fmt.Errorf("%w: %s -> %s", ErrInvalidTransition, from, to)
	}
	if !slices.Equal(mainPath[i+1:j], skipped) {
		return fmt.Errorf("%w: %s -> %s must name %v as skipped, not %v",
			ErrInvalidTransition, from, to, mainPath[i+1:j], skipped)
	}
	return nil
}

// Reached reports whether an artifact in state s has passed state want on
// the main path (or is in it), for example whether a published artifact
// was fetched.
func Reached(s, want State) bool {
	i, j := slices.Index(mainPath, s), slices.Index(mainPath, want)
	if s == StateAwaitingApproval {
		i = slices.Index(mainPath, StateEvaluated)
	}
	return i >= 0 && j >= 0 && i >= j
}

// Between returns the main-path states strictly after from and before to:
// what a jump from one to the other skips.
func Between(from, to State) []State {
	if from == StateAwaitingApproval {
		from = StateEvaluated
	}
	i, j := slices.Index(mainPath, from), slices.Index(mainPath, to)
	if i < 0 || j <= i+1 {
		return nil
	}
	return slices.Clone(mainPath[i+1 : j])
}
