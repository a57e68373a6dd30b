// Package lockfile reads npm lockfiles (package-lock.json and
// npm-shrinkwrap.json versions 1 to 3, yarn.lock of yarn classic and of
// yarn berry, and pnpm-lock.yaml versions 6 and 9) into a flat list of
// locked packages, and rewrites their resolved URLs without touching any
// other byte, so that pinned lockfiles diff cleanly.
//
// yarn berry and pnpm lockfiles name no URL for most registry packages:
// the client fetches them from the registry it is configured with. Only
// the URLs they do contain (tarball URLs, pnpm's tarball: fields and
// berry's __archiveUrl parameters) can be rewritten.
//
// bun lockfiles are recognized and rejected with ErrUnsupported. The
// package reads and returns bytes; writing files back is up to the caller.
package lockfile

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
)

// Format is a lockfile format and version.
type Format string

// Lockfile formats. Parse returns only the supported ones; the others name
// the format in ErrUnsupported errors.
const (
	PackageLockV1 Format = "package-lock-v1" // npm 5 and 6
	PackageLockV2 Format = "package-lock-v2" // npm 7 and 8, readable by npm 6
	PackageLockV3 Format = "package-lock-v3" // npm 9 and later
	YarnV1        Format = "yarn-v1"         // yarn classic, 1.x
	YarnBerry     Format = "yarn-berry"      // yarn 2 and later, any __metadata version
	PNPMV6        Format = "pnpm-v6"         // pnpm-lock.yaml lockfileVersion 6.x, pnpm 8
	PNPMV9        Format = "pnpm-v9"         // pnpm-lock.yaml lockfileVersion 9.0, pnpm 9 and later

	Bun Format = "bun" // bun.lock and bun.lockb; not supported yet
)

// ErrUnsupported is returned, wrapped with the file name, for lockfile
// formats that are recognized but not read yet.
var ErrUnsupported = errors.New("not supported yet")

// Source is the origin of a locked package.
type Source string

// Sources of locked packages. Only SourceRegistry entries are tarballs that
// an npm registry serves and a mirror can take over.
const (
	// SourceRegistry is a tarball in a registry's /<name>/-/<file>.tgz
	// layout, or a package-lock entry whose resolved URL npm left out.
	SourceRegistry Source = "registry"
	// SourceTarball is a tarball at any other http(s) URL.
	SourceTarball Source = "tarball"
	// SourceGit is a git repository, including GitHub shorthands.
	SourceGit Source = "git"
	// SourceFile is a local tarball or folder named with file:.
	SourceFile Source = "file"
	// SourceLink is a symbolic link to a local folder (link: true in
	// package-lock, link: in yarn.lock).
	SourceLink Source = "link"
	// SourceWorkspace is a workspace folder of the project itself.
	SourceWorkspace Source = "workspace"
	// SourcePatch is a yarn berry patch: applied to another locked
	// package, which is an entry of its own.
	SourcePatch Source = "patch"
)

// Entry is one locked package.
type Entry struct {
	// Name is the real package name, also when the package is installed
	// under an alias.
	Name string
	// Version is the locked version. In package-lock v1, git and file
	// entries carry the spec npm wrote instead, such as file:vendor/x.tgz.
	Version string
	// Resolved is the URL or path the package was fetched from. For
	// yarn.lock it lacks the #<sha1> fragment, which is in ResolvedHash. It
	// is empty when the lockfile has no resolved field for the entry.
	Resolved string
	// Integrity is the Subresource Integrity string, such as sha512-...
	// yarn berry lockfiles have none.
	Integrity string
	// Checksum is yarn berry's checksum, such as 10c0/<sha512 hex>: a hash
	// of the zip archive yarn builds from the tarball in its cache. It
	// cannot be compared with a tarball.
	Checksum string
	// Line is the 1-based line of the resolved field, or of the entry's
	// key when it has none.
	Line int

	Source Source
	// Dev, Optional and DevOptional are npm's flags for packages needed
	// only by dev dependencies, only by optional dependencies, or only by
	// either. yarn.lock does not record them.
	Dev, Optional, DevOptional bool
	// Peer marks packages present only as peer dependencies (package-lock v3).
	Peer bool
	// Bundled marks packages shipped inside their parent's tarball; they
	// have no tarball of their own.
	Bundled bool

	// Alias is the name the package is installed under when it differs
	// from Name, as in "string-width-cjs": "npm:string-width@^4.2.0".
	Alias string
	// Path is the package-lock key, such as node_modules/a/node_modules/b
	// (package-lock v1 entries get the same form), or the pnpm-lock.yaml
	// packages key, such as /chalk@4.1.2. Empty for yarn.lock.
	Path string
	// Selectors are the specs of a yarn.lock entry's key, such as
	// chalk@^4.1.0 or, in yarn berry, chalk@npm:^4.1.0, unquoted. Empty for
	// package-lock and pnpm-lock.yaml.
	Selectors []string
	// ResolvedHash is the hex SHA-1 that yarn appends to resolved URLs.
	ResolvedHash string
}

