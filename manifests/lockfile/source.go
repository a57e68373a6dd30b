package lockfile

import (
	"net/url"
	"strings"
)

// gitPrefixes start the specs and resolved values of git dependencies, as
// npm and yarn write them.
var gitPrefixes = []string{
	"git+", "git:", "git@", "github:", "gitlab:", "bitbucket:", "gist:",
}

// isGit reports whether a spec or resolved value names a git repository.
// It also accepts the GitHub shorthand user/repo and user/repo#ref.
func isGit(s string) bool {
	for _, prefix := range gitPrefixes {
		if strings.HasPrefix(s, prefix) {
			return true
		}
	}
	if strings.HasPrefix(s, "@") || strings.Contains(s, ":") {
		return false
	}
	user, repo, ok := strings.Cut(s, "/")
	return ok && user != "" && repo != "" && !strings.Contains(repo, "/")
}

func isHTTP(s string) bool {
	return strings.HasPrefix(s, "https://") || strings.HasPrefix(s, "http://")
}

// isRegistryTarball reports whether u has the path layout that npm
// registries use for tarballs, /<name>/-/<file>.tgz, under any prefix
// (Verdaccio, Nexus and Artifactory keep it too).
//
// NOTE: registries with another layout, such as GitHub Packages, come out
// as SourceTarball.
func isRegistryTarball(u string) bool {
	parsed, err := url.Parse(u)
	if err != nil || !isHTTP(u) {
		return false
	}
	return strings.Contains(parsed.Path, "/-/") && strings.HasSuffix(parsed.Path, ".tgz")
}

// sourceOf classifies a package-lock entry by its resolved URL and, where
// the URL is missing as in v1 git and file entries, by its version field.
func sourceOf(resolved, version string) Source {
	s := resolved
	if s == "" {
		s = version
	}
	switch {
	case strings.HasPrefix(s, "file:"):
		return SourceFile
	case strings.HasPrefix(s, "link:"):
		return SourceLink
	case isHTTP(s):
		if isRegistryTarball(s) {
			return SourceRegistry
		}
		return SourceTarball
	case isGit(s):
		return SourceGit
	case resolved == "":
		// npm leaves out resolved for registry packages when
		// omit-lockfile-registry-resolved is set.
		return SourceRegistry
	case strings.Contains(s, "://"):
		return SourceTarball
	}
	return SourceFile
}

// splitSpec splits "name@spec" at the first '@' that does not start a
// scope.
func splitSpec(s string) (name, spec string) {
	if len(s) < 2 {
		return s, ""
	}
	i := strings.IndexByte(s[1:], '@')
	if i < 0 {
		return s, ""
	}
	return s[:i+1], s[i+2:]
}

// unalias returns the real name and spec of an npm alias spec such as
// "npm:string-width@^4.2.0", and ok false for any other spec.
func unalias(spec string) (name, realSpec string, ok bool) {
	rest, ok := strings.CutPrefix(spec, "npm:")
	if !ok {
		return "", "", false
	}
	name, realSpec = splitSpec(rest)
	return name, realSpec, name != ""
}

// nameFromPath returns the package name at the end of a package-lock key
// such as node_modules/a/node_modules/@scope/b.
func nameFromPath(path string) string {
	const marker = "node_modules/"
	i := strings.LastIndex(path, marker)
	if i < 0 {
		return ""
	}
	return path[i+len(marker):]
}
