package manifests

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func FuzzParseManifest(f *testing.F) {
	files, err := filepath.Glob("testdata/valid/*.yaml")
	if err != nil {
		f.Fatal(err)
	}
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(npmSpec("    packages: [lodash@^^1, {name: Foo, latest: 0}]\n")))
	f.Add([]byte(npmSpec("    packages:\n      - &a {name: x}\n      - *a\n")))
	f.Add([]byte("a: &x [*x]\n"))
	f.Add([]byte(header + "spec: &s {npm: {packages: [a], lockfiles: *s}}\n"))
	f.Add([]byte(imageSpec("    - a.io/x:1\n    - {repository: a.io/y, tags: {semver: '^1', latest: 2}}\n" +
		"    - {ref: 'a.io/z@sha256:" + sixtyFourZeros + "', platforms: [linux/arm/v7]}\n")))
	f.Add([]byte(imageSpec("    - {repository: a.io/y, tags: {regex: '(', latest: 0}, platforms: [x]}\n")))

	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Parse("f.yaml", data)
		if err != nil {
			if m != nil {
				t.Errorf("Parse returned a manifest along with %v", err)
			}
			checkFuzzErrors(t, err)
			return
		}
		if m.APIVersion != APIVersionV1 || m.Kind != KindManifest {
			t.Errorf("accepted apiVersion %q kind %q", m.APIVersion, m.Kind)
		}
		if !manifestName.MatchString(m.Metadata.Name) || m.Metadata.Owner == "" {
			t.Errorf("accepted metadata %+v", m.Metadata)
		}
		npm := m.Spec.NPM
		if npm == nil && len(m.Spec.Images) == 0 {
			t.Fatalf("accepted a spec with nothing to ingest")
		}
		for _, img := range m.Spec.Images {
			if (img.Ref == "") == (img.Repository == "") || (img.Repository != "" && img.Tags == nil) {
				t.Errorf("accepted image entry %+v", img)
			}
			if img.Attachments == nil {
				t.Errorf("image entry %+v has no attachments default", img)
			}
		}
		if npm == nil {
			return
		}
		if len(npm.Packages)+len(npm.Lockfiles) == 0 {
			t.Fatalf("accepted an npm spec with nothing to ingest")
		}
		for _, p := range npm.Packages {
			if problem := checkPackageName(p.Name); problem != "" {
				t.Errorf("accepted package name %q: %s", p.Name, problem)
			}
			if ClassifyVersion(p.Version) == VersionInvalid {
				t.Errorf("accepted version %q of %s", p.Version, p.Name)
			}
		}
		for _, lf := range npm.Lockfiles {
			if !filepath.IsAbs(lf.Path) {
				t.Errorf("lockfile path %q is not absolute", lf.Path)
			}
		}
	})
}

const sixtyFourZeros = "0000000000000000000000000000000000000000000000000000000000000000"

// checkFuzzErrors checks that every problem is an *Error naming the file.
func checkFuzzErrors(t *testing.T, err error) {
	errs := []error{err}
	if joined, ok := err.(interface{ Unwrap() []error }); ok {
		errs = joined.Unwrap()
	}
	for _, e := range errs {
		var pe *Error
		if !errors.As(e, &pe) || pe.File != "f.yaml" || pe.Message == "" {
			t.Errorf("problem %q is not an *Error naming f.yaml", e)
		}
	}
}
