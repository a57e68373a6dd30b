// Package npmsemver parses npm version specifiers with npm's semantics:
// exact versions, ranges (caret, tilde, x-ranges, comparators joined by
// spaces or ||, hyphen ranges) and the rule that a range matches
// prereleases only on its own major.minor.patch unless prereleases are
// asked for. It wraps github.com/aquasecurity/go-npm-version, adding the
// hyphen ranges that library does not parse.
package npmsemver

import (
	"fmt"
	"regexp"
	"strings"

	npmver "github.com/aquasecurity/go-npm-version/pkg"
)

// Version is a parsed npm package version.
type Version = npmver.Version

// Range is a parsed npm version range.
type Range struct {
	spec        string
	constraints npmver.Constraints
}

// hyphenRange matches "1.2.3 - 2.3.4", where npm requires spaces around the
// hyphen.
var hyphenRange = regexp.MustCompile(`^\s*(\S+)\s+-\s+(\S+)\s*$`)

// exactVersion matches a plain version with an optional leading "v" or "=",
// which npm treats as that exact version.
var exactVersion = regexp.MustCompile(`^\s*[=v]*\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?\s*$`)

// ParseVersion parses an exact version such as "4.17.21" or "1.0.0-rc.1".
func ParseVersion(s string) (Version, error) {
	return npmver.NewVersion(s)
}

// IsExact reports whether spec names one exact version.
func IsExact(spec string) bool {
	return exactVersion.MatchString(spec)
}

// ParseRange parses an npm range. An empty spec means any version, as in
// npm. When prerelease is true the range also matches prereleases of other
// versions (npm's includePrerelease).
func ParseRange(spec string, prerelease bool) (*Range, error) {
	parts := strings.Split(spec, "||")
	for i, p := range parts {
		p = strings.TrimSpace(p)
		if m := hyphenRange.FindStringSubmatch(p); m != nil {
			p = ">=" + m[1] + " <=" + m[2]
		}
		if p == "" || p == "x" || p == "X" {
			p = "*"
		}
		parts[i] = p
	}
	var opts []npmver.ConstraintOption
	if prerelease {
		opts = append(opts, npmver.WithPreRelease(true))
	}
	c, err := npmver.NewConstraints(strings.Join(parts, " || "), opts...)
	if err != nil {
		return nil, fmt.Errorf("invalid npm version range %q", spec)
	}
	return &Range{spec: spec, constraints: c}, nil
}

// Check reports whether v satisfies the range.
func (r *Range) Check(v Version) bool { return r.constraints.Check(v) }

// String returns the range as written.
func (r *Range) String() string { return r.spec }
