package main

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"
)

// fakePackument builds a full-form packument listing the given versions.
func fakePackument(t *testing.T, latest string, versions ...string) *packument {
	t.Helper()
	entries := make([]string, len(versions))
	for i, v := range versions {
		entries[i] = fmt.Sprintf(`"%s":{"name":"p","version":"%s","description":"x",`+
			`"scripts":{"test":"t"},"dist":{"tarball":"https://r.test/p/-/p-%s.tgz"}}`, v, v, v)
	}
	body := fmt.Sprintf(`{"_id":"p","name":"p","time":{"%s":"2020-01-01T00:00:00Z"},`+
		`"dist-tags":{"latest":"%s","next":"%s"},"versions":{%s}}`,
		latest, latest, versions[len(versions)-1], strings.Join(entries, ","))
	doc, err := parsePackument("p", []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

func TestMaxSatisfying(t *testing.T) {
	doc := fakePackument(t, "2.1.0",
		"1.0.0", "1.2.0", "1.2.5", "2.0.0", "2.1.0", "2.2.0-beta.1", "3.0.0")
	tests := []struct {
		rangeText, want string
	}{
		{"^1.0.0", "1.2.5"},
		{"~1.2.0", "1.2.5"},
		{"1.2.0", "1.2.0"},
		{">=1.0.0 <2.0.0", "1.2.5"},
		{"1.0.0 - 2.0.0", "2.0.0"},
		{"^1.0.0 || ^2.0.0", "2.1.0"},
		{"*", "3.0.0"},
		{"", "3.0.0"},
		{"latest", "2.1.0"},
		{"next", "3.0.0"},
		{"^2.2.0-beta.0", "2.2.0-beta.1"},
	}
	for _, tt := range tests {
		got, err := doc.maxSatisfying(tt.rangeText)
		if err != nil {
			t.Errorf("maxSatisfying(%q): %v", tt.rangeText, err)
			continue
		}
		if got != tt.want {
			t.Errorf("maxSatisfying(%q) = %s, want %s", tt.rangeText, got, tt.want)
		}
	}
	if _, err := doc.maxSatisfying("^9.0.0"); err == nil {
		t.Errorf("maxSatisfying(^9.0.0) found a version")
	}
}

func TestTrimKeepsNeighbours(t *testing.T) {
	doc := fakePackument(t, "3.0.0",
		"1.0.0", "1.1.0", "1.2.0", "1.3.0", "2.0.0-rc.1", "2.0.0-rc.2", "2.0.0-rc.3", "2.0.0",
		"3.0.0")
	out, err := doc.trim(map[string]bool{"1.3.0": true})
	if err != nil {
		t.Fatal(err)
	}

	var trimmed struct {
		DistTags map[string]string          `json:"dist-tags"`
		Versions map[string]json.RawMessage `json:"versions"`
	}
	if err := json.Unmarshal(out, &trimmed); err != nil {
		t.Fatal(err)
	}
	var got []string
	for version := range trimmed.Versions {
		got = append(got, version)
	}
	sort.Strings(got)
	want := []string{"1.1.0", "1.2.0", "1.3.0", "2.0.0-rc.1", "2.0.0-rc.2"}
	if !slices.Equal(got, want) {
		t.Errorf("versions kept = %v, want %v", got, want)
	}
	if trimmed.DistTags["latest"] != "1.3.0" {
		t.Errorf("latest = %q, want 1.3.0 (moved to the highest recorded release)",
			trimmed.DistTags["latest"])
	}
	if _, ok := trimmed.DistTags["next"]; ok {
		t.Errorf("next still points at trimmed version %s", trimmed.DistTags["next"])
	}
}

func TestAbbreviateDropsFullFields(t *testing.T) {
	doc := fakePackument(t, "1.0.0", "1.0.0")
	if err := doc.abbreviate(); err != nil {
		t.Fatal(err)
	}
	for _, field := range []string{"_id", "time"} {
		if _, ok := doc.fields[field]; ok {
			t.Errorf("top-level field %s kept", field)
		}
	}
	var meta map[string]any
	if err := json.Unmarshal(doc.versions["1.0.0"], &meta); err != nil {
		t.Fatal(err)
	}
	for _, field := range []string{"description", "scripts", "hasInstallScript"} {
		if _, ok := meta[field]; ok {
			t.Errorf("version field %s kept", field)
		}
	}
	for _, field := range []string{"name", "version", "dist"} {
		if _, ok := meta[field]; !ok {
			t.Errorf("version field %s dropped", field)
		}
	}
}

func TestParseRoots(t *testing.T) {
	roots, err := parseRoots([]string{"lodash@4.17.21", "@types/ms@0.7.34"})
	if err != nil {
		t.Fatal(err)
	}
	want := []spec{{name: "lodash", version: "4.17.21"}, {name: "@types/ms", version: "0.7.34"}}
	if !slices.Equal(roots, want) {
		t.Errorf("parseRoots = %v, want %v", roots, want)
	}
	for _, bad := range []string{"lodash", "@types/ms", "lodash@"} {
		if _, err := parseRoots([]string{bad}); err == nil {
			t.Errorf("parseRoots(%q) returned no error", bad)
		}
	}
}
