package lockfile

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

// yamlFixtures are the yarn berry and pnpm lockfiles in testdata (see
// testdata/README.md). rewritten is the number of entries whose URL the
// mirror rewrite changes.
var yamlFixtures = []struct {
	path      string
	format    Format
	entries   int
	rewritten int
}{
	{"testdata/yarn-berry/yarn.lock", YarnBerry, 55, 0},
	{"testdata/yarn-berry-urls/yarn.lock", YarnBerry, 10, 2},
	{"testdata/pnpm-v6/pnpm-lock.yaml", PNPMV6, 31, 0},
	{"testdata/pnpm-v9/pnpm-lock.yaml", PNPMV9, 31, 0},
	{"testdata/pnpm-v9-urls/pnpm-lock.yaml", PNPMV9, 10, 3},
}

// findBy returns the first entry of lf with the given name and version.
func findBy(t *testing.T, lf *Lockfile, name, version string) Entry {
	t.Helper()
	for _, e := range lf.Entries {
		if e.Name == name && e.Version == version {
			return e
		}
	}
	t.Fatalf("%s: no entry %s@%s", lf.Path, name, version)
	return Entry{}
}

func TestParseYAMLFixtures(t *testing.T) {
	for _, f := range yamlFixtures {
		t.Run(f.path, func(t *testing.T) {
			lf, _ := loadFixture(t, f.path)
			if lf.Format != f.format {
				t.Errorf("format = %s, want %s", lf.Format, f.format)
			}
			if len(lf.Entries) != f.entries {
				t.Errorf("%d entries, want %d", len(lf.Entries), f.entries)
			}
			for _, e := range lf.Entries {
				if e.Name == "" || e.Version == "" || e.Line == 0 || e.Source == "" {
					t.Errorf("incomplete entry %+v", e)
				}
			}
		})
	}
}

func TestParseBerryEntries(t *testing.T) {
	lf, _ := loadFixture(t, "testdata/yarn-berry/yarn.lock")
	width := findBy(t, lf, "string-width", "4.2.3")
	if width.Alias != "string-width-cjs" || width.Source != SourceRegistry || width.Resolved != "" {
		t.Errorf("alias entry = %+v", width)
	}
	if !strings.HasPrefix(width.Checksum, "10c0/1e525e92") || width.Integrity != "" {
		t.Errorf("checksum %q, integrity %q", width.Checksum, width.Integrity)
	}
	if width.Line != 412 {
		t.Errorf("line = %d, want 412, the resolution line", width.Line)
	}

	tests := []struct {
		name, version string
		source        Source
	}{
		{"fsevents", "2.3.3", SourceRegistry},
		{"left-pad", "1.3.0", SourceFile},
		{"@fixture/util", "0.0.0-use.local", SourceWorkspace},
		{"sluice-lockfile-fixture", "0.0.0-use.local", SourceWorkspace},
	}
	for _, tt := range tests {
		if e := findBy(t, lf, tt.name, tt.version); e.Source != tt.source {
			t.Errorf("%s@%s source = %s, want %s", tt.name, tt.version, e.Source, tt.source)
		}
	}
	patches := 0
	for _, e := range lf.Entries {
		if e.Source == SourcePatch {
			patches++
			if e.Name != "fsevents" || e.Version != "2.3.3" {
				t.Errorf("patch entry %s@%s, want fsevents@2.3.3", e.Name, e.Version)
			}
		}
	}
	if patches != 1 {
		t.Errorf("%d patch entries, want 1", patches)
	}
}

func TestParseBerryURLs(t *testing.T) {
	lf, _ := loadFixture(t, "testdata/yarn-berry-urls/yarn.lock")
	tests := []struct {
		name, version string
		source        Source
		resolved      string
	}{
		{"is-number", "7.0.0", SourceRegistry,
			"https://registry.example.com/is-number/-/is-number-7.0.0.tgz"},
		{"left-pad", "1.3.0", SourceTarball, "https://files.example.com/left-pad-1.3.0.tgz"},
		{"lodash", "4.17.21", SourceRegistry,
			"https://npm.example.com/api/npm/npm/lodash/-/lodash-4.17.21.tgz"},
		{"ms", "2.1.3", SourceRegistry, ""},
		{"my-lib", "1.0.0", SourceGit,
			"https://github.com/example/my-lib.git#commit=6f1c2d3e4b5a69788796a5b4c3d2e1f00112233"},
		{"tools", "0.0.0-use.local", SourceLink, ""},
		{"typescript", "5.4.5", SourceRegistry, ""},
	}
	for _, tt := range tests {
		e := findBy(t, lf, tt.name, tt.version)
		if e.Source != tt.source {
			t.Errorf("%s source = %s, want %s", tt.name, e.Source, tt.source)
		}
		if e.Resolved != tt.resolved {
			t.Errorf("%s resolved = %q, want %q", tt.name, e.Resolved, tt.resolved)
		}
	}
}

