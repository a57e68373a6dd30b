package approvals

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"sync"
	"testing"

	"github.com/sluice-dev/sluice/ingest"
	"github.com/sluice-dev/sluice/ingest/fetch"
	"github.com/sluice-dev/sluice/ingest/npm"
	"github.com/sluice-dev/sluice/ingest/state"
	"github.com/sluice-dev/sluice/internal/npmfixture"
	"github.com/sluice-dev/sluice/manifests"
	"github.com/sluice-dev/sluice/scanners"
)

const gateManifest = `apiVersion: sluice.dev/v1
kind: Manifest
metadata: {name: gate, owner: team-platform, dataClass: internal}
spec:
  npm:
    packages: [lodash@4.17.20, lodash@4.17.21, minimist@1.2.6]
`

// gateScans gives each of the manifest's artifacts a verdict under the
// bank policy: lodash 4.17.20 is blocked, 4.17.21 needs a team lead,
// minimist is approved by the policy.
type gateScans struct{}

func (gateScans) ScanResult(_ context.Context, a *state.Artifact) (*scanners.ScanResult, error) {
	f := []scanners.Finding{mitLicense}
	switch a.Key() {
	case "npm/lodash@4.17.20":
		f = append(f, criticalFix)
	case "npm/lodash@4.17.21":
		f = append(f, postinstall)
	}
	return &scanners.ScanResult{Artifact: a.Key(), Digest: a.Digest, Findings: f}, nil
}

// recorder is a fake scan or signing stage, or a Publisher, that records
// the artifacts passed to it.
type recorder struct {
	db     *state.DB
	target state.State
	mu     sync.Mutex
	seen   []*state.Artifact
	stored []*state.Artifact // as the state store held them at the call
}

func (r *recorder) Name() string { return "recorder-" + string(r.target) }

func (r *recorder) record(a *state.Artifact) {
	stored, _ := r.db.Artifact(a.Key())
	r.mu.Lock()
	defer r.mu.Unlock()
	r.seen, r.stored = append(r.seen, a), append(r.stored, stored)
}

func (r *recorder) Process(_ context.Context, a *state.Artifact,
	_ func() (*os.File, error)) (ingest.Outcome, error) {
	r.record(a)
	return ingest.Outcome{To: r.target}, nil
}

func (r *recorder) Publish(_ context.Context, a *state.Artifact, _ func() (*os.File, error)) (bool, error) {
	r.record(a)
	return false, nil
}

func (r *recorder) SetTags(context.Context, string, map[string]string) error { return nil }
func (r *recorder) URL() string                                              { return "mirror" }
func (r *recorder) Check(context.Context) error                              { return nil }
func (r *recorder) TarballURL(name, version string) string                   { return "mirror/" + name + "/" + version }

// gateEnv is an env with the recorded upstream registry and the manifest.
type gateEnv struct {
	*env
	registry *npm.Registry
	manifest *manifests.Manifest
}

func newGateEnv(t *testing.T, fx *npmfixture.Registry) *gateEnv {
	reg, err := npm.NewRegistry(fx.URL, "", fetch.New(fetch.WithRetries(0)))
	if err != nil {
		t.Fatal(err)
	}
	m, err := manifests.Parse("gate.yaml", []byte(gateManifest))
	if err != nil {
		t.Fatal(err)
	}
	return &gateEnv{env: newEnv(t), registry: reg, manifest: m}
}

func (e *gateEnv) runner() *ingest.Runner {
	return &ingest.Runner{DB: e.db, Blobs: e.blobs, NPM: e.registry, Concurrency: 2, Actor: "cli:erin"}
}

func (e *gateEnv) sync(r *ingest.Runner) error {
	_, err := r.Sync(context.Background(), []*manifests.Manifest{e.manifest})
	return err
}

// seedPaths moves a fetched artifact to each seed state. The last two
// reach approved and signed by skipping stages, as a run without a policy
// would.
var seedPaths = map[string][]state.Change{
	"fetched":           nil,
	"scanned":           {{To: state.StateScanned}},
	"evaluated":         {{To: state.StateScanned}, {To: state.StateEvaluated}},
	"awaiting-approval": {{To: state.StateScanned}, {To: state.StateEvaluated}, {To: state.StateAwaitingApproval}},
	"approved":          {{To: state.StateScanned}, {To: state.StateEvaluated}, {To: state.StateApproved}},
	"rejected":          {{To: state.StateScanned}, {To: state.StateEvaluated}, {To: state.StateRejected}},
	"signed": {{To: state.StateScanned}, {To: state.StateEvaluated}, {To: state.StateApproved},
		{To: state.StateSigned}},
	"published": {{To: state.StateScanned}, {To: state.StateEvaluated}, {To: state.StateApproved},
		{To: state.StateSigned}, {To: state.StatePublished}},
	"pinned": {{To: state.StateScanned}, {To: state.StateEvaluated}, {To: state.StateApproved},
		{To: state.StateSigned}, {To: state.StatePublished}, {To: state.StatePinned}},
	"approved-skipping-evaluation": {{To: state.StateApproved,
		Skipped: []state.State{state.StateScanned, state.StateEvaluated}}},
	"signed-skipping-approval": {{To: state.StateSigned,
		Skipped: []state.State{state.StateScanned, state.StateEvaluated, state.StateApproved}}},
}

