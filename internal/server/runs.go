package server

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/sluice-dev/sluice/ingest"
	"github.com/sluice-dev/sluice/ingest/state"
	"github.com/sluice-dev/sluice/manifests"
)

// Buckets of the state store that the server keeps.
const (
	runsBucket      = "server-runs"
	scheduleBucket  = "server-schedule"
	schedulerActor  = "sluice-scheduler"
	entryRunRequest = "server.run-requested"
)

// Run triggers.
const (
	TriggerAPI      = "api"
	TriggerSchedule = "schedule"
	TriggerMissed   = "missed"
	TriggerResume   = "resume"
)

// Run statuses of the server's runs. Queued and running runs that a
// stopped server left behind are resumed by the next start.
const (
	RunQueued      = "queued"
	RunRunning     = "running"
	RunSucceeded   = "succeeded"
	RunFailed      = "failed"
	RunInterrupted = "interrupted"
)

// Run is one sync the server ran or will run.
type Run struct {
	ID        string    `json:"id"`
	Manifests []string  `json:"manifests"`
	Trigger   string    `json:"trigger"`
	Actor     string    `json:"actor"`
	Status    string    `json:"status"`
	Created   time.Time `json:"created"`
	Started   time.Time `json:"started,omitzero"`
	Finished  time.Time `json:"finished,omitzero"`
	Progress  Progress  `json:"progress"`
	// LedgerRun is the run ID the ingest runner recorded in the ledger.
	LedgerRun string          `json:"ledgerRun,omitempty"`
	Summary   *ingest.Summary `json:"summary,omitempty"`
	Error     string          `json:"error,omitempty"`
	// ResumedBy names the run that continued this interrupted one.
	ResumedBy string `json:"resumedBy,omitempty"`
}

// Progress is the state of a running sync: its phase and the items done.
type Progress struct {
	Phase string `json:"phase,omitempty"`
	Done  int    `json:"done"`
	// Total is -1 while unknown.
	Total int   `json:"total"`
	Bytes int64 `json:"bytes"`
}

// scheduleState is the last time a manifest's schedule fired.
type scheduleState struct {
	Last time.Time `json:"last"`
}

// runManager queues syncs and runs them one at a time: the ingest runner
// marks every other running run as abandoned when it starts, so two runs
// on one store must not overlap.
type runManager struct {
	s     *Server
	mu    sync.Mutex
	live  map[string]*Run // queued and running runs by ID
	busy  map[string]string
	queue chan *Run
	cron  *cron.Cron
	// ctx ends when the shutdown grace period is over.
	ctx      context.Context
	cancel   context.CancelFunc
	done     chan struct{}
	started  bool
	stopping atomic.Bool
	stopOnce sync.Once
}

func newRunManager(s *Server) *runManager {
	ctx, cancel := context.WithCancel(context.Background())
	return &runManager{s: s, live: map[string]*Run{}, busy: map[string]string{},
		queue: make(chan *Run, 256), ctx: ctx, cancel: cancel, done: make(chan struct{}),
		cron: cron.New()}
}

// start resumes interrupted runs, runs missed schedules once and starts
// the cron scheduler and the worker.
func (m *runManager) start() error {
	m.mu.Lock()
	if m.started {
		m.mu.Unlock()
		return nil
	}
	m.started = true
	m.mu.Unlock()
	go m.work()
	if err := m.resume(); err != nil {
		return err
	}
	ms, err := m.s.loadManifests()
	if err != nil {
		return err
	}
	for _, mf := range ms {
		spec := m.s.scheduleOf(mf)
		if spec == "" {
			continue
		}
		sched, err := cron.ParseStandard(spec)
		if err != nil {
			return fmt.Errorf("schedule of manifest %s: invalid cron schedule %q: %w", mf.Metadata.Name, spec, err)
		}
		name := mf.Metadata.Name
		if err := m.catchUp(name, sched); err != nil {
			return err
		}
		m.cron.Schedule(sched, cron.FuncJob(func() { m.fire(name, TriggerSchedule) }))
		m.s.log.Info("scheduled", "manifest", name, "schedule", spec)
	}
	m.cron.Start()
	return nil
}

// catchUp runs a manifest once when its schedule fired while the server
// was down. A manifest seen for the first time only records now.
func (m *runManager) catchUp(name string, sched cron.Schedule) error {
	var st scheduleState
	var found bool
	err := m.s.db.View(func(tx *state.Tx) error {
		var err error
		found, err = tx.Get(scheduleBucket, name, &st)
		return err
	})
	if err != nil {
		return err
	}
	now := time.Now()
	if !found {
		return m.s.db.Update(func(tx *state.Tx) error {
			return tx.Put(scheduleBucket, name, scheduleState{Last: now})
		})
	}
	if next := sched.Next(st.Last); !next.After(now) {
		m.s.log.Info("running a missed schedule once", "manifest", name, "missed", next)
		m.fire(name, TriggerMissed)
	}
	return nil
}

