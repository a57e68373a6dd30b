package approvals

import (
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"

	"github.com/sluice-dev/sluice/ingest/state"
)

// SystemActor is the ledger actor of moves that no person makes, such as
// an expiry.
const SystemActor = "sluice"

// Action is one approval or rejection.
type Action struct {
	Identity string
	// Role picks which of the identity's roles an approval counts for;
	// empty picks the first step the identity may approve now.
	Role string
	// Reason is required to reject and optional to approve.
	Reason string
	// Via names the channel, such as "cli" or "e-approval:DOC-17".
	Via string
}

// ErrInvalidText is returned for an identity or reason that contains a
// control character: a line break or a terminal escape in a reason could
// make evidence output show a sign-off that never happened.
var ErrInvalidText = errors.New("contains a control character")

// validate rejects identities and reasons with control characters.
func (act Action) validate() error {
	for field, text := range map[string]string{"identity": act.Identity, "reason": act.Reason, "role": act.Role} {
		if strings.IndexFunc(text, unicode.IsControl) >= 0 {
			return fmt.Errorf("%s %q %w: write it on one line without escape sequences", field, text, ErrInvalidText)
		}
	}
	return nil
}

// Approve records act as an approval of the artifact's pending request.
// The vote's ledger entry and, when the vote completes the chain, the
// artifact's move to approved are written in one transaction.
//
// A request past its expiry is rejected with reason expired instead; that
// is committed and Approve returns ErrExpired.
func Approve(db *state.DB, key string, act Action) (*Request, error) {
	if strings.TrimSpace(act.Identity) == "" {
		return nil, fmt.Errorf("approve %s: %w: pass --as or set SLUICE_ACTOR", key, ErrIdentityRequired)
	}
	if err := act.validate(); err != nil {
		return nil, fmt.Errorf("approve %s: %w", key, err)
	}
	var r *Request
	expired := false
	err := db.Update(func(tx *state.Tx) error {
		var err error
		if r, err = openRequest(tx, key); err != nil {
			return err
		}
		if r.Expired(tx.Now()) {
			expired = true
			return expire(tx, r)
		}
		step, err := r.assign(act.Identity, act.Role)
		if err != nil {
			return fmt.Errorf("%s: %s: %w", key, act.Identity, err)
		}
		return grant(tx, r, step, act)
	})
	if err != nil {
		return nil, err
	}
	if expired {
		return r, fmt.Errorf("approve %s: %w on %s; it is now rejected, and the artifact needs "+
			"a new version to enter", key, ErrExpired, r.Expires.Format(time.RFC3339))
	}
	return r, nil
}

func grant(tx *state.Tx, r *Request, step *Step, act Action) error {
	now := tx.Now()
	r.Approvals = append(r.Approvals, Vote{Identity: act.Identity, Role: step.Role, Time: now,
		Reason: act.Reason, Via: act.Via})
	ev := map[string]string{"role": step.Role, "step": fmt.Sprintf("%d of %d", r.votes(step.Role),
		step.Count), "reason": act.Reason, "via": act.Via, "evidence": r.Evidence}
	if err := tx.Append(state.Entry{Type: EntryGranted, Subject: r.Artifact, Actor: act.Identity,
		Evidence: ev}); err != nil {
		return err
	}
	if r.Complete() {
		r.Status, r.Closed, r.ClosedBy, r.Reason = StatusApproved, now, act.Identity, act.Reason
		_, err := tx.Transition(r.Artifact, state.Change{To: state.StateApproved, Actor: act.Identity,
			Evidence: map[string]string{"approvers": r.approverList(), "tier": string(r.Tier),
				"policy": r.Policy, "policyDigest": r.PolicyDigest, "evidence": r.Evidence,
				"reason": act.Reason, "requested": r.Created.Format(time.RFC3339Nano)}})
		if err != nil {
			return err
		}
	}
	return tx.Put(RequestsBucket, r.Artifact, r)
}

