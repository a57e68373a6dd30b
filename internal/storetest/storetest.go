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
