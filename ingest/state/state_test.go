package state

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"
)

func openTest(t *testing.T) *DB {
	t.Helper()
	db, err := Open(filepath.Join(t.TempDir(), "sluice.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestCheckTransition(t *testing.T) {
	tests := []struct {
		from, to State
		skipped  []State
		ok       bool
	}{
		{StateRequested, StateResolved, nil, true},
		{StateResolved, StateFetched, nil, true},
		{StateFetched, StateScanned, nil, true},
		{StateEvaluated, StateAwaitingApproval, nil, true},
		{StateEvaluated, StateRejected, nil, true},
		{StateAwaitingApproval, StateApproved, nil, true},
		{StateAwaitingApproval, StateRejected, nil, true},
		{StateSigned, StatePublished, nil, true},
		{StatePublished, StatePinned, nil, true},
		{StateApproved, StateAwaitingApproval, nil, true},
		{StateSigned, StateAwaitingApproval, nil, true},
		{StatePublished, StateAwaitingApproval, nil, false},
		{StateFetched, StatePublished, []State{StateScanned, StateEvaluated, StateApproved, StateSigned}, true},
		{StateFetched, StatePublished, nil, false},
		{StateFetched, StatePublished, []State{StateScanned, StateSigned}, false},
		{StateResolved, StatePublished, []State{StateFetched, StateScanned, StateEvaluated, StateApproved, StateSigned}, true},
		{StateRejected, StateApproved, nil, false},
		{StateRejected, StatePublished, nil, false},
		{StatePublished, StateFetched, nil, false},
		{StateAwaitingApproval, StatePublished, nil, false},
		{StateFetched, StateFetched, nil, false},
	}
	for _, tt := range tests {
		err := CheckTransition(tt.from, tt.to, tt.skipped)
		if (err == nil) != tt.ok {
			t.Errorf("%s -> %s skipping %v: err = %v, want ok %v", tt.from, tt.to, tt.skipped, err, tt.ok)
		}
		if err != nil && !errors.Is(err, ErrInvalidTransition) {
			t.Errorf("%s -> %s: error %v is not ErrInvalidTransition", tt.from, tt.to, err)
		}
	}
}

func newArtifact(db *DB, t *testing.T, name string) *Artifact {
	t.Helper()
	a, created, err := db.Create(&Artifact{Ecosystem: EcosystemNPM, Name: name, Version: "1.0.0"}, "run-1", "test")
	if err != nil || !created {
		t.Fatalf("create %s: created %v, err %v", name, created, err)
	}
	return a
}

func TestTransitionRecordsLedger(t *testing.T) {
	db := openTest(t)
	a := newArtifact(db, t, "lodash")
	got, err := db.Transition(a.Key(), Change{To: StateResolved, Run: "run-1",
		Evidence: map[string]string{"integrity": "sha512-x"},
		Update:   func(a *Artifact) { a.Integrity = "sha512-x" }})
	if err != nil {
		t.Fatal(err)
	}
	if got.State != StateResolved || got.Integrity != "sha512-x" {
		t.Errorf("artifact after transition = %+v", got)
	}
	if _, err := db.Transition(a.Key(), Change{To: StatePublished}); !errors.Is(err, ErrInvalidTransition) {
		t.Errorf("resolved -> published without skips: err = %v, want ErrInvalidTransition", err)
	}
	entries, err := db.Ledger(a.Key())
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 2 {
		t.Fatalf("ledger has %d entries for %s, want 2 (requested, resolved)", len(entries), a.Key())
	}
	if entries[1].From != StateRequested || entries[1].To != StateResolved || entries[1].Evidence["integrity"] != "sha512-x" {
		t.Errorf("second entry = %+v", entries[1])
	}
	if _, created, _ := db.Create(&Artifact{Ecosystem: EcosystemNPM, Name: "lodash", Version: "1.0.0"}, "run-2", "test"); created {
		t.Error("creating an existing artifact again reported created")
	}
}

// tamper edits the raw ledger with bbolt directly, as an attacker with
// write access to the file would.
func tamper(t *testing.T, db *DB, edit func(b *bolt.Bucket, meta *bolt.Bucket)) {
	t.Helper()
	if err := db.bolt.Update(func(tx *bolt.Tx) error {
		edit(tx.Bucket(bucketLedger), tx.Bucket(bucketMeta))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

func TestVerifyLedgerDetectsTampering(t *testing.T) {
	tests := []struct {
		name string
		edit func(t *testing.T, b, meta *bolt.Bucket)
		want string
	}{
		{"intact", func(*testing.T, *bolt.Bucket, *bolt.Bucket) {}, ""},
		{"edited evidence", func(t *testing.T, b, _ *bolt.Bucket) {
			var e Entry
			json.Unmarshal(b.Get(seqKey(2)), &e)
			e.Actor = "someone-else"
			data, _ := json.Marshal(e)
			b.Put(seqKey(2), data)
		}, "entry was edited"},
		{"edited and rehashed", func(t *testing.T, b, _ *bolt.Bucket) {
			var e Entry
			json.Unmarshal(b.Get(seqKey(2)), &e)
			e.Actor = "someone-else"
			e.Hash, _ = e.digest()
			data, _ := json.Marshal(e)
			b.Put(seqKey(2), data)
		}, "an entry before this one was edited, removed or reordered"},
		{"removed from the middle", func(t *testing.T, b, _ *bolt.Bucket) {
			b.Delete(seqKey(3))
		}, "entries were removed"},
		{"removed from the end", func(t *testing.T, b, _ *bolt.Bucket) {
			b.Delete(seqKey(5))
		}, "removed from the end"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := openTest(t)
			for _, n := range []string{"a", "b", "c", "d", "e"} {
				newArtifact(db, t, n)
			}
			tamper(t, db, func(b, meta *bolt.Bucket) { tt.edit(t, b, meta) })
			v, err := db.VerifyLedger()
			if err != nil {
				t.Fatal(err)
			}
			if tt.want == "" {
				if !v.OK() || v.Entries != 5 {
					t.Fatalf("intact ledger: %+v", v)
				}
				return
			}
			if v.OK() {
				t.Fatalf("tampered ledger verified: %+v", v)
			}
			var msgs []string
			for _, p := range v.Problems {
				msgs = append(msgs, p.Message)
			}
			if !strings.Contains(strings.Join(msgs, "\n"), tt.want) {
				t.Errorf("problems %q do not mention %q", msgs, tt.want)
			}
		})
	}
}

func TestExportVerifies(t *testing.T) {
	db := openTest(t)
	for _, n := range []string{"a", "b", "c"} {
		newArtifact(db, t, n)
	}
	var buf bytes.Buffer
	if err := db.ExportLedger(&buf); err != nil {
		t.Fatal(err)
	}
	stored, err := db.VerifyLedger()
	if err != nil {
		t.Fatal(err)
	}
	v, err := VerifyExport(bytes.NewReader(buf.Bytes()))
	if err != nil || !v.OK() || v.Entries != 3 || v.Head != stored.Head {
		t.Fatalf("export verification = %+v, %v; stored head %s", v, err, stored.Head)
	}
	lines := strings.SplitAfter(buf.String(), "\n")
	edited := lines[0] + strings.Replace(lines[1], `"test"`, `"mallory"`, 1) + lines[2]
	v, err = VerifyExport(strings.NewReader(edited))
	if err != nil {
		t.Fatal(err)
	}
	if v.OK() {
		t.Error("an edited export verified")
	}
}

func TestOpenLocked(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sluice.db")
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := Open(path); !errors.Is(err, ErrLocked) {
		t.Errorf("second Open: err = %v, want ErrLocked", err)
	}
}

func TestVerifyDamagedFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sluice.db")
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 200 {
		newArtifact(db, t, fmt.Sprintf("pkg-%d", i))
	}
	db.Close()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	pageSize := os.Getpagesize()
	for i := 4 * pageSize; i < len(data)-pageSize; i++ {
		data[i] = 0xff
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	db, err = Open(path)
	if err != nil {
		return // refusing to open a damaged file is fine too
	}
	defer db.Close()
	if _, err := db.VerifyLedger(); !errors.Is(err, ErrDamaged) {
		t.Errorf("verify of a damaged file: err = %v, want ErrDamaged", err)
	}
}