// fire queues a scheduled run and records the time; a manifest whose
// previous run is still going is skipped.
func (m *runManager) fire(name, trigger string) {
	if err := m.s.db.Update(func(tx *state.Tx) error {
		return tx.Put(scheduleBucket, name, scheduleState{Last: time.Now()})
	}); err != nil {
		m.s.log.Error("record schedule", "manifest", name, "error", err)
	}
	if _, err := m.trigger([]string{name}, trigger, schedulerActor); err != nil {
		m.s.log.Warn("scheduled sync skipped", "manifest", name, "error", err)
	}
}

// resume queues again the runs a previous server left queued, running or
// interrupted.
func (m *runManager) resume() error {
	runs, err := m.stored()
	if err != nil {
		return err
	}
	for _, r := range runs {
		if r.ResumedBy != "" || (r.Status != RunQueued && r.Status != RunRunning && r.Status != RunInterrupted) {
			continue
		}
		next, err := m.trigger(r.Manifests, TriggerResume, r.Actor)
		if err != nil {
			m.s.log.Warn("resume skipped", "run", r.ID, "error", err)
			continue
		}
		if r.Status != RunInterrupted {
			r.Status, r.Error = RunInterrupted, "the server stopped before the run finished"
		}
		r.ResumedBy = next.ID
		if err := m.save(r); err != nil {
			return err
		}
		m.s.log.Info("resuming interrupted run", "run", r.ID, "as", next.ID)
	}
	return nil
}