func TestParsePNPMEntries(t *testing.T) {
	for _, path := range []string{"testdata/pnpm-v6/pnpm-lock.yaml", "testdata/pnpm-v9/pnpm-lock.yaml"} {
		lf, _ := loadFixture(t, path)
		width := findBy(t, lf, "string-width", "4.2.3")
		if width.Integrity != widthSHA512 || width.Source != SourceRegistry || width.Resolved != "" {
			t.Errorf("%s: string-width = %+v", path, width)
		}
		pad := findBy(t, lf, "left-pad", "1.3.0")
		if pad.Source != SourceFile {
			t.Errorf("%s: left-pad source = %s, want file", path, pad.Source)
		}
	}
	lf, _ := loadFixture(t, "testdata/pnpm-v6/pnpm-lock.yaml")
	if ms := findBy(t, lf, "ms", "2.1.3"); !ms.Dev {
		t.Errorf("pnpm v6 ms@2.1.3 is not dev: %+v", ms)
	}

	lf, _ = loadFixture(t, "testdata/pnpm-v9-urls/pnpm-lock.yaml")
	tests := []struct {
		name, version string
		source        Source
		resolved      string
		line          int
	}{
		{"@corp/util", "1.0.0", SourceRegistry, "https://npm.corp.example/@corp/util/-/util-1.0.0.tgz", 36},
		{"is-number", "7.0.0", SourceTarball, "https://files.example.com/is-number-7.0.0.tgz", 39},
		// A registry package whose registry keeps tarballs at other paths.
		{"gh-hosted", "1.0.0", SourceRegistry,
			"https://npm.pkg.github.com/download/@corp/gh-hosted/1.0.0/0123abcd", 51},
		{"other", "2.0.0", SourceGit,
			"https://git.example.com/other.git#0a1b2c3d4e5f60718293a4b5c6d7e8f901234567", 56},
		{"quoted", "1.0.0", SourceRegistry, "https://npm.corp.example/quoted/-/quoted-1.0.0.tgz", 61},
		{"use-sync-external-store", "1.2.0", SourceRegistry, "", 67},
	}
	for _, tt := range tests {
		e := findBy(t, lf, tt.name, tt.version)
		if e.Source != tt.source || e.Resolved != tt.resolved || e.Line != tt.line {
			t.Errorf("%s = source %s resolved %q line %d, want %s %q %d", tt.name, e.Source,
				e.Resolved, e.Line, tt.source, tt.resolved, tt.line)
		}
	}
}

func TestRewriteYAMLGolden(t *testing.T) {
	for _, f := range yamlFixtures {
		t.Run(f.path, func(t *testing.T) { checkRewriteGolden(t, f.path) })
	}
}

// TestRewriteYAMLChangesOnlyURLs checks that only the lines holding a
// rewritten URL change, that the rewrite reads back with the mirror URLs,
// and that a second rewrite changes nothing.
func TestRewriteYAMLChangesOnlyURLs(t *testing.T) {
	for _, f := range yamlFixtures {
		t.Run(f.path, func(t *testing.T) {
			lf, data := loadFixture(t, f.path)
			if same, err := Rewrite(lf, data, identity); err != nil || !bytes.Equal(same, data) {
				t.Fatalf("identity rewrite changed the bytes (error %v)", err)
			}
			out, err := Rewrite(lf, data, mirrorURL)
			if err != nil {
				t.Fatal(err)
			}
			lines := changedLines(t, data, out)
			for line, text := range lines {
				if !strings.Contains(text, "127.0.0.1:4873/") &&
					!strings.Contains(text, "127.0.0.1%3A4873%2F") {
					t.Errorf("line %d changed to %q", line, text)
				}
			}
			if len(lines) != f.rewritten {
				t.Errorf("%d lines changed, want %d", len(lines), f.rewritten)
			}

			again, err := Parse(f.path, out)
			if err != nil {
				t.Fatalf("parse rewritten lockfile: %v", err)
			}
			for i, e := range lf.Entries {
				want, ok := mirrorURL(e)
				if ok && e.Resolved != "" && again.Entries[i].Resolved != want {
					t.Errorf("%s resolved = %q, want %q", e.Name, again.Entries[i].Resolved, want)
				}
			}
			twice, err := Rewrite(again, out, mirrorURL)
			if err != nil || !bytes.Equal(twice, out) {
				t.Errorf("second rewrite changed the bytes (error %v)", err)
			}
		})
	}
}

