package bundle

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzDecodeIndex feeds arbitrary bytes to the index parser, which reads
// the first file of a bundle that nothing has verified yet.
func FuzzDecodeIndex(f *testing.F) {
	f.Add([]byte(`{"format":"sluice.dev/bundle/v1","id":"20261204T174500Z-3f9a2c1b","parts":[{"name":"part-001.tar.zst"}]}`))
	f.Add([]byte(`{"format":"sluice.dev/bundle/v1","id":"../../etc","from":"x"}`))
	f.Add([]byte(`{"format":"other"}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		ix, err := decodeIndex(data)
		if err != nil {
			return
		}
		if !idPattern.MatchString(ix.ID) {
			t.Errorf("accepted bundle id %q", ix.ID)
		}
		for i, p := range ix.Parts {
			if p.Name != partName(i+1) {
				t.Errorf("accepted part name %q at %d", p.Name, i+1)
			}
		}
	})
}

// FuzzOpenSingleFile feeds arbitrary bytes to the reader of single-file
// bundles, which parses tar headers before any signature is checked.
func FuzzOpenSingleFile(f *testing.F) {
	f.Add([]byte{})
	f.Add(make([]byte, 1024))
	f.Add([]byte("not a tar"))
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(t.TempDir(), "bundle.tar")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		b, err := Open(path)
		if err == nil {
			b.Close()
		}
	})
}

func TestParseIDs(t *testing.T) {
	tests := []struct {
		id string
		ok bool
	}{
		{"20261204T174500Z-3f9a2c1b", true},
		{"20261204T174500Z-3F9A2C1B", false},
		{"20261204T174500Z-3f9a2c1b/../x", false},
		{"", false},
	}
	for _, tt := range tests {
		if got := idPattern.MatchString(tt.id); got != tt.ok {
			t.Errorf("id %q valid = %v, want %v", tt.id, got, tt.ok)
		}
	}
}
