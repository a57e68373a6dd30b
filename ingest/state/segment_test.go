package state

import (
	"bytes"
	"path/filepath"
	"testing"
)

func TestLedgerSegment(t *testing.T) {
	db, err := Open(filepath.Join(t.TempDir(), "sluice.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if head, err := db.LedgerHead(); err != nil || head != (Head{}) {
		t.Fatalf("head of an empty ledger: %+v, %v", head, err)
	}
	for range 5 {
		if err := db.Record(Entry{Type: EntryRunStarted}); err != nil {
			t.Fatal(err)
		}
	}
	entries, err := db.Ledger("")
	if err != nil {
		t.Fatal(err)
	}
	head, err := db.LedgerHead()
	if err != nil || head.Seq != 5 || head.Hash != entries[4].Hash {
		t.Fatalf("head %+v, %v; want entry 5", head, err)
	}
	at := func(seq uint64) Head {
		if seq == 0 {
			return Head{}
		}
		return Head{Seq: seq, Hash: entries[seq-1].Hash}
	}
	tests := []struct {
		name           string
		after, through uint64
		prev           Head
		wantEntries    int
		wantOK         bool
	}{
		{"whole ledger", 0, 5, Head{}, 5, true},
		{"middle", 2, 4, at(2), 2, true},
		{"wrong previous hash", 2, 5, Head{Seq: 2, Hash: entries[0].Hash}, 3, false},
		{"gap before", 3, 5, at(2), 2, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := db.ExportSegment(&buf, tt.after, tt.through); err != nil {
				t.Fatal(err)
			}
			v, got, err := VerifySegment(&buf, tt.prev)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != tt.wantEntries {
				t.Errorf("%d entries, want %d", len(got), tt.wantEntries)
			}
			if v.OK() != tt.wantOK {
				t.Errorf("verification ok = %v, want %v: %+v", v.OK(), tt.wantOK, v.Problems)
			}
		})
	}
}
