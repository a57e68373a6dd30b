// Package storetest opens a state database and a blob store in a test's
// temporary folder, the way a data directory holds them.
package storetest

import (
	"path/filepath"
	"testing"

	"github.com/sluice-dev/sluice/ingest/blobs"
	"github.com/sluice-dev/sluice/ingest/state"
)

// Open returns a state database and a blob store in a new temporary data
// directory. The database is closed when the test ends.
func Open(t testing.TB) (*state.DB, *blobs.Store) {
	t.Helper()
	dir := t.TempDir()
	db, err := state.Open(filepath.Join(dir, "sluice.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	bs, err := blobs.Open(filepath.Join(dir, "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	return db, bs
}

// SeedNPM records the npm artifact name@1.0.0 with the given integrity and
// moves it through path. When path reaches published, the artifact is
// recorded as published to mirror.
func SeedNPM(t testing.TB, db *state.DB, name, integrity, mirror string, path ...state.State) {
	t.Helper()
	a, _, err := db.Create(&state.Artifact{Ecosystem: state.EcosystemNPM, Name: name, Version: "1.0.0"}, "r", "test")
	if err != nil {
		t.Fatal(err)
	}
	for _, to := range path {
		_, err := db.Transition(a.Key(), state.Change{To: to, Update: func(a *state.Artifact) {
			a.Integrity = integrity
			if to == state.StatePublished {
				a.Mirrors = []string{mirror}
			}
		}})
		if err != nil {
			t.Fatal(err)
		}
	}
}