// TestRewriteYAMLQuoting checks that a new URL that plain YAML cannot hold
// is quoted, and that quoted values keep their quotes.
func TestRewriteYAMLQuoting(t *testing.T) {
	tests := []struct {
		name, file, data, url, want string
	}{
		{"pnpm plain to quoted", "pnpm-lock.yaml",
			"lockfileVersion: '9.0'\npackages:\n  a@1.0.0:\n    resolution: {tarball: https://r/a/-/a-1.0.0.tgz}\n",
			"https://m/a/-/a,1.tgz",
			"    resolution: {tarball: 'https://m/a/-/a,1.tgz'}\n"},
		{"pnpm double quotes kept", "pnpm-lock.yaml",
			"lockfileVersion: '9.0'\npackages:\n  a@1.0.0:\n    resolution: {tarball: \"https://r/a/-/a-1.0.0.tgz\"}\n",
			"https://m/a/-/a-1.0.0.tgz",
			"    resolution: {tarball: \"https://m/a/-/a-1.0.0.tgz\"}\n"},
		{"pnpm block mapping", "pnpm-lock.yaml",
			"lockfileVersion: '6.0'\npackages:\n  /a@1.0.0:\n    resolution:\n      tarball: https://r/a/-/a-1.0.0.tgz # x\n",
			"https://m/a/-/a-1.0.0.tgz",
			"      tarball: https://m/a/-/a-1.0.0.tgz # x\n"},
		{"berry plain stays plain", "yarn.lock",
			"__metadata:\n  version: 8\n\nt@https://e/t.tgz:\n  resolution: t@https://e/t.tgz\n",
			"https://m/t/-/t-1.0.0.tgz",
			"  resolution: t@https://m/t/-/t-1.0.0.tgz\n"},
		{"berry plain to quoted", "yarn.lock",
			"__metadata:\n  version: 8\n\nt@https://e/t.tgz:\n  resolution: t@https://e/t.tgz\n",
			"https://m/t/-/t #1.tgz",
			"  resolution: \"t@https://m/t/-/t #1.tgz\"\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lf, err := Parse(tt.file, []byte(tt.data))
			if err != nil {
				t.Fatal(err)
			}
			out, err := Rewrite(lf, []byte(tt.data), func(Entry) (string, bool) { return tt.url, true })
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasSuffix(string(out), tt.want) {
				t.Errorf("output:\n%s\nwant it to end with %q", out, tt.want)
			}
			again, err := Parse(tt.file, out)
			if err != nil || again.Entries[0].Resolved != tt.url {
				t.Errorf("reparse: %v, resolved %q", err, again.Entries[0].Resolved)
			}
		})
	}
}

