package scanners

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// tarGz builds a gzipped tar from headers; regular entries get body as
// content.
func tarGz(t *testing.T, entries ...*tar.Header) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	body := []byte(`{"name":"x","version":"1.0.0"}`)
	for _, h := range entries {
		if h.Typeflag == tar.TypeReg {
			h.Size = int64(len(body))
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			tw.Write(body)
		}
	}
	tw.Close()
	zw.Close()
	return buf.Bytes()
}

func TestUnpackNPM(t *testing.T) {
	reg := func(name string) *tar.Header { return &tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o644} }
	tests := []struct {
		name     string
		entries  []*tar.Header
		wantRoot string
		wantErr  error
	}{
		{"npm pack layout", []*tar.Header{reg("package/package.json"), reg("package/lib/a.js")}, "package", nil},
		{"other top folder", []*tar.Header{reg("node-uuid/package.json")}, "node-uuid", nil},
		{"parent path", []*tar.Header{reg("package/package.json"), reg("../evil.js")}, "", ErrUnsafeArchive},
		{"absolute path", []*tar.Header{reg("/etc/evil")}, "", ErrUnsafeArchive},
		{"symlink skipped", []*tar.Header{reg("package/package.json"),
			{Name: "package/link", Typeflag: tar.TypeSymlink, Linkname: "/etc/passwd"}}, "package", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			root, err := unpackNPM(bytes.NewReader(tarGz(t, tt.entries...)), dir)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("error = %v, want %v", err, tt.wantErr)
			}
			if root != tt.wantRoot {
				t.Errorf("package folder = %q, want %q", root, tt.wantRoot)
			}
			if _, err := os.Lstat(filepath.Join(dir, "package", "link")); err == nil {
				t.Error("a symlink was written")
			}
		})
	}
	if _, err := unpackNPM(bytes.NewReader(tarGz(t, reg("README.md"))), t.TempDir()); err == nil {
		t.Error("a tarball without package.json was accepted")
	}
}
