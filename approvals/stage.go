package approvals

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/sluice-dev/sluice/ingest"
	"github.com/sluice-dev/sluice/ingest/blobs"
	"github.com/sluice-dev/sluice/ingest/state"
	"github.com/sluice-dev/sluice/manifests/policy"
	"github.com/sluice-dev/sluice/scanners"
)

// FindingsSource provides the scan an evaluation rests on. StoredScans
// reads the results that the scan stage (scanners.Stage) stores.
type FindingsSource interface {
	// ScanResult returns the latest scan result for the artifact's
	// digest, or nil when the artifact was not scanned.
	ScanResult(ctx context.Context, a *state.Artifact) (*scanners.ScanResult, error)
}

// ReleaseTimeSource returns when upstream published a version, for the
// releasedWithin condition. scanners.NPMUpstream implements it.
type ReleaseTimeSource interface {
	PublishTime(ctx context.Context, name, version string) (time.Time, error)
}

// StoredScans is the FindingsSource over the scan results in the state
// store.
type StoredScans struct{ DB *state.DB }

// ScanResult loads the stored result and checks that it is about the
// artifact's current digest.
func (s StoredScans) ScanResult(_ context.Context, a *state.Artifact) (*scanners.ScanResult, error) {
	r, err := scanners.LoadResult(s.DB, a.Key())
	if err != nil || r == nil {
		return nil, err
	}
	if r.Digest != a.Digest {
		return nil, fmt.Errorf("%s: the stored scan result is for digest %s but the artifact has "+
			"%s: scan it again", a.Key(), r.Digest, a.Digest)
	}
	return r, nil
}

// Stage is the evaluation stage of a sync run (ingest.Runner.Evaluate).
// It evaluates the policy, stores the evidence, and returns approved for
// a tier with approval: auto, rejected for blocked, and awaiting-approval
// with a stored Request for any other tier.
type Stage struct {
	policy   *policy.Policy
	db       *state.DB
	blobs    *blobs.Store
	findings FindingsSource
	releases ReleaseTimeSource
	log      *slog.Logger
	now      func() time.Time
}

var _ ingest.Stage = (*Stage)(nil)

// Option configures a Stage.
type Option func(*Stage)

// WithFindings sets where scan results come from. Without it every
// artifact counts as not scanned.
func WithFindings(src FindingsSource) Option { return func(s *Stage) { s.findings = src } }

// WithReleaseTimes sets where release times come from. Without it the
// release time is unknown and releasedWithin never matches.
func WithReleaseTimes(src ReleaseTimeSource) Option { return func(s *Stage) { s.releases = src } }

// WithLogger sets the logger; the stage logs each verdict at debug level.
func WithLogger(l *slog.Logger) Option { return func(s *Stage) { s.log = l } }

// WithClock sets the clock of the evaluation time, the reference for
// release age (default time.Now).
func WithClock(now func() time.Time) Option { return func(s *Stage) { s.now = now } }

