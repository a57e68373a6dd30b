package state

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"time"

	bolt "go.etcd.io/bbolt"
)

// ErrNotFound is returned when no artifact or run has the requested key.
var ErrNotFound = errors.New("not found")

// ErrLocked is returned by Open when another process holds the database.
var ErrLocked = errors.New("state database is in use by another sluice process")

var (
	bucketArtifacts = []byte("artifacts")
	bucketRuns      = []byte("runs")
	bucketLedger    = []byte("ledger")
	bucketMeta      = []byte("meta")
	keyLedgerHead   = []byte("ledger-head")
)

// DB is the bbolt-backed state store. It is safe for concurrent use. bbolt
// allows one process per file, so a second sluice on the same data
// directory waits up to a second and then fails with ErrLocked.
type DB struct {
	bolt *bolt.DB
	now  func() time.Time
}

// Open opens or creates the state database at path.
func Open(path string) (_ *DB, err error) {
	defer recoverDamage(path, &err)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("create state directory: %w", err)
	}
	var b *bolt.DB
	b, err = bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if errors.Is(err, bolt.ErrTimeout) {
		return nil, fmt.Errorf("open %s: %w; wait for it to finish, or give this run another --data-dir", path, ErrLocked)
	}
	if err != nil {
		return nil, fmt.Errorf("open state database %s: %w; restore the data directory from a backup", path, err)
	}
	err = b.Update(func(tx *bolt.Tx) error {
		for _, name := range [][]byte{bucketArtifacts, bucketRuns, bucketLedger, bucketMeta} {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Close()
		return nil, fmt.Errorf("initialise state database %s: %w", path, err)
	}
	return &DB{bolt: b, now: func() time.Time { return time.Now().UTC() }}, nil
}

// Close releases the database file.
func (db *DB) Close() error { return db.bolt.Close() }

// Path returns the database file's path.
func (db *DB) Path() string { return db.bolt.Path() }

// Change describes one state transition and the evidence that goes with it
// into the ledger.
type Change struct {
	To      State
	Run     string
	Actor   string
	Skipped []State
	// Evidence is stored verbatim in the ledger entry: digests, URLs,
	// reasons.
	Evidence map[string]string
	// Update, when set, edits the artifact in the same transaction, for
	// example to record the digest a fetch produced.
	Update func(*Artifact)
}

// Create stores a new artifact in state requested and writes its ledger
// entry. If the artifact already exists it is returned unchanged and
// created is false.
func (db *DB) Create(a *Artifact, run, actor string) (stored *Artifact, created bool, err error) {
	err = db.bolt.Batch(func(tx *bolt.Tx) error {
		stored, created, err = create(tx, db.now(), a, run, actor)
		return err
	})
	return stored, created, err
}

func create(tx *bolt.Tx, now time.Time, a *Artifact, run, actor string) (*Artifact, bool, error) {
	b := tx.Bucket(bucketArtifacts)
	if existing, err := getArtifact(b, a.Key()); err == nil {
		return existing, false, nil
	}
	c := *a
	c.State, c.Created, c.Updated = StateRequested, now, now
	if err := putJSON(b, c.Key(), &c); err != nil {
		return nil, false, err
	}
	ev := map[string]string{"requestedBy": c.RequestedBy}
	err := appendEntry(tx, now, Entry{Type: EntryTransition, Subject: c.Key(),
		To: StateRequested, Run: run, Actor: actor, Evidence: ev})
	return &c, err == nil, err
}

// Transition moves the artifact with the given key to ch.To, applies
// ch.Update and appends the ledger entry, all in one transaction.
func (db *DB) Transition(key string, ch Change) (*Artifact, error) {
	var out *Artifact
	err := db.bolt.Batch(func(tx *bolt.Tx) error {
		var err error
		out, err = transition(tx, db.now(), key, ch)
		return err
	})
	return out, err
}

func transition(tx *bolt.Tx, now time.Time, key string, ch Change) (*Artifact, error) {
	b := tx.Bucket(bucketArtifacts)
	a, err := getArtifact(b, key)
	if err != nil {
		return nil, err
	}
	if err := CheckTransition(a.State, ch.To, ch.Skipped); err != nil {
		return nil, fmt.Errorf("artifact %s: %w", key, err)
	}
	from := a.State
	if ch.Update != nil {
		ch.Update(a)
	}
	a.State, a.Updated = ch.To, now
	a.Skipped = append(a.Skipped, ch.Skipped...)
	if err := putJSON(b, key, a); err != nil {
		return nil, err
	}
	return a, appendEntry(tx, now, Entry{Type: EntryTransition, Subject: key, From: from,
		To: ch.To, Skipped: ch.Skipped, Run: ch.Run, Actor: ch.Actor, Evidence: ch.Evidence})
}

func getArtifact(b *bolt.Bucket, key string) (*Artifact, error) {
	v := b.Get([]byte(key))
	if v == nil {
		return nil, fmt.Errorf("artifact %s: %w", key, ErrNotFound)
	}
	a := new(Artifact)
	if err := json.Unmarshal(v, a); err != nil {
		return nil, fmt.Errorf("artifact %s: decode: %w", key, err)
	}
	return a, nil
}

// UpdateArtifact edits an artifact's stored fields without moving its
// state, and records the edit as a ledger entry of type typ.
func (db *DB) UpdateArtifact(key, typ, run string, evidence map[string]string, edit func(*Artifact)) error {
	return db.bolt.Batch(func(tx *bolt.Tx) error {
		return updateArtifact(tx, db.now(), key, Entry{Type: typ, Run: run, Evidence: evidence}, edit)
	})
}

func updateArtifact(tx *bolt.Tx, now time.Time, key string, e Entry, edit func(*Artifact)) error {
	b := tx.Bucket(bucketArtifacts)
	a, err := getArtifact(b, key)
	if err != nil {
		return err
	}
	edit(a)
	a.Updated = now
	if err := putJSON(b, key, a); err != nil {
		return err
	}
	e.Subject = key
	return appendEntry(tx, now, e)
}

// Record appends a ledger entry that moves no artifact: a run starting, a
// fetch that failed its integrity check, an export.
func (db *DB) Record(e Entry) error {
	return db.bolt.Batch(func(tx *bolt.Tx) error {
		return appendEntry(tx, db.now(), e)
	})
}

// Artifact returns the artifact stored under key, or ErrNotFound.
func (db *DB) Artifact(key string) (*Artifact, error) {
	var a *Artifact
	err := db.bolt.View(func(tx *bolt.Tx) error {
		var err error
		a, err = getArtifact(tx.Bucket(bucketArtifacts), key)
		return err
	})
	return a, err
}

// Artifacts returns every stored artifact for which keep returns true (all
// of them when keep is nil), sorted by key.
func (db *DB) Artifacts(keep func(*Artifact) bool) ([]*Artifact, error) {
	var out []*Artifact
	err := db.bolt.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketArtifacts).ForEach(func(k, v []byte) error {
			a := new(Artifact)
			if err := json.Unmarshal(v, a); err != nil {
				return fmt.Errorf("artifact %s: decode: %w", k, err)
			}
			if keep == nil || keep(a) {
				out = append(out, a)
			}
			return nil
		})
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Key() < out[j].Key() })
	return out, err
}

func putJSON(b *bolt.Bucket, key string, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %s: %w", key, err)
	}
	return b.Put([]byte(key), data)
}
