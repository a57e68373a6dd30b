package state

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
	"time"

	bolt "go.etcd.io/bbolt"
)

// RunStatus is where a sync run stands.
type RunStatus string

// Run statuses. A run left "running" by a killed process stays so; the
// next run picks up its artifacts where they stopped.
const (
	RunRunning   RunStatus = "running"
	RunSucceeded RunStatus = "succeeded"
	RunFailed    RunStatus = "failed"
)

// Run is one sync (or plan) of a set of manifests.
type Run struct {
	ID        string           `json:"id"`
	Manifests []string         `json:"manifests"`
	Status    RunStatus        `json:"status"`
	Started   time.Time        `json:"started"`
	Finished  time.Time        `json:"finished,omitzero"`
	Counts    map[string]int64 `json:"counts,omitempty"`
	Error     string           `json:"error,omitempty"`
}

// StartRun stores a new run in status running and records it in the ledger.
func (db *DB) StartRun(manifests []string, actor string) (*Run, error) {
	now := db.now()
	r := &Run{ID: newRunID(now), Manifests: manifests, Status: RunRunning, Started: now}
	err := db.bolt.Update(func(tx *bolt.Tx) error {
		if err := putJSON(tx.Bucket(bucketRuns), r.ID, r); err != nil {
			return err
		}
		ev := map[string]string{"manifests": fmt.Sprint(manifests)}
		return appendEntry(tx, now, Entry{Type: EntryRunStarted, Subject: r.ID, Run: r.ID,
			Actor: actor, Evidence: ev})
	})
	return r, err
}

// FinishRun stores the run's outcome and records it in the ledger.
func (db *DB) FinishRun(r *Run, runErr error) error {
	now := db.now()
	r.Finished, r.Status = now, RunSucceeded
	if runErr != nil {
		r.Status, r.Error = RunFailed, runErr.Error()
	}
	return db.bolt.Update(func(tx *bolt.Tx) error {
		if err := putJSON(tx.Bucket(bucketRuns), r.ID, r); err != nil {
			return err
		}
		ev := map[string]string{"status": string(r.Status)}
		for k, v := range r.Counts {
			ev[k] = fmt.Sprint(v)
		}
		if r.Error != "" {
			ev["error"] = r.Error
		}
		return appendEntry(tx, now, Entry{Type: EntryRunFinished, Subject: r.ID, Run: r.ID,
			Evidence: ev})
	})
}

// Runs returns every stored run, newest first.
func (db *DB) Runs() ([]*Run, error) {
	var out []*Run
	err := db.bolt.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketRuns).ForEach(func(k, v []byte) error {
			r := new(Run)
			if err := json.Unmarshal(v, r); err != nil {
				return fmt.Errorf("run %s: decode: %w", k, err)
			}
			out = append(out, r)
			return nil
		})
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Started.After(out[j].Started) })
	return out, err
}

// newRunID returns a sortable, unique run ID such as
// "20261204T151938Z-1f2e3d4c".
func newRunID(now time.Time) string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return now.Format("20060102T150405Z") + "-" + hex.EncodeToString(b[:])
}