// NewStage returns the evaluation stage for policy p, recording into db
// and bs.
func NewStage(p *policy.Policy, db *state.DB, bs *blobs.Store, opts ...Option) *Stage {
	s := &Stage{policy: p, db: db, blobs: bs, log: slog.New(slog.DiscardHandler),
		now: func() time.Time { return time.Now().UTC() }}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Name returns "evaluate".
func (s *Stage) Name() string { return "evaluate" }

// Policy returns the policy the stage evaluates.
func (s *Stage) Policy() *policy.Policy { return s.policy }

// Process evaluates one scanned (or fetched, when no scan stage runs)
// artifact. It does not read the tarball.
func (s *Stage) Process(ctx context.Context, a *state.Artifact,
	_ func() (*os.File, error)) (ingest.Outcome, error) {
	scan, released, err := s.gather(ctx, a)
	if err != nil {
		return ingest.Outcome{}, err
	}
	ev, digest, err := s.record(a, scan, released, "")
	if err != nil {
		return ingest.Outcome{}, err
	}
	d := &ev.Decision
	out := ingest.Outcome{Evidence: ledgerEvidence(ev, digest)}
	var req *Request
	switch spec := s.policy.Tiers.Spec(d.Tier); {
	case d.Blocked:
		out.To = state.StateRejected
		out.Evidence["reason"] = blockReason(d)
	case spec.Auto():
		out.To = state.StateApproved
		out.Evidence["approver"] = PolicyApprover(s.policy)
	default:
		out.To = state.StateAwaitingApproval
	}
	err = s.db.Update(func(tx *state.Tx) error {
		if err := tx.Put(EvaluationsBucket, a.Key(), evaluationOf(ev, digest)); err != nil {
			return err
		}
		if out.To != state.StateAwaitingApproval {
			return nil
		}
		req = newRequest(a, s.policy, d, digest, tx.Now())
		return putNewRequest(tx, req)
	})
	if err != nil {
		return ingest.Outcome{}, fmt.Errorf("%s: store verdict: %w", a.Key(), err)
	}
	if req != nil {
		out.Evidence["chain"] = req.ChainString()
		out.Evidence["expires"] = formatTime(req.Expires)
	}
	s.log.Debug("evaluated", "artifact", a.Key(), "tier", d.Tier, "rules", d.RuleNames(),
		"evidence", digest)
	return out, nil
}

// gather collects the scan result and release time of an artifact.
func (s *Stage) gather(ctx context.Context, a *state.Artifact) (*scanners.ScanResult, time.Time, error) {
	var scan *scanners.ScanResult
	var released time.Time
	var err error
	if s.findings != nil {
		if scan, err = s.findings.ScanResult(ctx, a); err != nil {
			return nil, released, fmt.Errorf("%s: load findings: %w", a.Key(), err)
		}
	}
	// NOTE: release times come from the npm registry only, so a
	// releasedWithin condition never matches an image.
	if s.releases != nil && a.Ecosystem == state.EcosystemNPM {
		if released, err = s.releases.PublishTime(ctx, a.Name, a.Version); err != nil {
			return nil, released, fmt.Errorf("%s: look up release time: %w", a.Key(), err)
		}
	}
	return scan, released, nil
}

// record evaluates the policy and writes the evidence, with the scan
// result as a blob of its own so the evidence can name its digest.
func (s *Stage) record(a *state.Artifact, scan *scanners.ScanResult, released time.Time,
	reason string) (*Evidence, string, error) {
	facts := NewFacts(a, scan, released, s.now())
	ev := &Evidence{Artifact: a.Key(), Digest: a.Digest, Requester: a.Requester,
		PolicyFile: s.policy.Path, Facts: facts, Decision: Evaluate(s.policy, facts), Reason: reason}
	if scan != nil {
		data, err := json.Marshal(scan)
		if err != nil {
			return nil, "", fmt.Errorf("%s: encode scan result: %w", a.Key(), err)
		}
		scanDigest, err := s.blobs.Put(data)
		if err != nil {
			return nil, "", fmt.Errorf("%s: store scan result: %w", a.Key(), err)
		}
		ev.Inputs = map[string]string{"scan": scanDigest}
		for k, v := range map[string]string{"sbom.spdx": scan.SBOM.SPDX, "sbom.cyclonedx": scan.SBOM.CycloneDX,
			"vulndb.checksum": scan.DB.Checksum, "vulndb.archive": scan.DB.ArchiveDigest} {
			if v != "" {
				ev.Inputs[k] = v
			}
		}
	}
	digest, _, err := writeEvidence(s.blobs, ev)
	return ev, digest, err
}

func putNewRequest(tx *state.Tx, r *Request) error {
	if err := tx.Put(RequestsBucket, r.Artifact, r); err != nil {
		return err
	}
	return tx.Append(state.Entry{Type: EntryRequested, Subject: r.Artifact, Actor: SystemActor,
		Evidence: map[string]string{"tier": string(r.Tier), "chain": r.ChainString(),
			"requester": r.Requester, "expires": formatTime(r.Expires), "evidence": r.Evidence,
			"rules": strings.Join(r.Rules, ",")}})
}

// ledgerEvidence is the ledger evidence of a verdict.
func ledgerEvidence(ev *Evidence, digest string) map[string]string {
	d := &ev.Decision
	out := map[string]string{"policy": d.Policy, "policyDigest": d.PolicyDigest,
		"tier": string(d.Tier), "rules": strings.Join(d.RuleNames(), ","), "evidence": digest}
	for k, v := range ev.Inputs {
		out[k] = v
	}
	return out
}

// blockReason names the blocking rules and what they matched.
func blockReason(d *Decision) string {
	var parts []string
	for _, f := range d.Fired {
		if f.Then == policy.TierBlocked {
			parts = append(parts, fmt.Sprintf("rule %s (%s)", f.Rule, strings.Join(f.Matched, "; ")))
		}
	}
	return "blocked by " + strings.Join(parts, ", ")
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return t.UTC().Format(time.RFC3339)
}
