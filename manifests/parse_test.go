package manifests

import (
	"errors"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// header is a valid start of a manifest; tests append spec lines to it.
const header = `apiVersion: sluice.dev/v1
kind: Manifest
metadata:
  name: frontend
  owner: team-platform
  dataClass: internal
`

// problemsOf returns the *Error values joined in err.
func problemsOf(t *testing.T, err error) []*Error {
	t.Helper()
	var errs []error
	if joined, ok := err.(interface{ Unwrap() []error }); ok {
		errs = joined.Unwrap()
	} else {
		errs = []error{err}
	}
	out := make([]*Error, 0, len(errs))
	for _, e := range errs {
		var pe *Error
		if !errors.As(e, &pe) {
			t.Fatalf("error %q is %T, not *Error", e, e)
		}
		out = append(out, pe)
	}
	return out
}

func TestParseValid(t *testing.T) {
	abs := func(p string) string {
		a, err := filepath.Abs(p)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	tests := []struct {
		name string
		yaml string
		want NPMSpec
	}{
		{
			name: "shorthand with and without spec",
			yaml: header + "spec:\n  npm:\n    packages: [lodash@4.17.21, left-pad, \"@types/node@^20\"]\n",
			want: NPMSpec{
				Dependencies: DependencyOptions{Optional: true, Peer: true},
				Packages: []NPMPackage{
					{Name: "lodash", Version: "4.17.21", Pos: Position{"m.yaml", 9, 16}},
					{Name: "left-pad", Version: "latest", Pos: Position{"m.yaml", 9, 32}},
					{Name: "@types/node", Version: "^20", Pos: Position{"m.yaml", 9, 42}},
				},
			},
		},
		{
			name: "mapping entries and dependency options",
			yaml: header + `spec:
  npm:
    dependencies:
      optional: false
    packages:
      - name: typescript
        latest: 3
      - name: react
        version: "19.0.0-rc.1"
        prerelease: true
      - name: next
        version: canary
`,
			want: NPMSpec{
				Dependencies: DependencyOptions{Optional: false, Peer: true},
				Packages: []NPMPackage{
					{Name: "typescript", Version: "*", Latest: 3, Pos: Position{"m.yaml", 12, 9}},
					{Name: "react", Version: "19.0.0-rc.1", Prerelease: true,
						Pos: Position{"m.yaml", 14, 9}},
					{Name: "next", Version: "canary", Pos: Position{"m.yaml", 17, 9}},
				},
			},
		},
		{
			name: "same name with different versions",
			yaml: header + "spec:\n  npm:\n    packages: [lodash@3, lodash@4]\n",
			want: NPMSpec{
				Dependencies: DependencyOptions{Optional: true, Peer: true},
				Packages: []NPMPackage{
					{Name: "lodash", Version: "3", Pos: Position{"m.yaml", 9, 16}},
					{Name: "lodash", Version: "4", Pos: Position{"m.yaml", 9, 26}},
				},
			},
		},
		{
			name: "lockfiles resolved against the manifest folder",
			yaml: header + "spec:\n  npm:\n    lockfiles:\n      - path: ./app/yarn.lock\n" +
				"      - path: ../package-lock.json\n",
			want: NPMSpec{
				Dependencies: DependencyOptions{Optional: true, Peer: true},
				Lockfiles: []NPMLockfile{
					{Path: abs("app/yarn.lock"), Pos: Position{"m.yaml", 10, 15}},
					{Path: abs("../package-lock.json"), Pos: Position{"m.yaml", 11, 15}},
				},
			},
		},
		{
			name: "aliases and anchors",
			yaml: header + "spec:\n  npm:\n    packages:\n      - &pkg {name: lodash, version: ^4}\n" +
				"    lockfiles: [{path: &p yarn.lock}]\n",
			want: NPMSpec{
				Dependencies: DependencyOptions{Optional: true, Peer: true},
				Packages: []NPMPackage{
					{Name: "lodash", Version: "^4", Pos: Position{"m.yaml", 10, 9}},
				},
				Lockfiles: []NPMLockfile{
					{Path: abs("yarn.lock"), Pos: Position{"m.yaml", 11, 24}},
				},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := Parse("m.yaml", []byte(tt.yaml))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if m.APIVersion != APIVersionV1 || m.Kind != KindManifest || m.Path != "m.yaml" {
				t.Errorf("header = %q %q %q", m.APIVersion, m.Kind, m.Path)
			}
			wantMeta := Metadata{Name: "frontend", Owner: "team-platform", DataClass: "internal"}
			if !reflect.DeepEqual(m.Metadata, wantMeta) {
				t.Errorf("metadata = %+v, want %+v", m.Metadata, wantMeta)
			}
			if m.Spec.NPM == nil {
				t.Fatal("spec.npm is nil")
			}
			if !reflect.DeepEqual(*m.Spec.NPM, tt.want) {
				t.Errorf("spec.npm =\n%+v\nwant\n%+v", *m.Spec.NPM, tt.want)
			}
		})
	}
}

func TestParseLabels(t *testing.T) {
	yaml := strings.Replace(header, "  dataClass: internal\n",
		"  dataClass: internal\n  labels:\n    cost-center: \"4711\"\n    tier: gold\n", 1) +
		"spec:\n  npm:\n    packages: [lodash]\n"
	m, err := Parse("m.yaml", []byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"cost-center": "4711", "tier": "gold"}
	if !reflect.DeepEqual(m.Metadata.Labels, want) {
		t.Errorf("labels = %v, want %v", m.Metadata.Labels, want)
	}
}

func TestParseTrailingEmptyDocument(t *testing.T) {
	yaml := header + "spec:\n  npm:\n    packages: [lodash]\n---\n"
	if _, err := Parse("m.yaml", []byte(yaml)); err != nil {
		t.Errorf("Parse: %v", err)
	}
}

func TestErrorFormat(t *testing.T) {
	tests := []struct {
		err  Error
		want string
	}{
		{Error{File: "a.yaml", Line: 3, Column: 7, Field: "kind", Message: "bad"},
			"a.yaml:3:7: kind: bad"},
		{Error{File: "a.yaml", Line: 3, Message: "bad"}, "a.yaml:3: bad"},
		{Error{File: "a.yaml", Message: "bad"}, "a.yaml: bad"},
		{Error{Field: "spec", Message: "bad"}, "spec: bad"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
}
