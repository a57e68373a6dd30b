package oci

import (
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/manifests"
)

func TestFilterTags(t *testing.T) {
	tags := []string{"latest", "1.29.0", "1.30.0", "1.30.2", "v1.31.0", "1.32.0-rc.1", "2.0.0", "edge",
		"sha256-" + sixtyFourHex + ".sig", "3.20"}
	tests := []struct {
		name   string
		filter manifests.TagFilter
		want   []string
	}{
		{"semver range", manifests.TagFilter{Semver: ">=1.30.0 <2"}, []string{"v1.31.0", "1.30.2", "1.30.0"}},
		{"latest two", manifests.TagFilter{Latest: 2}, []string{"3.20", "2.0.0"}},
		{"range and latest", manifests.TagFilter{Semver: "^1", Latest: 1}, []string{"v1.31.0"}},
		{"regex in full", manifests.TagFilter{Regex: `1\.30\.\d`}, []string{"1.30.0", "1.30.2"}},
		{"regex never selects cosign tags", manifests.TagFilter{Regex: `.*`},
			[]string{"1.29.0", "1.30.0", "1.30.2", "1.32.0-rc.1", "2.0.0", "3.20", "edge", "latest", "v1.31.0"}},
		{"prerelease needs a prerelease range", manifests.TagFilter{Semver: ">=1.32.0-0 <2"},
			[]string{"1.32.0-rc.1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := FilterTags(tags, &tt.filter)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("FilterTags = %v, want %v", got, tt.want)
			}
		})
	}
}

const sixtyFourHex = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		value string
		want  time.Duration
		ok    bool
	}{
		{"3", 3 * time.Second, true},
		{"0", 0, true},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second, true},
		{now.Add(-time.Minute).Format(http.TimeFormat), 0, true},
		{"", 0, false},
		{"soon", 0, false},
		{"-4", 0, false},
	}
	for _, tt := range tests {
		got, ok := parseRetryAfter(tt.value, now)
		if got != tt.want || ok != tt.ok {
			t.Errorf("parseRetryAfter(%q) = %v, %v; want %v, %v", tt.value, got, ok, tt.want, tt.ok)
		}
	}
}
