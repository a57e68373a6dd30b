package state

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"

	bolt "go.etcd.io/bbolt"
)

// Head identifies one ledger entry by its sequence number and hash. The
// zero Head is the genesis: the point before the first entry.
type Head struct {
	Seq  uint64 `json:"seq"`
	Hash string `json:"hash"`
}

// LedgerHead returns the last entry of the ledger, or the zero Head when
// the ledger is empty.
func (db *DB) LedgerHead() (Head, error) {
	var head ledgerHead
	err := db.bolt.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketMeta).Get(keyLedgerHead)
		if v == nil {
			return nil
		}
		return json.Unmarshal(v, &head)
	})
	if err != nil {
		return Head{}, fmt.Errorf("ledger head: %w", err)
	}
	return Head(head), nil
}

// ExportSegment writes the entries after entry number after, up to and
// including entry number through, as JSON Lines (the ExportLedger format).
func (db *DB) ExportSegment(w io.Writer, after, through uint64) (err error) {
	defer recoverDamage(db.Path(), &err)
	bw := bufio.NewWriter(w)
	err = db.bolt.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketLedger).Cursor()
		for k, v := c.Seek(seqKey(after + 1)); k != nil; k, v = c.Next() {
			var e struct {
				Seq uint64 `json:"seq"`
			}
			if err := json.Unmarshal(v, &e); err != nil {
				return err
			}
			if e.Seq > through {
				break
			}
			if _, err := bw.Write(v); err != nil {
				return err
			}
			if err := bw.WriteByte('\n'); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("export ledger entries %d to %d: %w", after+1, through, err)
	}
	return bw.Flush()
}

// VerifySegment checks a segment of a ledger exported by ExportSegment:
// its first entry must follow prev, and the hash chain must hold from
// there. It returns the entries with the verification, so the caller can
// read what the segment records. A zero prev means the segment starts at
// the first entry of its ledger.
func VerifySegment(r io.Reader, prev Head) (*Verification, []Entry, error) {
	c := chainChecker{seq: prev.Seq, prev: prev.Hash}
	var entries []Entry
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	line := 0
	for sc.Scan() {
		line++
		var e Entry
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			return nil, nil, fmt.Errorf("line %d: invalid ledger entry: %w", line, err)
		}
		c.check(e)
		entries = append(entries, e)
	}
	if err := sc.Err(); err != nil {
		return nil, nil, fmt.Errorf("read ledger segment: %w", err)
	}
	return &c.v, entries, nil
}
