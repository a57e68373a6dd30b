package state

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// ErrReservedBucket is returned when a caller names one of the buckets the
// state store keeps for itself.
var ErrReservedBucket = errors.New("bucket is reserved for the state store")

// Tx is a transaction for packages that keep records of their own beside
// the artifacts (approval requests, scan results): their records, artifact
// transitions and ledger entries commit together or not at all. Records
// are JSON values in named buckets.
type Tx struct {
	tx  *bolt.Tx
	now time.Time
}

// Update runs fn in a read-write transaction. An error from fn rolls back
// everything it wrote.
func (db *DB) Update(fn func(*Tx) error) error {
	return db.bolt.Update(func(tx *bolt.Tx) error { return fn(&Tx{tx: tx, now: db.now()}) })
}

// View runs fn in a read-only transaction.
func (db *DB) View(fn func(*Tx) error) error {
	return db.bolt.View(func(tx *bolt.Tx) error { return fn(&Tx{tx: tx, now: db.now()}) })
}

// Now returns the transaction's timestamp, which its ledger entries carry.
func (t *Tx) Now() time.Time { return t.now }

func reserved(name string) bool {
	for _, b := range [][]byte{bucketArtifacts, bucketRuns, bucketLedger, bucketMeta} {
		if string(b) == name {
			return true
		}
	}
	return false
}

// Put stores v as JSON under key in bucket, creating the bucket if needed.
func (t *Tx) Put(bucket, key string, v any) error {
	if reserved(bucket) {
		return fmt.Errorf("%w: %s", ErrReservedBucket, bucket)
	}
	b, err := t.tx.CreateBucketIfNotExists([]byte(bucket))
	if err != nil {
		return err
	}
	return putJSON(b, key, v)
}

// Get decodes the value under key in bucket into v, and reports whether
// there was one.
func (t *Tx) Get(bucket, key string, v any) (bool, error) {
	b := t.tx.Bucket([]byte(bucket))
	if b == nil {
		return false, nil
	}
	data := b.Get([]byte(key))
	if data == nil {
		return false, nil
	}
	return true, json.Unmarshal(data, v)
}

// Delete removes key from bucket.
func (t *Tx) Delete(bucket, key string) error {
	if reserved(bucket) {
		return fmt.Errorf("%w: %s", ErrReservedBucket, bucket)
	}
	b := t.tx.Bucket([]byte(bucket))
	if b == nil {
		return nil
	}
	return b.Delete([]byte(key))
}

// ForEach calls fn with every key and raw JSON value in bucket, in key
// order.
func (t *Tx) ForEach(bucket string, fn func(key string, value []byte) error) error {
	b := t.tx.Bucket([]byte(bucket))
	if b == nil {
		return nil
	}
	return b.ForEach(func(k, v []byte) error { return fn(string(k), v) })
}

// Artifact returns the artifact stored under key, or ErrNotFound.
func (t *Tx) Artifact(key string) (*Artifact, error) {
	return getArtifact(t.tx.Bucket(bucketArtifacts), key)
}

// Create stores a new artifact as DB.Create does, inside this transaction.
func (t *Tx) Create(a *Artifact, run, actor string) (*Artifact, bool, error) {
	return create(t.tx, t.now, a, run, actor)
}

// Transition moves an artifact as DB.Transition does, inside this
// transaction.
func (t *Tx) Transition(key string, ch Change) (*Artifact, error) {
	return transition(t.tx, t.now, key, ch)
}

// UpdateArtifact edits an artifact without moving its state and appends
// e, with the artifact as its subject, inside this transaction.
func (t *Tx) UpdateArtifact(key string, e Entry, edit func(*Artifact)) error {
	return updateArtifact(t.tx, t.now, key, e, edit)
}

// Append adds a ledger entry inside this transaction.
func (t *Tx) Append(e Entry) error {
	return appendEntry(t.tx, t.now, e)
}
