package server

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/ingest/state"
	"github.com/sluice-dev/sluice/internal/npmfixture"
)

// gatedUpstream serves the recorded registry but holds every request
// until it is opened, so a test can keep a sync running.
type gatedUpstream struct {
	once sync.Once
	open chan struct{}
	url  string
}

func newGatedUpstream(t *testing.T) *gatedUpstream {
	g := &gatedUpstream{open: make(chan struct{})}
	recorded := npmfixture.NewHandler(npmfixture.Recorded())
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-g.open:
			recorded.ServeHTTP(w, r)
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(func() {
		g.release()
		hs.Close()
	})
	g.url = hs.URL
	return g
}

func (g *gatedUpstream) release() { g.once.Do(func() { close(g.open) }) }

// schedulerConfig is a server without scan, policy or mirror, syncing one
// small manifest from upstream.
func schedulerConfig(t *testing.T, upstream, schedule string) *Config {
	t.Helper()
	dir := t.TempDir()
	mdir := filepath.Join(dir, "manifests")
	if err := os.MkdirAll(mdir, 0o755); err != nil {
		t.Fatal(err)
	}
	manifest := "apiVersion: sluice.dev/v1\nkind: Manifest\nmetadata: {name: tools, owner: team-platform, " +
		"dataClass: internal}\nspec:\n  npm:\n    packages: [ms@2.1.3]\n"
	if schedule != "" {
		manifest += "  schedule: \"" + schedule + "\"\n"
	}
	if err := os.WriteFile(filepath.Join(mdir, "tools.yaml"), []byte(manifest), 0o644); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(agentToken))
	cfg := &Config{DataDir: filepath.Join(dir, "data"), Manifests: []string{mdir},
		NPM:           NPMSettings{Upstream: upstream, Retries: 1},
		Tokens:        []StaticToken{{Name: "build-agent", SHA256: hex.EncodeToString(sum[:]), Roles: []Role{RoleRequester}}},
		ShutdownGrace: 200 * time.Millisecond}
	if err := cfg.check(); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// waitStatus polls a run until it has status.
func waitStatus(t *testing.T, srv *Server, id, status string) *Run {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		r, err := srv.runs.get(id)
		if err != nil {
			t.Fatal(err)
		}
		if r.Status == status {
			return r
		}
		if time.Now().After(deadline) {
			t.Fatalf("run %s is %s, want %s", id, r.Status, status)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestTriggerNeverOverlaps(t *testing.T) {
	up := newGatedUpstream(t)
	f := startServer(t, schedulerConfig(t, up.url, ""))
	srv := f.srv
	var first Run
	f.mustCall(http.StatusAccepted, "POST", "/api/v1/runs", agentToken, map[string][]string{"manifests": {"tools"}}, &first)
	waitStatus(t, srv, first.ID, RunRunning)
	// The upstream holds the registry ping, so the run stays in resolve.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		r, err := srv.runs.get(first.ID)
		if err != nil {
			t.Fatal(err)
		}
		if r.Progress.Phase == "resolve" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("progress phase = %q, want resolve", r.Progress.Phase)
		}
	}
	status, data := f.call("POST", "/api/v1/runs", agentToken, map[string][]string{"manifests": {"tools"}})
	if status != http.StatusConflict || decodeError(t, data).Code != codeConflict {
		t.Fatalf("second trigger while running = %d %s, want 409", status, data)
	}
	srv.runs.fire("tools", TriggerSchedule)
	up.release()
	done := waitStatus(t, srv, first.ID, RunSucceeded)
	if done.Summary == nil || done.Summary.Fetched != 1 {
		t.Errorf("summary = %+v, want one fetched", done.Summary)
	}
	runs, err := srv.runs.list()
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 1 {
		t.Errorf("runs = %d, want 1: the scheduled run must be skipped while one runs", len(runs))
	}
	f.mustCall(http.StatusAccepted, "POST", "/api/v1/runs", agentToken, map[string][]string{"manifests": {"tools"}}, nil)
	status, _ = f.call("POST", "/api/v1/runs", agentToken, map[string][]string{"manifests": {"unknown"}})
	if status != http.StatusNotFound {
		t.Errorf("unknown manifest = %d, want 404", status)
	}
}

func TestMissedScheduleRunsOnce(t *testing.T) {
	up := newGatedUpstream(t)
	up.release()
	cfg := schedulerConfig(t, up.url, "0 3 * * *")
	srv, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	// The first start only records the time: nothing was missed yet.
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	if runs, _ := srv.runs.list(); len(runs) != 0 {
		t.Fatalf("first start ran %d syncs, want 0", len(runs))
	}
	srv.Close()

	// The server was down over two nights: the missed schedule runs once.
	db, err := state.Open(filepath.Join(cfg.DataDir, "sluice.db"))
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *state.Tx) error {
		return tx.Put(scheduleBucket, "tools", scheduleState{Last: time.Now().Add(-49 * time.Hour)})
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	srv = startServer(t, cfg).srv
	runs, err := srv.runs.list()
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 1 || runs[0].Trigger != TriggerMissed || runs[0].Actor != schedulerActor {
		t.Fatalf("runs after restart = %+v, want one missed run", runs)
	}
	waitStatus(t, srv, runs[0].ID, RunSucceeded)
}

func TestShutdownResumesRun(t *testing.T) {
	up := newGatedUpstream(t)
	cfg := schedulerConfig(t, up.url, "")
	f := startServer(t, cfg)
	srv := f.srv
	var run Run
	f.mustCall(http.StatusAccepted, "POST", "/api/v1/runs", agentToken, map[string][]string{"manifests": {"tools"}}, &run)
	waitStatus(t, srv, run.ID, RunRunning)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	stopped := make(chan error, 1)
	go func() { stopped <- srv.Close() }()
	select {
	case err := <-stopped:
		if err != nil {
			t.Fatal(err)
		}
	case <-ctx.Done():
		t.Fatal("shutdown did not end after the grace period")
	}

	up.release()
	srv2 := startServer(t, cfg).srv
	old, err := srv2.runs.get(run.ID)
	if err != nil {
		t.Fatal(err)
	}
	if old.Status != RunInterrupted || old.ResumedBy == "" {
		t.Fatalf("stopped run = %s resumed by %q, want interrupted and resumed", old.Status, old.ResumedBy)
	}
	resumed := waitStatus(t, srv2, old.ResumedBy, RunSucceeded)
	if resumed.Trigger != TriggerResume || resumed.Actor != "build-agent" {
		t.Errorf("resumed run = %s by %s", resumed.Trigger, resumed.Actor)
	}
}
