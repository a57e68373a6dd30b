package npmfixture_test

import (
	"bufio"
	"encoding/json"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/sluice-dev/sluice/internal/npmfixture"
)

// recordedTarballs returns the integrity of every recorded tarball, by
// "<name>/-/<file>", checking each against its packument.
func recordedTarballs(t *testing.T) map[string]string {
	t.Helper()
	files := npmfixture.Recorded()
	tarballs := map[string]string{}
	err := fs.WalkDir(files, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.Name() != "packument.json" {
			return err
		}
		name := path.Dir(p)
		data, err := fs.ReadFile(files, p)
		if err != nil {
			return err
		}
		var doc packument
		if err := json.Unmarshal(data, &doc); err != nil {
			t.Errorf("%s: %v", p, err)
			return nil
		}
		if doc.Name != name {
			t.Errorf("%s: name %q does not match its folder", p, doc.Name)
		}
		for tag, version := range doc.DistTags {
			if _, ok := doc.Versions[version]; !ok {
				t.Errorf("%s: dist-tag %s points at missing version %s", p, tag, version)
			}
		}
		for version, meta := range doc.Versions {
			file := name + "/-/" + path.Base(meta.Dist.Tarball)
			tarball, err := fs.ReadFile(files, file)
			if err != nil {
				continue // a neighbour version, recorded without its tarball
			}
			if got := integrity(tarball); got != meta.Dist.Integrity {
				t.Errorf("%s@%s: tarball integrity %s, packument lists %s",
					name, version, got, meta.Dist.Integrity)
			}
			tarballs[file] = meta.Dist.Integrity
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return tarballs
}

func TestRecordedDataIsConsistent(t *testing.T) {
	tarballs := recordedTarballs(t)
	if len(tarballs) < 30 {
		t.Errorf("%d recorded tarballs, want at least 30", len(tarballs))
	}
	for _, want := range []string{
		"lodash/-/lodash-4.17.20.tgz", "lodash/-/lodash-4.17.21.tgz",
		"minimist/-/minimist-1.2.5.tgz", "minimist/-/minimist-1.2.6.tgz",
		"fsevents/-/fsevents-2.3.3.tgz", "react/-/react-18.2.0.tgz",
		"use-sync-external-store/-/use-sync-external-store-1.2.0.tgz",
		"@types/ms/-/ms-0.7.34.tgz",
	} {
		if _, ok := tarballs[want]; !ok {
			t.Errorf("recorded data lacks %s", want)
		}
	}

	var total int64
	err := filepath.WalkDir("testdata", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		info, err := d.Info()
		total += info.Size()
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if total > 5<<20 {
		t.Errorf("testdata holds %d bytes, want under 5 MiB", total)
	}
}

func TestRecordedPrereleaseNeighbour(t *testing.T) {
	reg := npmfixture.New(t)
	doc := getPackument(t, reg.URL+"/ms")
	found := false
	for version := range doc.Versions {
		found = found || strings.Contains(version, "-")
	}
	if !found {
		t.Errorf("ms packument lists no prerelease version")
	}
}

// TestSmallAppResolvesFromRecording checks that every package in the small
// app's package-lock.json and yarn.lock is a recorded tarball with the same
// integrity, so a test can install the app from the fixture alone.
func TestSmallAppResolvesFromRecording(t *testing.T) {
	tarballs := recordedTarballs(t)
	dir := npmfixture.CopyApp(t, "small")

	data, err := os.ReadFile(filepath.Join(dir, "package-lock.json"))
	if err != nil {
		t.Fatal(err)
	}
	var lock struct {
		LockfileVersion int `json:"lockfileVersion"`
		Packages        map[string]struct {
			Resolved  string `json:"resolved"`
			Integrity string `json:"integrity"`
		} `json:"packages"`
	}
	if err := json.Unmarshal(data, &lock); err != nil {
		t.Fatal(err)
	}
	if lock.LockfileVersion != 3 {
		t.Errorf("lockfileVersion = %d, want 3", lock.LockfileVersion)
	}
	entries := 0
	for key, entry := range lock.Packages {
		if key == "" {
			continue
		}
		entries++
		file, ok := strings.CutPrefix(entry.Resolved, "https://registry.npmjs.org/")
		if !ok {
			t.Errorf("package-lock %s: resolved %q is not on registry.npmjs.org", key, entry.Resolved)
			continue
		}
		if tarballs[file] != entry.Integrity {
			t.Errorf("package-lock %s: %s not recorded with integrity %s", key, file, entry.Integrity)
		}
	}
	if entries < 20 {
		t.Errorf("package-lock lists %d packages, want at least 20", entries)
	}

	yarnLock, err := os.Open(filepath.Join(dir, "yarn.lock"))
	if err != nil {
		t.Fatal(err)
	}
	defer yarnLock.Close()
	resolved := regexp.MustCompile(`^\s+resolved "https://registry\.npmjs\.org/([^"#]+)`)
	yarnEntries := 0
	scanner := bufio.NewScanner(yarnLock)
	for scanner.Scan() {
		if m := resolved.FindStringSubmatch(scanner.Text()); m != nil {
			yarnEntries++
			if _, ok := tarballs[m[1]]; !ok {
				t.Errorf("yarn.lock: %s not recorded", m[1])
			}
		}
	}
	if yarnEntries != entries {
		t.Errorf("yarn.lock resolves %d packages, package-lock.json %d", yarnEntries, entries)
	}
}
