package scanners

import (
	"context"
	"slices"
	"testing"

	"github.com/sluice-dev/sluice/ingest/state"
	"github.com/sluice-dev/sluice/internal/grypetest"
	"github.com/sluice-dev/sluice/scanners/internal/ocitest"
)

const debianOSRelease = `PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
NAME="Debian GNU/Linux"
VERSION_ID="12"
VERSION="12 (bookworm)"
VERSION_CODENAME=bookworm
ID=debian
`

// dpkgStatus lists libc6 built from glibc, before and after the fix of
// CVE-2023-4911 in Debian 12.
func dpkgStatus(version string) string {
	return `Package: libc6
Status: install ok installed
Priority: optional
Section: libs
Installed-Size: 12987
Maintainer: GNU Libc Maintainers <debian-glibc@lists.debian.org>
Architecture: amd64
Multi-Arch: same
Source: glibc
Version: ` + version + `
Description: GNU C Library: Shared libraries

`
}

func TestScanOCIImage(t *testing.T) {
	_, db := openDemoDB(t)
	tests := []struct {
		version string
		want    bool
	}{
		{"2.36-9+deb12u1", true},
		{"2.36-9+deb12u3", false},
	}
	for _, tt := range tests {
		t.Run(tt.version, func(t *testing.T) {
			dir := t.TempDir()
			digest, err := ocitest.WriteLayout(dir, map[string][]byte{
				"etc/os-release":      []byte(debianOSRelease),
				"var/lib/dpkg/status": []byte(dpkgStatus(tt.version)),
			})
			if err != nil {
				t.Fatal(err)
			}
			s := &Scanner{DB: db, Blobs: newBlobStore(t)}
			a := &state.Artifact{Ecosystem: "oci", Name: "example/debian", Version: digest, Digest: digest}
			r, err := s.Scan(context.Background(), a, OCILayout{Name: "example/debian", Version: digest, Dir: dir})
			if err != nil {
				t.Fatal(err)
			}
			var glibc *Finding
			for i, f := range r.Findings {
				if f.Kind == KindVulnerability && f.ID == grypetest.GlibcCVE {
					glibc = &r.Findings[i]
				}
			}
			if !tt.want {
				if glibc != nil {
					t.Fatalf("fixed libc6 flagged: %+v", glibc)
				}
				return
			}
			if glibc == nil {
				t.Fatalf("no %s finding; findings %+v", grypetest.GlibcCVE, r.Findings)
			}
			if glibc.Package != "libc6" || glibc.Severity != SeverityHigh || !glibc.KEV {
				t.Errorf("finding = %+v, want libc6, high, on KEV", glibc)
			}
			if !slices.Equal(glibc.FixedIn, []string{"2.36-9+deb12u3"}) {
				t.Errorf("fixedIn = %v", glibc.FixedIn)
			}
		})
	}
}