// seed brings every artifact of the manifest to the seed state: requested
// and resolved are created by hand, the rest fetched by a stage-less sync
// and then moved along seedPaths.
func (e *gateEnv) seed(t *testing.T, seedName string, template []*state.Artifact) {
	t.Helper()
	if seedName == "requested" || seedName == "resolved" {
		for _, tmpl := range template {
			a := &state.Artifact{Ecosystem: tmpl.Ecosystem, Name: tmpl.Name, Version: tmpl.Version,
				Requester: "cli:erin", DataClass: "internal"}
			if _, _, err := e.db.Create(a, "seed", "seed"); err != nil {
				t.Fatal(err)
			}
			if seedName == "resolved" {
				_, err := e.db.Transition(a.Key(), state.Change{To: state.StateResolved,
					Update: func(a *state.Artifact) {
						a.TarballURL, a.Integrity, a.Shasum = tmpl.TarballURL, tmpl.Integrity, tmpl.Shasum
					}})
				if err != nil {
					t.Fatal(err)
				}
			}
		}
		return
	}
	if err := e.sync(e.runner()); err != nil {
		t.Fatal(err)
	}
	for _, tmpl := range template {
		for _, ch := range seedPaths[seedName] {
			if _, err := e.db.Transition(tmpl.Key(), ch); err != nil {
				t.Fatalf("seed %s: %v", seedName, err)
			}
		}
	}
}

// checkApproved fails the test for every artifact a recorder saw that
// holds no approval, by its own record and by the state store's.
func checkApproved(t *testing.T, what string, r *recorder, wantState ...state.State) {
	t.Helper()
	for i, a := range r.seen {
		stored := r.stored[i]
		if !slices.Contains(wantState, a.State) || !Approved(a) || !Approved(stored) {
			t.Errorf("%s saw %s in state %s (stored %s, skipped %v)", what, a.Key(), a.State,
				stored.State, stored.Skipped)
		}
	}
}

// checkLedgerApproval fails the test for every published artifact whose
// ledger has no approving move before its publication.
func checkLedgerApproval(t *testing.T, db *state.DB) {
	t.Helper()
	arts, err := db.Artifacts(func(a *state.Artifact) bool { return state.Reached(a.State, state.StatePublished) })
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range arts {
		entries, _ := db.Ledger(a.Key())
		approved := false
		for _, e := range entries {
			if e.To == state.StateApproved && len(e.Skipped) == 0 {
				approved = true
			}
			if e.To == state.StatePublished && !approved {
				t.Errorf("%s was published without an approving ledger entry before it", a.Key())
			}
		}
	}
}

// TestGateEveryStateAndStageCombination syncs the manifest from every
// state an artifact can be in, with every combination of configured
// stages, wired as the CLI should wire them: the policy stage in
// Evaluate, RequireApproved around signing, Gate around the Publisher.
// Only approved artifacts, or signed ones that were approved, may reach
// the Publisher, and only approved ones the signer.
func TestGateEveryStateAndStageCombination(t *testing.T) {
	fx := npmfixture.New(t)
	template := newGateEnv(t, fx)
	if err := template.sync(template.runner()); err != nil {
		t.Fatal(err)
	}
	tmplArts, err := template.db.Artifacts(nil)
	if err != nil || len(tmplArts) != 3 {
		t.Fatalf("template artifacts %v, %v", tmplArts, err)
	}
	seeds := []string{"requested", "resolved"}
	for name := range seedPaths {
		seeds = append(seeds, name)
	}
	slices.Sort(seeds[2:])
	p := loadPolicy(t, "testdata/bank.yaml")
	for _, seedName := range seeds {
		for combo := range 8 {
			withScan, withEval, withSign := combo&1 != 0, combo&2 != 0, combo&4 != 0
			name := fmt.Sprintf("%s/scan=%v,evaluate=%v,sign=%v", seedName, withScan, withEval, withSign)
			t.Run(name, func(t *testing.T) {
				e := newGateEnv(t, fx)
				e.seed(t, seedName, tmplArts)
				r := e.runner()
				signer := &recorder{db: e.db, target: state.StateSigned}
				pub := &recorder{db: e.db}
				r.Publish = Gate(pub)
				if withScan {
					r.Scan = &recorder{db: e.db, target: state.StateScanned}
				}
				if withEval {
					r.Evaluate = NewStage(p, e.db, e.blobs, WithFindings(gateScans{}))
				}
				if withSign {
					r.Sign = RequireApproved(signer)
				}
				err := e.sync(r)
				if err != nil && !errors.Is(err, ErrNotApproved) {
					t.Errorf("sync failed for another reason than a gate: %v", err)
				}
				checkApproved(t, "signer", signer, state.StateApproved)
				checkApproved(t, "publisher", pub, state.StateApproved, state.StateSigned)
				checkLedgerApproval(t, e.db)
				if withEval && (seedName == "requested" || seedName == "resolved" || seedName == "fetched") {
					checkVerdicts(t, e.db, pub)
				}
			})
		}
	}
}

