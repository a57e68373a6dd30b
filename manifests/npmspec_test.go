package manifests

import (
	"strings"
	"testing"
)

func TestClassifyVersion(t *testing.T) {
	tests := []struct {
		spec string
		want VersionKind
	}{
		{"4.17.21", VersionExact},
		{"19.0.0-rc.1", VersionExact},
		{"1.0.0+build.5", VersionExact},
		{"^1.15.0", VersionRange},
		{"~1.2", VersionRange},
		{">=5.0.0", VersionRange},
		{">=1.2.3 <2.0.0", VersionRange},
		{"^1 || ^2", VersionRange},
		{"1.x", VersionRange},
		{"*", VersionRange},
		{"v1.2.3", VersionExact},
		{"latest", VersionTag},
		{"next", VersionTag},
		{"canary", VersionTag},
		{"beta-3", VersionTag},
		{"^^1", VersionInvalid},
		{"1.0.0 - 2.0.0", VersionRange},
		{"next/stable", VersionInvalid},
		{"", VersionInvalid},
		{"  ", VersionInvalid},
		{"npm:lodash@4", VersionInvalid},
	}
	for _, tt := range tests {
		if got := ClassifyVersion(tt.spec); got != tt.want {
			t.Errorf("ClassifyVersion(%q) = %v, want %v", tt.spec, got, tt.want)
		}
	}
}

func TestCheckPackageName(t *testing.T) {
	tests := []struct {
		name  string
		valid bool
	}{
		{"lodash", true},
		{"left-pad", true},
		{"@backstage/core-app-api", true},
		{"@types/node", true},
		{"lodash.merge", true},
		{"a_b", true},
		{"123", true},
		{"@a~b/c", true},
		{"", false},
		{"Lodash", false},
		{".hidden", false},
		{"_private", false},
		{"@scope/_private", false},
		{"@scope", false},
		{"@/name", false},
		{"@scope/", false},
		{"@s/a/b", false},
		{"a b", false},
		{" lodash", false},
		{"café", false},
		{"a:b", false},
		{"it's", false},
		{"wow!", false},
		{"node_modules", false},
		{"favicon.ico", false},
		{strings.Repeat("a", 215), false},
	}
	for _, tt := range tests {
		problem := checkPackageName(tt.name)
		if (problem == "") != tt.valid {
			t.Errorf("checkPackageName(%q) = %q, want valid %v", tt.name, problem, tt.valid)
		}
	}
}

func TestSplitPackageSpec(t *testing.T) {
	tests := []struct{ in, name, spec string }{
		{"lodash@4.17.21", "lodash", "4.17.21"},
		{"lodash", "lodash", ""},
		{"@types/node@^20", "@types/node", "^20"},
		{"@types/node", "@types/node", ""},
		{"@", "@", ""},
		{"a@b@c", "a", "b@c"},
	}
	for _, tt := range tests {
		name, spec := splitPackageSpec(tt.in)
		if name != tt.name || spec != tt.spec {
			t.Errorf("splitPackageSpec(%q) = %q, %q, want %q, %q", tt.in, name, spec, tt.name, tt.spec)
		}
	}
}
