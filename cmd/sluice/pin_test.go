package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluice-dev/sluice/ingest/state"
	"github.com/sluice-dev/sluice/internal/storetest"
)

// gateLock has one entry per case the build gate meets: published and
// still resolving to the public registry, not mirrored, rejected, and
// awaiting approval.
const gateLock = `{
  "name": "app",
  "lockfileVersion": 3,
  "requires": true,
  "packages": {
    "": {"name": "app"},
    "node_modules/public": {
      "version": "1.0.0",
      "resolved": "https://registry.npmjs.org/public/-/public-1.0.0.tgz",
      "integrity": "sha512-AAAA"
    },
    "node_modules/unknown": {
      "version": "1.0.0",
      "resolved": "http://mirror.invalid/unknown/-/unknown-1.0.0.tgz",
      "integrity": "sha512-BBBB"
    },
    "node_modules/rejected": {
      "version": "1.0.0",
      "resolved": "http://mirror.invalid/rejected/-/rejected-1.0.0.tgz",
      "integrity": "sha512-CCCC"
    },
    "node_modules/waiting": {
      "version": "1.0.0",
      "resolved": "http://mirror.invalid/waiting/-/waiting-1.0.0.tgz",
      "integrity": "sha512-DDDD"
    }
  }
}
`

func TestPinCheckGate(t *testing.T) {
	dir := t.TempDir()
	dataDir := filepath.Join(dir, "data")
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		t.Fatal(err)
	}
	const mirror = "http://mirror.invalid/"
	db, err := state.Open(filepath.Join(dataDir, "sluice.db"))
	if err != nil {
		t.Fatal(err)
	}
	evaluated := []state.State{state.StateResolved, state.StateFetched, state.StateScanned, state.StateEvaluated}
	storetest.SeedNPM(t, db, "public", "sha512-AAAA", mirror, append(evaluated, state.StateApproved, state.StateSigned,
		state.StatePublished)...)
	storetest.SeedNPM(t, db, "rejected", "sha512-CCCC", mirror, append(evaluated, state.StateRejected)...)
	storetest.SeedNPM(t, db, "waiting", "sha512-DDDD", mirror, append(evaluated, state.StateAwaitingApproval)...)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	lock := filepath.Join(dir, "package-lock.json")
	if err := os.WriteFile(lock, []byte(gateLock), 0o644); err != nil {
		t.Fatal(err)
	}

	r := sluice(t, "pin", "--check", "--data-dir", dataDir, "--npm-mirror", mirror, lock)
	if r.exitCode() != exitOffenders {
		t.Fatalf("exit code %d, want %d; err %v\n%s", r.exitCode(), exitOffenders, r.err, r.stdout)
	}
	want := []string{
		lock + ":9: public@1.0.0: resolves to https://registry.npmjs.org/public/-/public-1.0.0.tgz, " +
			"outside the mirror: run sluice pin " + lock,
		lock + ":14: unknown@1.0.0: not mirrored: request it by listing unknown@1.0.0 (or this lockfile) " +
			"in a manifest and running sluice sync",
		lock + ":19: rejected@1.0.0: rejected (sluice approvals show rejected@1.0.0 gives the reason)",
		lock + ":24: waiting@1.0.0: awaiting approval (sluice approvals show waiting@1.0.0 lists " +
			"the approvers needed)",
	}
	for _, w := range want {
		if !strings.Contains(r.stdout, w) {
			t.Errorf("output lacks %q:\n%s", w, r.stdout)
		}
	}
	if n := strings.Count(r.stdout, "\n"); n != len(want) {
		t.Errorf("output has %d lines, want %d:\n%s", n, len(want), r.stdout)
	}
	if got := r.err.Error(); !strings.Contains(got, "3 lockfile entries cannot be installed from "+mirror+"; 1 other entry is not pinned to it") {
		t.Errorf("error = %q", got)
	}
	data, err := os.ReadFile(lock)
	if err != nil {
		t.Fatal(err)
	}
	if string(data) != gateLock {
		t.Error("pin --check changed the lockfile")
	}
}