func TestParseYAMLErrors(t *testing.T) {
	checkParseErrors(t, []parseErrorCase{
		{"berry without metadata version", "yarn.lock", "__metadata:\n  cacheKey: 10c0\n",
			"yarn.lock:1: yarn berry lockfile without __metadata.version"},
		{"berry entry without resolution", "yarn.lock",
			"__metadata:\n  version: 8\n\n\"a@npm:^1\":\n  version: 1.0.0\n",
			`yarn.lock:4: entry "a@npm:^1" has no resolution`},
		{"berry entry not a mapping", "yarn.lock", "__metadata:\n  version: 8\na@npm:1: x\n",
			`yarn.lock:3: entry "a@npm:1" is not a mapping of fields`},
		{"berry resolution without name", "yarn.lock",
			"__metadata:\n  version: 8\na:\n  resolution: \"npm:1\"\n",
			`yarn.lock:4: resolution "npm:1" is not name@reference`},
		{"berry multi-line URL", "yarn.lock",
			"__metadata:\n  version: 8\na:\n  resolution: \"a@https://e/\n    a.tgz\"\n",
			"yarn.lock:4: quoted value"},
		{"invalid YAML", "yarn.lock", "__metadata:\n  version: 8\n a: [\n",
			"yarn.lock: invalid YAML: line 2"},
		{"pnpm v5", "pnpm-lock.yaml", "lockfileVersion: 5.4\n",
			"pnpm-lock.yaml:1: pnpm lockfileVersion 5.4 is not supported yet"},
		{"pnpm without version", "pnpm-lock.yaml", "packages: {}\n",
			"pnpm-lock.yaml:1: pnpm lockfile without lockfileVersion"},
		{"pnpm without resolution", "pnpm-lock.yaml",
			"lockfileVersion: '9.0'\n\npackages:\n\n  a@1.0.0:\n    engines: {node: '>=8'}\n",
			`pnpm-lock.yaml:5: package "a@1.0.0" has no resolution mapping`},
		{"pnpm unknown resolution type", "pnpm-lock.yaml",
			"lockfileVersion: '9.0'\npackages:\n  a@1.0.0:\n    resolution: {type: svn}\n",
			`pnpm-lock.yaml:4: package "a@1.0.0" has resolution type "svn"`},
		{"pnpm v6 key without name", "pnpm-lock.yaml",
			"lockfileVersion: '6.0'\npackages:\n  file:x:\n    resolution: {directory: x, type: directory}\n",
			`pnpm-lock.yaml:3: package "file:x" has no name`},
		{"pnpm tarball not a value", "pnpm-lock.yaml",
			"lockfileVersion: '9.0'\npackages:\n  a@1.0.0:\n    resolution: {tarball: [x]}\n",
			"pnpm-lock.yaml:4: tarball is not a single value"},
	})
	_, err := Parse("pnpm-lock.yaml", []byte("lockfileVersion: 5.4\n"))
	if !errors.Is(err, ErrUnsupported) {
		t.Errorf("pnpm v5 error = %v, want ErrUnsupported", err)
	}
}

// TestParsePNPMTwoDocuments reads both documents of a pnpm 11 lockfile: the
// env document with pnpm's own package, then the project's.
func TestParsePNPMTwoDocuments(t *testing.T) {
	data := "---\nlockfileVersion: '9.0'\n\nimporters:\n\n  .:\n    configDependencies: {}\n" +
		"    packageManagerDependencies:\n      pnpm:\n        specifier: 11.0.0\n        version: 11.0.0\n\n" +
		"packages:\n\n  pnpm@11.0.0:\n    resolution: {integrity: sha512-AAAA}\n\n---\n" +
		"lockfileVersion: '9.0'\n\npackages:\n\n  ms@2.1.3:\n" +
		"    resolution: {integrity: sha512-BBBB, tarball: https://npm.corp.example/ms/-/ms-2.1.3.tgz}\n"
	for _, file := range []string{"pnpm-lock.yaml", "deps.lock"} {
		lf, err := Parse(file, []byte(data))
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		if lf.Format != PNPMV9 || len(lf.Entries) != 2 {
			t.Fatalf("%s: format %s, %d entries, want pnpm-v9 and 2", file, lf.Format, len(lf.Entries))
		}
		if e := lf.Entries[0]; e.Name != "pnpm" || e.Line != 15 {
			t.Errorf("first entry %s at line %d, want pnpm at line 15", e.Name, e.Line)
		}
		if e := lf.Entries[1]; e.Name != "ms" || e.Line != 24 {
			t.Errorf("second entry %s at line %d, want ms at line 24", e.Name, e.Line)
		}
		out, err := Rewrite(lf, []byte(data), mirrorURL)
		if err != nil {
			t.Fatal(err)
		}
		want := strings.Replace(data, "https://npm.corp.example/", "http://127.0.0.1:4873/", 1)
		if string(out) != want {
			t.Errorf("rewrite:\n%s\nwant:\n%s", out, want)
		}
	}
}
