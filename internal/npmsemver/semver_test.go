package npmsemver

import "testing"

func TestRangeCheck(t *testing.T) {
	tests := []struct {
		spec       string
		prerelease bool
		version    string
		want       bool
	}{
		{"^4.17.0", false, "4.17.21", true},
		{"^4.17.0", false, "5.0.0", false},
		{"~1.2.5", false, "1.2.8", true},
		{"~1.2.5", false, "1.3.0", false},
		{"1.x", false, "1.9.9", true},
		{"*", false, "0.0.1", true},
		{"", false, "3.0.0", true},
		{">=1.0.0 <2.0.0", false, "1.5.0", true},
		{"^1.0.0 || ^2.0.0", false, "2.1.0", true},
		{"1.2.3 - 2.3.4", false, "2.3.4", true},
		{"1.2.3 - 2.3.4", false, "2.3.5", false},
		{"^1.0.0", false, "1.1.0-beta.1", false},
		{"^1.1.0-beta.0", false, "1.1.0-beta.1", true},
		{"^1.1.0-beta.0", false, "1.2.0-beta.1", false},
		{"^1.0.0", true, "1.1.0-beta.1", true},
	}
	for _, tt := range tests {
		r, err := ParseRange(tt.spec, tt.prerelease)
		if err != nil {
			t.Errorf("ParseRange(%q): %v", tt.spec, err)
			continue
		}
		v, err := ParseVersion(tt.version)
		if err != nil {
			t.Fatalf("ParseVersion(%q): %v", tt.version, err)
		}
		if got := r.Check(v); got != tt.want {
			t.Errorf("%q (prerelease %v) matches %s = %v, want %v", tt.spec, tt.prerelease, tt.version, got, tt.want)
		}
	}
}

func TestParseRangeInvalid(t *testing.T) {
	for _, spec := range []string{"^^1", "next", ">=1.0.0 <", "1.2.3 -"} {
		if _, err := ParseRange(spec, false); err == nil {
			t.Errorf("ParseRange(%q) succeeded, want an error", spec)
		}
	}
}

func TestIsExact(t *testing.T) {
	tests := map[string]bool{"4.17.21": true, "v1.0.0": true, "1.0.0-rc.1": true, "^1.0.0": false, "latest": false, "1.x": false}
	for spec, want := range tests {
		if got := IsExact(spec); got != want {
			t.Errorf("IsExact(%q) = %v, want %v", spec, got, want)
		}
	}
}
