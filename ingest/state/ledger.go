package state

import (
	"bufio"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Ledger entry types written by the state store and the sync run.
const (
	EntryTransition  = "artifact.transition"
	EntryFetchFailed = "artifact.fetch-failed"
	EntryRunStarted  = "run.started"
	EntryRunFinished = "run.finished"
	EntryPinned      = "lockfile.pinned"
	// EntryRequestedAgain records another manifest asking for an artifact
	// that an earlier one brought in.
	EntryRequestedAgain = "artifact.requested-again"
)

// Entry is one ledger record. Hash is the hex SHA-256 of the entry's JSON
// encoding with Hash left empty; Prev is the Hash of the entry before it
// (empty for the first), so editing or removing any entry breaks the chain
// from that point on.
type Entry struct {
	Seq      uint64            `json:"seq"`
	Time     time.Time         `json:"time"`
	Type     string            `json:"type"`
	Subject  string            `json:"subject,omitempty"`
	From     State             `json:"from,omitempty"`
	To       State             `json:"to,omitempty"`
	Skipped  []State           `json:"skipped,omitempty"`
	Run      string            `json:"run,omitempty"`
	Actor    string            `json:"actor,omitempty"`
	Evidence map[string]string `json:"evidence,omitempty"`
	Prev     string            `json:"prev"`
	Hash     string            `json:"hash"`
}

// digest computes the entry's chain hash. encoding/json writes struct
// fields in declaration order and map keys sorted, so the encoding is
// canonical.
func (e Entry) digest() (string, error) {
	e.Hash = ""
	data, err := json.Marshal(e)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:]), nil
}

type ledgerHead struct {
	Seq  uint64 `json:"seq"`
	Hash string `json:"hash"`
}

func seqKey(seq uint64) []byte {
	return binary.BigEndian.AppendUint64(nil, seq)
}

func appendEntry(tx *bolt.Tx, now time.Time, e Entry) error {
	meta := tx.Bucket(bucketMeta)
	var head ledgerHead
	if v := meta.Get(keyLedgerHead); v != nil {
		if err := json.Unmarshal(v, &head); err != nil {
			return fmt.Errorf("ledger head: %w", err)
		}
	}
	e.Seq, e.Prev, e.Time = head.Seq+1, head.Hash, now
	hash, err := e.digest()
	if err != nil {
		return fmt.Errorf("ledger entry %d: %w", e.Seq, err)
	}
	e.Hash = hash
	data, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("ledger entry %d: %w", e.Seq, err)
	}
	if err := tx.Bucket(bucketLedger).Put(seqKey(e.Seq), data); err != nil {
		return err
	}
	return putJSON(meta, string(keyLedgerHead), ledgerHead{Seq: e.Seq, Hash: e.Hash})
}

// Problem is one break in the ledger found by verification.
type Problem struct {
	Seq     uint64 `json:"seq"`
	Subject string `json:"subject,omitempty"`
	Message string `json:"message"`
}

// Verification is the outcome of checking a ledger's hash chain.
type Verification struct {
	Entries  uint64    `json:"entries"`
	Head     string    `json:"head"`
	Problems []Problem `json:"problems,omitempty"`
}

// OK reports whether the chain is intact.
func (v *Verification) OK() bool { return len(v.Problems) == 0 }

// chainChecker walks entries in order and records every break.
type chainChecker struct {
	v    Verification
	seq  uint64
	prev string
}

func (c *chainChecker) check(e Entry) {
	c.seq++
	if e.Seq != c.seq {
		c.problemAt(e, fmt.Sprintf("sequence jumps from %d to %d: entries were removed or reordered", c.seq-1, e.Seq))
		c.seq = e.Seq
	}
	if e.Prev != c.prev {
		c.problemAt(e, "prev does not match the hash of the entry before it: an entry before this one was edited, removed or reordered")
	}
	if h, err := e.digest(); err != nil || h != e.Hash {
		c.problemAt(e, "hash does not match the entry's content: this entry was edited")
	}
	c.prev = e.Hash
	c.v.Entries++
	c.v.Head = e.Hash
}

