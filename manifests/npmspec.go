package manifests

import (
	"fmt"
	"strings"

	"github.com/sluice-dev/sluice/internal/npmsemver"
)

// VersionKind is the kind of an npm version spec: exact version, range or dist-tag.
type VersionKind int

// Kinds of npm version specs.
const (
	// VersionInvalid is a spec that is neither a version, a range nor a
	// valid dist-tag.
	VersionInvalid VersionKind = iota
	// VersionExact is one semantic version such as 4.17.21.
	VersionExact
	// VersionRange is a range such as ^1.15.0 or >=5.0.0 <6.
	VersionRange
	// VersionTag is a dist-tag such as latest or next.
	VersionTag
)

// String returns the kind in lowercase words.
func (k VersionKind) String() string {
	switch k {
	case VersionExact:
		return "exact version"
	case VersionRange:
		return "version range"
	case VersionTag:
		return "dist-tag"
	}
	return "invalid version"
}

// ClassifyVersion returns the kind of the npm version spec s, parsed as
// the resolver parses it (internal/npmsemver). Like npm, a string is a
// dist-tag when it is not a range and every character is one that
// encodeURIComponent leaves as it is.
func ClassifyVersion(s string) VersionKind {
	if strings.TrimSpace(s) == "" {
		return VersionInvalid
	}
	if npmsemver.IsExact(s) {
		return VersionExact
	}
	if _, err := npmsemver.ParseRange(s, false); err == nil {
		return VersionRange
	}
	if isURIUnreserved(s) {
		return VersionTag
	}
	return VersionInvalid
}

// versionProblem explains why s is not a valid version spec.
func versionProblem(s string) string {
	return fmt.Sprintf("invalid npm version range %q: use an exact version, a range such as "+
		"^1.2.0, or a dist-tag", s)
}

// splitPackageSpec splits the shorthand "name@spec" at the first '@' that
// does not start a scope. The spec is empty when there is none.
func splitPackageSpec(s string) (name, spec string) {
	if len(s) < 2 {
		return s, ""
	}
	i := strings.IndexByte(s[1:], '@')
	if i < 0 {
		return s, ""
	}
	return s[:i+1], s[i+2:]
}

// maxPackageNameLength is the npm registry's limit on package names.
const maxPackageNameLength = 214

// checkPackageName returns what is wrong with an npm package name, or ""
// when it is valid. The rules are those npm applies to new packages
// (validate-npm-package-name, "validForNewPackages").
//
// NOTE: npm still serves old packages whose names break the new rules,
// such as JSONStream with its capitals. A manifest can request those only
// through a lockfile, not by name.
func checkPackageName(name string) string {
	switch {
	case name == "":
		return "empty name"
	case len(name) > maxPackageNameLength:
		return fmt.Sprintf("%d characters long, npm allows at most %d",
			len(name), maxPackageNameLength)
	case strings.TrimSpace(name) != name:
		return "remove the leading or trailing spaces"
	case strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_"):
		return "names must not start with '.' or '_'"
	case strings.ToLower(name) != name:
		return "npm package names are lowercase"
	case name == "node_modules" || name == "favicon.ico":
		return "the name is reserved by npm"
	}
	pkg := name
	if strings.HasPrefix(name, "@") {
		scope, rest, ok := strings.Cut(name[1:], "/")
		if !ok || scope == "" || rest == "" || strings.Contains(rest, "/") {
			return "scoped names have the form @scope/name"
		}
		if !isURIUnreserved(scope) {
			return "the scope may contain only URL-safe characters: a-z, 0-9, '-', '.', '_', '~'"
		}
		if strings.HasPrefix(rest, ".") || strings.HasPrefix(rest, "_") {
			return "names must not start with '.' or '_'"
		}
		pkg = rest
	}
	if strings.ContainsAny(pkg, "~'!()*") {
		return "names must not contain any of ~'!()*"
	}
	if !isURIUnreserved(pkg) {
		return "names may contain only URL-safe characters: a-z, 0-9, '-', '.' and '_'"
	}
	return ""
}

// isURIUnreserved reports whether encodeURIComponent would leave s as it
// is: ASCII letters, digits and -_.!~*'().
func isURIUnreserved(s string) bool {
	for _, c := range []byte(s) {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("-_.!~*'()", c) >= 0:
		default:
			return false
		}
	}
	return true
}