// trigger queues a sync of the named manifests. It fails with errBusy when
// one of them is queued or running, and with errNotFound for an unknown
// name.
func (m *runManager) trigger(names []string, trigger, actor string) (*Run, error) {
	if len(names) == 0 {
		return nil, badRequestf("name at least one manifest")
	}
	ms, err := m.s.loadManifests()
	if err != nil {
		return nil, err
	}
	for _, n := range names {
		if !slices.ContainsFunc(ms, func(mf *manifests.Manifest) bool { return mf.Metadata.Name == n }) {
			return nil, fmt.Errorf("manifest %q: %w", n, errNotFound)
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.stopping.Load() {
		return nil, fmt.Errorf("%w: the server is stopping", errBusy)
	}
	for _, n := range names {
		if id, ok := m.busy[n]; ok {
			return nil, fmt.Errorf("manifest %s: %w (run %s)", n, errBusy, id)
		}
	}
	now := time.Now().UTC()
	r := &Run{ID: now.Format("20060102T150405Z") + "-" + newID(3), Manifests: slices.Clone(names),
		Trigger: trigger, Actor: actor, Status: RunQueued, Created: now, Progress: Progress{Total: -1}}
	err = m.s.db.Update(func(tx *state.Tx) error {
		if err := tx.Put(runsBucket, r.ID, r); err != nil {
			return err
		}
		return tx.Append(state.Entry{Type: entryRunRequest, Subject: r.ID, Actor: actor,
			Evidence: map[string]string{"manifests": fmt.Sprint(names), "trigger": trigger}})
	})
	if err != nil {
		return nil, err
	}
	select {
	case m.queue <- r:
	default:
		return nil, fmt.Errorf("%w: the run queue is full", errBusy)
	}
	for _, n := range names {
		m.busy[n] = r.ID
	}
	m.live[r.ID] = r
	// The worker changes r under m.mu from now on, so the caller gets a
	// copy taken while the lock is still held.
	cp := *r
	return &cp, nil
}

func (m *runManager) work() {
	defer close(m.done)
	for {
		select {
		case <-m.ctx.Done():
			return
		case r, ok := <-m.queue:
			if !ok || m.stopping.Load() {
				// A run left in the queue stays queued in the store and
				// resumes at the next start.
				return
			}
			m.execute(r)
		}
	}
}

// execute runs one queued sync and records its outcome.
func (m *runManager) execute(r *Run) {
	log := m.s.log.With("run", r.ID, "manifests", r.Manifests)
	m.update(r, func(r *Run) { r.Status, r.Started = RunRunning, time.Now().UTC() })
	err := m.sync(r)
	// The manifests are released under the same lock that sets the final
	// status, so a caller that sees the run finished can trigger them again.
	m.update(r, func(r *Run) {
		for _, n := range r.Manifests {
			delete(m.busy, n)
		}
		r.Finished = time.Now().UTC()
		switch {
		case err == nil:
			r.Status = RunSucceeded
		case m.ctx.Err() != nil:
			r.Status, r.Error = RunInterrupted, err.Error()
		default:
			r.Status, r.Error = RunFailed, err.Error()
		}
	})
	m.s.metrics.observeRun(r)
	if err != nil {
		log.Warn("sync ended with errors", "status", r.Status, "error", err)
	} else {
		log.Info("sync finished", "ledgerRun", r.LedgerRun)
	}
	m.mu.Lock()
	delete(m.live, r.ID)
	m.mu.Unlock()
}

func (m *runManager) sync(r *Run) error {
	all, err := m.s.loadManifests()
	if err != nil {
		return err
	}
	var ms []*manifests.Manifest
	for _, mf := range all {
		if slices.Contains(r.Manifests, mf.Metadata.Name) {
			ms = append(ms, mf)
		}
	}
	runner, done, err := m.s.buildRunner(r.Actor)
	if err != nil {
		return err
	}
	defer done()
	if runner.Publish != nil {
		runner.Publish = countingPublisher{runner.Publish, m.s.metrics}
	}
	runner.Progress = &runProgress{m: m, r: r}
	runner.Log = m.s.log.With("run", r.ID)
	sum, err := runner.Sync(m.ctx, ms)
	if sum != nil {
		m.update(r, func(r *Run) { r.Summary, r.LedgerRun = sum, sum.Run })
		m.s.metrics.published.Add(float64(sum.Published))
	}
	return err
}

// update changes a run under the lock and saves it.
func (m *runManager) update(r *Run, edit func(*Run)) {
	m.mu.Lock()
	edit(r)
	cp := *r
	m.mu.Unlock()
	if err := m.save(&cp); err != nil {
		m.s.log.Error("save run", "run", r.ID, "error", err)
	}
}

func (m *runManager) save(r *Run) error {
	return m.s.db.Update(func(tx *state.Tx) error { return tx.Put(runsBucket, r.ID, r) })
}

// stored returns every run the store holds, newest first.
func (m *runManager) stored() ([]*Run, error) {
	var out []*Run
	err := m.s.db.View(func(tx *state.Tx) error {
		return tx.ForEach(runsBucket, func(key string, value []byte) error {
			r := new(Run)
			if err := json.Unmarshal(value, r); err != nil {
				return fmt.Errorf("run %s: %w", key, err)
			}
			out = append(out, r)
			return nil
		})
	})
	sort.Slice(out, func(i, j int) bool { return out[i].ID > out[j].ID })
	return out, err
}

// list returns every run, with live progress for queued and running ones.
func (m *runManager) list() ([]*Run, error) {
	runs, err := m.stored()
	if err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for i, r := range runs {
		if live, ok := m.live[r.ID]; ok {
			cp := *live
			runs[i] = &cp
		}
	}
	return runs, nil
}

func (m *runManager) get(id string) (*Run, error) {
	runs, err := m.list()
	if err != nil {
		return nil, err
	}
	for _, r := range runs {
		if r.ID == id {
			return r, nil
		}
	}
	return nil, fmt.Errorf("run %q: %w", id, errNotFound)
}

// stop stops the scheduler and the queue, lets a running sync go on for
// grace, then interrupts it and waits for it to record where it stopped.
func (m *runManager) stop(grace time.Duration) {
	m.stopOnce.Do(func() {
		m.stopping.Store(true)
		<-m.cron.Stop().Done()
		m.mu.Lock()
		started := m.started
		m.mu.Unlock()
		if !started {
			m.cancel()
			return
		}
		timer := time.NewTimer(grace)
		defer timer.Stop()
		m.mu.Lock()
		running := false
		for _, r := range m.live {
			running = running || r.Status == RunRunning
		}
		m.mu.Unlock()
		if running {
			m.s.log.Info("waiting for the running sync", "grace", grace)
			m.waitIdle(timer.C)
		}
		m.cancel()
		<-m.done
	})
}

// waitIdle returns when no run is running or when timeout fires.
func (m *runManager) waitIdle(timeout <-chan time.Time) {
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-timeout:
			return
		case <-tick.C:
			m.mu.Lock()
			running := false
			for _, r := range m.live {
				running = running || r.Status == RunRunning
			}
			m.mu.Unlock()
			if !running {
				return
			}
		}
	}
}

// runProgress records a sync's progress on its run.
type runProgress struct {
	m *runManager
	r *Run
}

func (p *runProgress) Start(phase string, total int) {
	p.m.mu.Lock()
	p.r.Progress = Progress{Phase: phase, Total: total}
	p.m.mu.Unlock()
}

func (p *runProgress) Add(n int, bytes int64) {
	p.m.mu.Lock()
	p.r.Progress.Done += n
	p.r.Progress.Bytes += bytes
	p.m.mu.Unlock()
}

func (p *runProgress) Done() {}

// loadManifests reads the configured manifests and the filed requests.
func (s *Server) loadManifests() ([]*manifests.Manifest, error) {
	paths := s.cfg.manifestPaths()
	if len(paths) == 0 {
		return nil, nil
	}
	return manifests.LoadAll(paths...)
}

// scheduleOf returns a manifest's cron schedule: the configuration's
// entry for it, or its spec.schedule.
func (s *Server) scheduleOf(m *manifests.Manifest) string {
	if v, ok := s.cfg.Schedules[m.Metadata.Name]; ok {
		return v
	}
	return m.Spec.Schedule
}
