package plugin

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"io/fs"
	"strings"
	"testing"

	"github.com/sluice-dev/sluice/internal/npmfixture"
)

// tarball gzips one package.json under package/.
func tarball(t *testing.T, packageJSON string) *bytes.Buffer {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	if err := tw.WriteHeader(&tar.Header{Name: "package/package.json", Mode: 0o644,
		Size: int64(len(packageJSON)), Typeflag: tar.TypeReg}); err != nil {
		t.Fatal(err)
	}
	if _, err := tw.Write([]byte(packageJSON)); err != nil {
		t.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := gz.Close(); err != nil {
		t.Fatal(err)
	}
	return &buf
}

func TestReadSourceRecordedPlugin(t *testing.T) {
	f, err := npmfixture.RecordedBackstage().Open(
		"@backstage-community/plugin-jenkins-common/-/plugin-jenkins-common-0.22.0.tgz")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s, err := ReadSource(f.(fs.File))
	if err != nil {
		t.Fatal(err)
	}
	want := Source{Repository: "https://github.com/backstage/community-plugins",
		Directory: "workspaces/jenkins/plugins/jenkins-common", Homepage: "https://backstage.io",
		License: "Apache-2.0"}
	if *s != want {
		t.Errorf("source = %+v, want %+v", *s, want)
	}
}

func TestReadSourceForms(t *testing.T) {
	tests := []struct {
		name, packageJSON string
		want              Source
		err               string
	}{
		{"string repository", `{"repository": "github:org/repo", "license": "MIT"}`,
			Source{Repository: "github:org/repo", License: "MIT"}, ""},
		{"legacy license object", `{"license": {"type": "ISC", "url": "x"}}`, Source{License: "ISC"}, ""},
		{"no repository", `{"name": "x"}`, Source{}, ""},
		{"invalid repository", `{"repository": 7}`, Source{}, "invalid package.json repository field"},
		{"invalid json", `{`, Source{}, "invalid package.json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := ReadSource(tarball(t, tt.packageJSON))
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if *s != tt.want {
				t.Errorf("source = %+v, want %+v", *s, tt.want)
			}
		})
	}
}

func TestReadSourceNotATarball(t *testing.T) {
	if _, err := ReadSource(strings.NewReader("not gzip")); err == nil {
		t.Error("ReadSource accepted bytes that are not a gzipped tarball")
	}
}
