package clientconfig

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata")

// cases are the endpoint sets with golden files under testdata/<name>.
var cases = []struct {
	name      string
	endpoints Endpoints
}{
	{"https", Endpoints{
		NPM:      "https://npm.internal/",
		Scopes:   []Scope{{"@acme", "https://npm.internal/acme"}, {"@tools", "https://tools.internal:8443/npm/"}},
		TokenEnv: "NPM_TOKEN",
		OCI:      "harbor.internal",
		Upstreams: []Upstream{{Host: "docker.io"}, {Host: "ghcr.io", Project: "github"},
			{Host: "registry.k8s.io"}, {Host: "localhost:5000"}},
		CAFile: "/etc/ssl/certs/internal-ca.pem",
	}},
	{"plain-http", Endpoints{
		NPM:       "http://verdaccio.internal:4873",
		Scopes:    []Scope{{"@acme", "http://verdaccio.internal:4873/"}},
		OCI:       "http://registry.internal:5000",
		Upstreams: []Upstream{{Host: "quay.io"}},
	}},
	{"npm-only", Endpoints{NPM: "https://npm.internal", TokenEnv: "NPM_TOKEN"}},
}

func TestGenerateGolden(t *testing.T) {
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			files, err := Generate(tt.endpoints)
			if err != nil {
				t.Fatal(err)
			}
			dir := filepath.Join("testdata", tt.name)
			if *update {
				if err := os.RemoveAll(dir); err != nil {
					t.Fatal(err)
				}
				if err := Write(dir, files); err != nil {
					t.Fatal(err)
				}
			}
			var want []string
			err = filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
				if err == nil && !d.IsDir() {
					rel, _ := filepath.Rel(dir, path)
					want = append(want, filepath.ToSlash(rel))
				}
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			if len(want) != len(files) {
				t.Errorf("generated %d files, testdata has %d: %v", len(files), len(want), want)
			}
			for _, f := range files {
				golden, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(f.Path)))
				if err != nil {
					t.Errorf("%s: %v (run go test -update)", f.Path, err)
					continue
				}
				if !bytes.Equal(f.Data, golden) {
					t.Errorf("%s differs from its golden file (run go test -update):\n%s", f.Path, f.Data)
				}
			}
		})
	}
}

func TestValidateRejects(t *testing.T) {
	tests := []struct {
		name      string
		endpoints Endpoints
		want      string
	}{
		{"nothing", Endpoints{}, "no mirror given"},
		{"npm not a URL", Endpoints{NPM: "npm.internal"}, "invalid npm mirror"},
		{"npm ftp", Endpoints{NPM: "ftp://npm.internal/"}, "invalid npm mirror"},
		{"npm with user", Endpoints{NPM: "https://me@npm.internal/"}, "remove the query, fragment or user part"},
		{"scope without @", Endpoints{NPM: "https://n/", Scopes: []Scope{{"acme", "https://n/"}}}, "invalid scope"},
		{"scope twice", Endpoints{NPM: "https://n/", Scopes: []Scope{{"@a", "https://n/"}, {"@a", "https://n/"}}}, "given twice"},
		{"scope without npm", Endpoints{OCI: "h", Scopes: []Scope{{"@a", "https://n/"}}}, "needs the npm mirror"},
		{"token name", Endpoints{NPM: "https://n/", TokenEnv: "NPM-TOKEN"}, "invalid token variable"},
		{"oci with path", Endpoints{OCI: "harbor.internal/project"}, "invalid OCI mirror"},
		{"upstream without oci", Endpoints{NPM: "https://n/", Upstreams: []Upstream{{Host: "docker.io"}}}, "need the OCI mirror"},
		{"upstream with scheme", Endpoints{OCI: "h", Upstreams: []Upstream{{Host: "https://docker.io"}}}, "invalid upstream"},
		{"project uppercase", Endpoints{OCI: "h", Upstreams: []Upstream{{Host: "docker.io", Project: "Hub"}}}, "invalid project"},
		{"relative CA", Endpoints{NPM: "https://n/", CAFile: "ca.pem"}, "absolute path"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Generate(tt.endpoints)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %v, want one containing %q", err, tt.want)
			}
		})
	}
}