// checkVerdicts checks that a run with the policy stage from the start
// published minimist, rejected lodash 4.17.20 and holds lodash 4.17.21.
func checkVerdicts(t *testing.T, db *state.DB, pub *recorder) {
	t.Helper()
	want := map[string]state.State{"npm/minimist@1.2.6": state.StatePublished,
		"npm/lodash@4.17.20": state.StateRejected, "npm/lodash@4.17.21": state.StateAwaitingApproval}
	for key, st := range want {
		a, err := db.Artifact(key)
		if err != nil || a.State != st {
			t.Errorf("%s: %v, want state %s", key, a, st)
		}
	}
	if len(pub.seen) != 1 || pub.seen[0].Key() != "npm/minimist@1.2.6" {
		t.Errorf("published %d artifacts, want only minimist", len(pub.seen))
	}
}

// TestGateHumanApprovalReachesPublish follows the artifact that needs a
// team lead: held on the first sync, approved by a person, published by
// the next sync, with the lead time recorded.
func TestGateHumanApprovalReachesPublish(t *testing.T) {
	e := newGateEnv(t, npmfixture.New(t))
	signer := &recorder{db: e.db, target: state.StateSigned}
	pub := &recorder{db: e.db}
	r := e.runner()
	r.Evaluate = NewStage(loadPolicy(t, "testdata/bank.yaml"), e.db, e.blobs, WithFindings(gateScans{}))
	r.Sign, r.Publish = RequireApproved(signer), Gate(pub)
	if err := e.sync(r); err != nil {
		t.Fatal(err)
	}
	const key = "npm/lodash@4.17.21"
	if _, err := Approve(e.db, key, Action{Identity: "erin"}); !errors.Is(err, ErrSelfApproval) {
		t.Errorf("the sync's actor approved its own request: %v", err)
	}
	if _, err := Approve(e.db, key, Action{Identity: "alice", Reason: "reviewed the script"}); err != nil {
		t.Fatal(err)
	}
	pub.seen, pub.stored = nil, nil
	if err := e.sync(r); err != nil {
		t.Fatal(err)
	}
	if len(pub.seen) != 1 || pub.seen[0].Key() != key || pub.seen[0].State != state.StateSigned {
		t.Fatalf("second sync published %v, want %s signed", pub.seen, key)
	}
	entries, _ := e.db.Ledger(key)
	lt, ok := LeadTimeOf(entries)
	if !ok || lt.Published.IsZero() || lt.Waiting <= 0 || lt.Total < lt.Waiting ||
		lt.Approved.Before(lt.Evaluated) {
		t.Errorf("lead time %+v", lt)
	}
}

// TestRunnerAloneGatesEvaluatedArtifacts checks the runner with the policy
// stage and a bare Publisher: from every state reached without skipping a
// stage, only approved artifacts are published. (Artifacts that skipped
// evaluation on an earlier run need Gate, as the test above shows.)
func TestRunnerAloneGatesEvaluatedArtifacts(t *testing.T) {
	fx := npmfixture.New(t)
	template := newGateEnv(t, fx)
	if err := template.sync(template.runner()); err != nil {
		t.Fatal(err)
	}
	tmplArts, _ := template.db.Artifacts(nil)
	p := loadPolicy(t, "testdata/bank.yaml")
	for _, seedName := range []string{"requested", "resolved", "fetched", "scanned", "evaluated",
		"awaiting-approval", "approved", "rejected", "signed", "published", "pinned"} {
		for _, withScan := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/scan=%v", seedName, withScan), func(t *testing.T) {
				e := newGateEnv(t, fx)
				e.seed(t, seedName, tmplArts)
				r := e.runner()
				pub := &recorder{db: e.db}
				r.Publish = pub
				r.Evaluate = NewStage(p, e.db, e.blobs, WithFindings(gateScans{}))
				if withScan {
					r.Scan = &recorder{db: e.db, target: state.StateScanned}
				}
				if err := e.sync(r); err != nil {
					t.Errorf("sync: %v", err)
				}
				checkApproved(t, "publisher", pub, state.StateApproved, state.StateSigned)
				checkLedgerApproval(t, e.db)
			})
		}
	}
}