func (c *chainChecker) problemAt(e Entry, msg string) {
	c.v.Problems = append(c.v.Problems, Problem{Seq: e.Seq, Subject: e.Subject, Message: msg})
}

func (c *chainChecker) problem(seq uint64, msg string) {
	c.v.Problems = append(c.v.Problems, Problem{Seq: seq, Message: msg})
}

// ErrDamaged is returned when the database file itself is corrupt, so that
// bbolt cannot read its pages.
var ErrDamaged = errors.New("state database is damaged")

// recoverDamage turns the panic bbolt raises on a corrupt page into
// ErrDamaged.
func recoverDamage(path string, err *error) {
	if r := recover(); r != nil {
		*err = fmt.Errorf("%w: %s: %v; restore it from a backup, or verify an export with --file", ErrDamaged, path, r)
	}
}

// VerifyLedger checks the stored ledger's hash chain and that its last
// entry is the head the store recorded, which catches entries removed from
// the end.
func (db *DB) VerifyLedger() (v *Verification, err error) {
	defer recoverDamage(db.Path(), &err)
	var c chainChecker
	err = db.bolt.View(func(tx *bolt.Tx) error {
		err := tx.Bucket(bucketLedger).ForEach(func(k, v []byte) error {
			var e Entry
			if err := json.Unmarshal(v, &e); err != nil {
				c.problem(binary.BigEndian.Uint64(k), "entry is not valid JSON: "+err.Error())
				return nil
			}
			if binary.BigEndian.Uint64(k) != e.Seq {
				c.problem(e.Seq, fmt.Sprintf("stored under key %d", binary.BigEndian.Uint64(k)))
			}
			c.check(e)
			return nil
		})
		if err != nil {
			return err
		}
		var head ledgerHead
		if v := tx.Bucket(bucketMeta).Get(keyLedgerHead); v != nil {
			if err := json.Unmarshal(v, &head); err != nil {
				return fmt.Errorf("ledger head: %w", err)
			}
		}
		if head.Seq != c.seq || head.Hash != c.v.Head {
			c.problem(head.Seq, fmt.Sprintf(
				"recorded head is entry %d (%s) but the ledger ends at entry %d: entries were removed from the end",
				head.Seq, head.Hash, c.seq))
		}
		return nil
	})
	return &c.v, err
}

// VerifyExport checks a ledger exported as JSON Lines by ExportLedger. An
// export carries no separate head, so compare the returned Head with one
// recorded earlier to detect entries removed from its end.
func VerifyExport(r io.Reader) (*Verification, error) {
	var c chainChecker
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	line := 0
	for sc.Scan() {
		line++
		var e Entry
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			return nil, fmt.Errorf("line %d: invalid ledger entry: %w", line, err)
		}
		c.check(e)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read ledger export: %w", err)
	}
	if c.v.Entries == 0 {
		c.problem(0, "the export holds no entries")
	}
	return &c.v, nil
}

// ExportLedger writes every ledger entry as one JSON object per line, in
// sequence order.
func (db *DB) ExportLedger(w io.Writer) (err error) {
	defer recoverDamage(db.Path(), &err)
	bw := bufio.NewWriter(w)
	err = db.bolt.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketLedger).ForEach(func(_, v []byte) error {
			if _, err := bw.Write(v); err != nil {
				return err
			}
			return bw.WriteByte('\n')
		})
	})
	if err != nil {
		return fmt.Errorf("export ledger: %w", err)
	}
	return bw.Flush()
}

// Ledger returns the entries whose subject is subject, in order; all of
// them when subject is empty.
func (db *DB) Ledger(subject string) ([]Entry, error) {
	var out []Entry
	err := db.bolt.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketLedger).ForEach(func(_, v []byte) error {
			var e Entry
			if err := json.Unmarshal(v, &e); err != nil {
				return err
			}
			if subject == "" || e.Subject == subject {
				out = append(out, e)
			}
			return nil
		})
	})
	return out, err
}