// Reject rejects the artifact's pending request, which is final for the
// artifact. act.Identity must hold a role of the chain, at any step, and
// act.Reason is required.
func Reject(db *state.DB, key string, act Action) (*Request, error) {
	if strings.TrimSpace(act.Identity) == "" {
		return nil, fmt.Errorf("reject %s: %w: pass --as or set SLUICE_ACTOR", key, ErrIdentityRequired)
	}
	if strings.TrimSpace(act.Reason) == "" {
		return nil, fmt.Errorf("reject %s: %w: say why with --reason", key, ErrReasonRequired)
	}
	if err := act.validate(); err != nil {
		return nil, fmt.Errorf("reject %s: %w", key, err)
	}
	var r *Request
	err := db.Update(func(tx *state.Tx) error {
		var err error
		if r, err = openRequest(tx, key); err != nil {
			return err
		}
		if !r.member(act.Identity) {
			return fmt.Errorf("%s: %s: %w: the chain needs %s", key, act.Identity, ErrNotApprover,
				r.roleList())
		}
		return closeRejected(tx, r, StatusRejected, act.Identity, act.Reason, act.Via)
	})
	return r, err
}

// openRequest loads a pending request whose artifact awaits approval.
func openRequest(tx *state.Tx, key string) (*Request, error) {
	r, err := getRequest(tx, key)
	if err != nil {
		return nil, err
	}
	if r.Status != StatusPending {
		return nil, fmt.Errorf("%s: %w: it is %s since %s", key, ErrNotPending, r.Status,
			r.Closed.Format(time.RFC3339))
	}
	a, err := tx.Artifact(key)
	if err != nil {
		return nil, err
	}
	if a.State != state.StateAwaitingApproval {
		return nil, fmt.Errorf("%s: %w: the artifact is %s, not awaiting approval", key,
			ErrNotPending, a.State)
	}
	if a.Digest != r.Digest {
		return nil, fmt.Errorf("%s: the request is for digest %s but the artifact has %s: "+
			"run sync to evaluate it again", key, r.Digest, a.Digest)
	}
	return r, nil
}

// closeRejected closes r with status and moves its artifact to rejected.
func closeRejected(tx *state.Tx, r *Request, status Status, actor, reason, via string) error {
	r.Status, r.Closed, r.ClosedBy, r.Reason = status, tx.Now(), actor, reason
	ev := map[string]string{"reason": reason, "request": string(status), "tier": string(r.Tier),
		"evidence": r.Evidence, "requested": r.Created.Format(time.RFC3339Nano)}
	if via != "" {
		ev["via"] = via
	}
	if len(r.Approvals) > 0 {
		ev["approvedBefore"] = r.approverList()
	}
	if _, err := tx.Transition(r.Artifact, state.Change{To: state.StateRejected, Actor: actor,
		Evidence: ev}); err != nil {
		return err
	}
	return tx.Put(RequestsBucket, r.Artifact, r)
}

func expire(tx *state.Tx, r *Request) error {
	return closeRejected(tx, r, StatusExpired, SystemActor, "expired: no complete approval by "+
		r.Expires.Format(time.RFC3339), "")
}

// ExpireDue rejects every pending request whose expiry has passed, with
// reason expired, and returns the keys of their artifacts.
func ExpireDue(db *state.DB) ([]string, error) {
	due, err := Requests(db, func(r *Request) bool { return r.Status == StatusPending })
	if err != nil {
		return nil, err
	}
	var keys []string
	var errs []error
	for _, r := range due {
		expired := false
		err := db.Update(func(tx *state.Tx) error {
			cur, err := openRequest(tx, r.Artifact)
			if err != nil || !cur.Expired(tx.Now()) {
				return err
			}
			expired = true
			return expire(tx, cur)
		})
		switch {
		case err == nil && expired:
			keys = append(keys, r.Artifact)
		case err != nil && !errors.Is(err, ErrNotPending):
			errs = append(errs, err)
		}
	}
	return keys, errors.Join(errs...)
}
