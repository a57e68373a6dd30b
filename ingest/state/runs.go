package state

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"

	bolt "go.etcd.io/bbolt"
)

// RunStatus is the outcome of a sync run so far.
type RunStatus string

// Run statuses. A run that a killed process left running is marked
// interrupted when the next run starts; that run picks up its artifacts
// where they stopped.
const (
	RunRunning     RunStatus = "running"
	RunSucceeded   RunStatus = "succeeded"
	RunFailed      RunStatus = "failed"
	RunInterrupted RunStatus = "interrupted"
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

// StartRun stores a new run in status running and records it in the
// ledger. Runs still marked running belong to a process that ended without
// finishing them, because the database admits one process at a time: they
// are marked interrupted first. manifests maps each manifest file to the
// sha256 digest of its content.
func (db *DB) StartRun(manifests map[string]string, actor string) (*Run, error) {
	now := db.now()
	paths := make([]string, 0, len(manifests))
	for p := range manifests {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	r := &Run{ID: newRunID(now), Manifests: paths, Status: RunRunning, Started: now}
	err := db.bolt.Update(func(tx *bolt.Tx) error {
		if err := closeAbandonedRuns(tx, now); err != nil {
			return err
		}
		if err := putJSON(tx.Bucket(bucketRuns), r.ID, r); err != nil {
			return err
		}
		ev := map[string]string{}
		for p, digest := range manifests {
			ev["manifest:"+p] = digest
		}
		return appendEntry(tx, now, Entry{Type: EntryRunStarted, Subject: r.ID, Run: r.ID,
			Actor: actor, Evidence: ev})
	})
	return r, err
}

func closeAbandonedRuns(tx *bolt.Tx, now time.Time) error {
	b := tx.Bucket(bucketRuns)
	var abandoned []*Run
	err := b.ForEach(func(k, v []byte) error {
		r := new(Run)
		if err := json.Unmarshal(v, r); err != nil {
			return fmt.Errorf("run %s: decode: %w", k, err)
		}
		if r.Status == RunRunning {
			abandoned = append(abandoned, r)
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, r := range abandoned {
		r.Status, r.Finished = RunInterrupted, now
		r.Error = "the process ended before the run finished"
		if err := putJSON(b, r.ID, r); err != nil {
			return err
		}
		err := appendEntry(tx, now, Entry{Type: EntryRunFinished, Subject: r.ID, Run: r.ID,
			Evidence: map[string]string{"status": string(r.Status), "error": r.Error}})
		if err != nil {
			return err
		}
	}
	return nil
}

// FinishRun stores the run's outcome and records it in the ledger. A run
// whose error is a cancelled context is recorded as interrupted.
func (db *DB) FinishRun(r *Run, runErr error) error {
	now := db.now()
	r.Finished, r.Status = now, RunSucceeded
	switch {
	case errors.Is(runErr, context.Canceled):
		r.Status, r.Error = RunInterrupted, runErr.Error()
	case runErr != nil:
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