// Lockfile is a parsed lockfile.
type Lockfile struct {
	Path    string  // the file name given to Parse or Load
	Format  Format  // one of the supported formats
	Entries []Entry // in file order; v2 entries found only in "dependencies" come last

	// spans are the resolved values in the parsed bytes, for Rewrite.
	spans []span
	size  int
}

// span is one resolved value in the lockfile text. raw is the text at
// data[start:end], including quotes when the value is quoted, and value its
// decoded content. In yarn berry resolutions the URL sits between prefix
// and suffix, query-escaped when escape is set.
type span struct {
	entry          int
	start, end     int
	raw, value     string
	quoted, single bool // single: a single-quoted YAML scalar
	prefix, suffix string
	escape         bool
}

// Load reads and parses the lockfile at path.
func Load(path string) (*Lockfile, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read lockfile: %w", err)
	}
	return Parse(path, data)
}

// Parse parses a lockfile. The format is detected from the content and
// the file name; path is used for detection and in error messages.
func Parse(path string, data []byte) (*Lockfile, error) {
	format, err := detect(path, data)
	if err != nil {
		return nil, err
	}
	lf := &Lockfile{Path: path, Format: format, size: len(data)}
	p := &parser{lf: lf, data: data, lines: newLineIndex(data)}
	switch format {
	case YarnV1:
		err = p.parseYarn()
	case YarnBerry:
		err = p.parseBerry()
	case pnpmLock:
		err = p.parsePNPM()
	default:
		err = p.parsePackageLock()
	}
	if err != nil {
		return nil, err
	}
	return lf, nil
}

// parser holds what both lockfile parsers share.
type parser struct {
	lf    *Lockfile
	data  []byte
	lines lineIndex
}

// errorf returns an error naming the file and, when known, the line.
func (p *parser) errorf(line int, format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	if line > 0 {
		return fmt.Errorf("%s:%d: %s", p.lf.Path, line, msg)
	}
	return fmt.Errorf("%s: %s", p.lf.Path, msg)
}

// lineIndex maps byte offsets to 1-based line numbers.
type lineIndex []int // offsets of the '\n' bytes

func newLineIndex(data []byte) lineIndex {
	var idx lineIndex
	for i, c := range data {
		if c == '\n' {
			idx = append(idx, i)
		}
	}
	return idx
}

func (idx lineIndex) line(offset int) int {
	return sort.SearchInts(idx, offset) + 1
}

// packageLock and pnpmLock are the formats that detect returns for JSON
// lockfiles and pnpm-lock.yaml, and their parsers replace them with the
// version from lockfileVersion.
const (
	packageLock Format = "package-lock"
	pnpmLock    Format = "pnpm"
)

// unsupported returns the error for a recognized but unsupported format.
func unsupported(path string, format Format, formatName string) (Format, error) {
	return format, fmt.Errorf("%s: %s lockfiles are %w: use package-lock.json, yarn.lock or "+
		"pnpm-lock.yaml", path, formatName, ErrUnsupported)
}

// detect returns the format of a lockfile from its name and content.
func detect(path string, data []byte) (Format, error) {
	switch filepath.Base(path) {
	case "pnpm-lock.yaml":
		return pnpmLock, nil
	case "bun.lock", "bun.lockb":
		return unsupported(path, Bun, "bun")
	}
	text := skipSpace(data)
	switch {
	case len(text) > 0 && text[0] == '{':
		return packageLock, nil
	case hasLine(data, "__metadata:"):
		return YarnBerry, nil
	case hasLine(data, "# yarn lockfile v1"):
		return YarnV1, nil
	case bytes.HasPrefix(text, []byte("lockfileVersion:")),
		bytes.HasPrefix(text, []byte("---")) && hasPrefixLine(data, "lockfileVersion:"):
		return pnpmLock, nil
	case filepath.Base(path) == "yarn.lock":
		return YarnV1, nil
	}
	return "", fmt.Errorf("%s: unknown lockfile format: expected package-lock.json, "+
		"npm-shrinkwrap.json, yarn.lock or pnpm-lock.yaml", path)
}

// skipSpace returns data without leading whitespace and byte order mark.
func skipSpace(data []byte) []byte {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	return bytes.TrimLeft(data, " \t\r\n")
}

// hasLine reports whether data has a line that is exactly line, ignoring a
// trailing carriage return.
func hasLine(data []byte, line string) bool {
	for rest := data; len(rest) > 0; {
		var current []byte
		current, rest, _ = bytes.Cut(rest, []byte("\n"))
		if string(bytes.TrimSuffix(current, []byte("\r"))) == line {
			return true
		}
	}
	return false
}

// hasPrefixLine reports whether data has a line that starts with prefix.
func hasPrefixLine(data []byte, prefix string) bool {
	return bytes.HasPrefix(data, []byte(prefix)) || bytes.Contains(data, []byte("\n"+prefix))
}
