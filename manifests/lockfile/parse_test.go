package lockfile

import (
	"reflect"
	"strings"
	"testing"
)

// fixtures are lockfiles of the project in testdata/project, written by
// npm 11.19.1 and yarn 1.22.22 (see testdata/regenerate.sh).
var fixtures = []struct {
	path    string
	format  Format
	entries int
}{
	{"testdata/npm-v1/package-lock.json", PackageLockV1, 32},
	{"testdata/npm-v2/package-lock.json", PackageLockV2, 33},
	{"testdata/npm-v3/package-lock.json", PackageLockV3, 33},
	{"testdata/yarn-v1/yarn.lock", YarnV1, 32},
}

const (
	lodashURL    = "https://registry.npmjs.org/lodash/-/lodash-4.17.21.tgz"
	lodashSHA512 = "sha512-v2kDEe57lecTulaDIuNTPy3Ry4gLGJ6Z1O3vE1krgXZNrsQ+LFTGHVxVjcXPs17LhbZVGedAJv8XZ1tvj5FvSg=="
	widthURL     = "https://registry.npmjs.org/string-width/-/string-width-4.2.3.tgz"
	widthSHA512  = "sha512-wKyQRQpjJ0sIp62ErSZdGsjMJWsap5oRNihHhu6G7JVO/9jIB6UyevL+tXuOqrng8j/cxKTWyWUwvSTriiZz/g=="
)

// findEntry returns the entry with the given package-lock path, or for
// yarn.lock the one whose first selector is key.
func findEntry(t *testing.T, lf *Lockfile, key string) Entry {
	t.Helper()
	for _, e := range lf.Entries {
		if e.Path == key || (len(e.Selectors) > 0 && e.Selectors[0] == key) {
			return e
		}
	}
	t.Fatalf("%s: no entry %s", lf.Path, key)
	return Entry{}
}

func TestParseFixtures(t *testing.T) {
	for _, f := range fixtures {
		t.Run(string(f.format), func(t *testing.T) {
			lf, err := Load(f.path)
			if err != nil {
				t.Fatal(err)
			}
			if lf.Format != f.format {
				t.Errorf("format = %s, want %s", lf.Format, f.format)
			}
			if len(lf.Entries) != f.entries {
				t.Errorf("got %d entries, want %d", len(lf.Entries), f.entries)
			}
			for _, e := range lf.Entries {
				if e.Name == "" || e.Line < 1 {
					t.Errorf("entry %+v has no name or line", e)
				}
			}
		})
	}
}

func TestParsePackageLockEntries(t *testing.T) {
	tests := []struct {
		file string
		want []Entry
	}{
		{"testdata/npm-v3/package-lock.json", []Entry{
			{Name: "lodash", Version: "4.17.21", Resolved: lodashURL, Integrity: lodashSHA512,
				Line: 285, Source: SourceRegistry, Path: "node_modules/lodash"},
			{Name: "ms", Version: "2.1.2", Resolved: "https://registry.npmjs.org/ms/-/ms-2.1.2.tgz",
				Integrity: "sha512-sGkPx+VjMtmA6MX27oA4FBFELFCZZ4S4XqeGOXCv68tT+jb3vk/RyaKWP0PTKyWtmLSM0b+adUTEvbs1PEaH2w==",
				Line:      170, Source: SourceRegistry, Path: "node_modules/debug/node_modules/ms"},
			{Name: "string-width", Version: "4.2.3", Resolved: widthURL, Integrity: widthSHA512,
				Line: 332, Source: SourceRegistry, Alias: "string-width-cjs",
				Path: "node_modules/string-width-cjs"},
			{Name: "@fixture/util", Resolved: "packages/util", Line: 26, Source: SourceLink,
				Path: "node_modules/@fixture/util"},
			{Name: "@fixture/util", Version: "0.1.0", Line: 380, Source: SourceWorkspace,
				Path: "packages/util"},
			{Name: "left-pad", Version: "1.3.0", Resolved: "file:vendor/left-pad-1.3.0.tgz",
				Integrity: "sha512-XI5MPzVNApjAyhQzphX8BkmKsKUxD4LdyK24iZeQGinBN9yTQT3bFlCBy/aVx2HrNcqQGsdot8ghrjyrvMCoEA==",
				Line:      279, Source: SourceFile, Path: "node_modules/left-pad"},
		}},
		{"testdata/npm-v2/package-lock.json", []Entry{
			{Name: "lodash", Version: "4.17.21", Resolved: lodashURL, Integrity: lodashSHA512,
				Line: 285, Source: SourceRegistry, Path: "node_modules/lodash"},
		}},
		{"testdata/npm-v1/package-lock.json", []Entry{
			{Name: "lodash", Version: "4.17.21", Resolved: lodashURL, Integrity: lodashSHA512,
				Line: 169, Source: SourceRegistry, Path: "node_modules/lodash"},
			{Name: "string-width", Version: "4.2.3", Resolved: widthURL, Integrity: widthSHA512,
				Line: 198, Source: SourceRegistry, Alias: "string-width-cjs",
				Path: "node_modules/string-width-cjs"},
			{Name: "ms", Version: "2.1.2", Resolved: "https://registry.npmjs.org/ms/-/ms-2.1.2.tgz",
				Integrity: "sha512-sGkPx+VjMtmA6MX27oA4FBFELFCZZ4S4XqeGOXCv68tT+jb3vk/RyaKWP0PTKyWtmLSM0b+adUTEvbs1PEaH2w==",
				Line:      95, Source: SourceRegistry, Path: "node_modules/debug/node_modules/ms"},
			{Name: "@fixture/util", Version: "file:packages/util", Line: 7, Source: SourceFile,
				Path: "node_modules/@fixture/util"},
			{Name: "left-pad", Version: "file:vendor/left-pad-1.3.0.tgz",
				Integrity: "sha512-XI5MPzVNApjAyhQzphX8BkmKsKUxD4LdyK24iZeQGinBN9yTQT3bFlCBy/aVx2HrNcqQGsdot8ghrjyrvMCoEA==",
				Line:      163, Source: SourceFile, Path: "node_modules/left-pad"},
		}},
	}
	for _, tt := range tests {
		lf, err := Load(tt.file)
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range tt.want {
			got := findEntry(t, lf, want.Path)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("%s: %s =\n%+v\nwant\n%+v", tt.file, want.Path, got, want)
			}
		}
	}
}

func TestParsePackageLockFlags(t *testing.T) {
	for _, f := range fixtures[:3] {
		lf, err := Load(f.path)
		if err != nil {
			t.Fatal(err)
		}
		fsevents := findEntry(t, lf, "node_modules/fsevents")
		if !fsevents.Optional || fsevents.Dev {
			t.Errorf("%s: fsevents optional=%v dev=%v, want optional only",
				f.format, fsevents.Optional, fsevents.Dev)
		}
		ms := findEntry(t, lf, "node_modules/ms")
		if !ms.Dev || ms.Optional {
			t.Errorf("%s: ms optional=%v dev=%v, want dev only", f.format, ms.Optional, ms.Dev)
		}
	}
}

func TestParseYarnEntries(t *testing.T) {
	lf, err := Load("testdata/yarn-v1/yarn.lock")
	if err != nil {
		t.Fatal(err)
	}
	want := []Entry{
		{Name: "lodash", Version: "4.17.21", Resolved: lodashURL, Integrity: lodashSHA512,
			Line: 143, Source: SourceRegistry, Selectors: []string{"lodash@4.17.21"},
			ResolvedHash: "679591c564c3bffaae8454cf0b3df370c3d6911c"},
		{Name: "string-width", Version: "4.2.3", Resolved: widthURL, Integrity: widthSHA512,
			Line: 180, Source: SourceRegistry, Alias: "string-width-cjs",
			Selectors:    []string{"string-width-cjs@npm:string-width@^4.2.0"},
			ResolvedHash: "269c7117d27b05ad2e536830a8ec895ef9c6d010"},
		{Name: "left-pad", Version: "1.3.0", Resolved: "file:vendor/left-pad-1.3.0.tgz",
			Line: 139, Source: SourceFile, Selectors: []string{"left-pad@file:vendor/left-pad-1.3.0.tgz"},
			ResolvedHash: "5b8a3a7765dfe001261dde915589e782f8c94d1e"},
	}
	for _, w := range want {
		got := findEntry(t, lf, w.Selectors[0])
		if !reflect.DeepEqual(got, w) {
			t.Errorf("%s =\n%+v\nwant\n%+v", w.Selectors[0], got, w)
		}
	}
}

// TestParseSources covers entries that the fixtures lack: git, remote
// tarballs, links and bundled packages, written the way npm and yarn
// write them.
func TestParseSources(t *testing.T) {
	const sha = "0123456789abcdef0123456789abcdef01234567"
	tests := []struct {
		name, file, data string
		want             []Entry
	}{
		{
			name: "package-lock v3",
			file: "package-lock.json",
			data: `{
  "lockfileVersion": 3,
  "packages": {
    "": {"name": "app"},
    "node_modules/foo": {
      "version": "1.0.0",
      "resolved": "git+ssh://git@github.com/user/foo.git#` + sha + `"
    },
    "node_modules/tar": {
      "version": "2.0.0",
      "resolved": "https://example.com/files/tar-2.0.0.tgz"
    },
    "node_modules/tar/node_modules/inner": {
      "version": "3.0.0",
      "inBundle": true,
      "peer": true,
      "devOptional": true
    }
  }
}`,
			want: []Entry{
				{Name: "foo", Version: "1.0.0", Resolved: "git+ssh://git@github.com/user/foo.git#" + sha,
					Line: 7, Source: SourceGit, Path: "node_modules/foo"},
				{Name: "tar", Version: "2.0.0", Resolved: "https://example.com/files/tar-2.0.0.tgz",
					Line: 11, Source: SourceTarball, Path: "node_modules/tar"},
				{Name: "inner", Version: "3.0.0", Line: 13, Source: SourceRegistry, Bundled: true,
					Peer: true, DevOptional: true, Path: "node_modules/tar/node_modules/inner"},
			},
		},
		{
			name: "package-lock v1",
			file: "npm-shrinkwrap.json",
			data: `{
  "lockfileVersion": 1,
  "dependencies": {
    "foo": {"version": "github:user/foo#` + sha + `", "from": "github:user/foo"},
    "lodash": {"version": "4.17.21"},
    "tar": {
      "version": "https://example.com/tar-2.0.0.tgz",
      "integrity": "sha1-AAAA",
      "dependencies": {"inner": {"version": "3.0.0", "bundled": true}}
    }
  }
}`,
			want: []Entry{
				{Name: "foo", Version: "github:user/foo#" + sha, Line: 4, Source: SourceGit,
					Path: "node_modules/foo"},
				{Name: "lodash", Version: "4.17.21", Line: 5, Source: SourceRegistry,
					Path: "node_modules/lodash"},
				{Name: "tar", Version: "https://example.com/tar-2.0.0.tgz", Integrity: "sha1-AAAA",
					Line: 6, Source: SourceTarball, Path: "node_modules/tar"},
				{Name: "inner", Version: "3.0.0", Line: 9, Source: SourceRegistry, Bundled: true,
					Path: "node_modules/tar/node_modules/inner"},
			},
		},
		{
			name: "yarn v1",
			file: "yarn.lock",
			data: "# yarn lockfile v1\r\n\r\n" +
				"\"foo@github:user/foo\":\r\n" +
				"  version \"1.0.0\"\r\n" +
				"  resolved \"https://codeload.github.com/user/foo/tar.gz/" + sha + "\"\r\n\r\n" +
				"\"bar@git+https://github.com/user/bar.git\":\r\n" +
				"  version \"2.0.0\"\r\n" +
				"  resolved \"git+https://github.com/user/bar.git#" + sha + "\"\r\n\r\n" +
				"\"baz@link:./baz\":\r\n" +
				"  version \"0.0.0\"\r\n" +
				"  uid \"\"\r\n\r\n" +
				"\"tar@https://example.com/tar-1.0.0.tgz\":\r\n" +
				"  version \"1.0.0\"\r\n" +
				"  resolved \"https://example.com/tar-1.0.0.tgz#" + sha + "\"\r\n\r\n" +
				"ms@2, \"m@npm:ms@^2.1.0\":\r\n" +
				"  version 2.1.3\r\n" +
				"  resolved https://registry.yarnpkg.com/ms/-/ms-2.1.3.tgz\r\n",
			want: []Entry{
				{Name: "foo", Version: "1.0.0", Resolved: "https://codeload.github.com/user/foo/tar.gz/" + sha,
					Line: 5, Source: SourceGit, Selectors: []string{"foo@github:user/foo"}},
				{Name: "bar", Version: "2.0.0", Resolved: "git+https://github.com/user/bar.git#" + sha,
					Line: 9, Source: SourceGit, Selectors: []string{"bar@git+https://github.com/user/bar.git"}},
				{Name: "baz", Version: "0.0.0", Line: 11, Source: SourceLink,
					Selectors: []string{"baz@link:./baz"}},
				{Name: "tar", Version: "1.0.0", Resolved: "https://example.com/tar-1.0.0.tgz",
					ResolvedHash: sha, Line: 17, Source: SourceTarball,
					Selectors: []string{"tar@https://example.com/tar-1.0.0.tgz"}},
				{Name: "ms", Version: "2.1.3", Resolved: "https://registry.yarnpkg.com/ms/-/ms-2.1.3.tgz",
					Line: 21, Source: SourceRegistry, Alias: "m",
					Selectors: []string{"ms@2", "m@npm:ms@^2.1.0"}},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lf, err := Parse(tt.file, []byte(tt.data))
			if err != nil {
				t.Fatal(err)
			}
			if len(lf.Entries) != len(tt.want) {
				t.Fatalf("got %d entries, want %d: %+v", len(lf.Entries), len(tt.want), lf.Entries)
			}
			for i, want := range tt.want {
				if !reflect.DeepEqual(lf.Entries[i], want) {
					t.Errorf("entry %d =\n%+v\nwant\n%+v", i, lf.Entries[i], want)
				}
			}
		})
	}
}

func TestParseV2AddsEntriesMissingFromPackages(t *testing.T) {
	data := `{
  "lockfileVersion": 2,
  "packages": {
    "node_modules/a": {"version": "1.0.0", "resolved": "https://r.test/a/-/a-1.0.0.tgz"}
  },
  "dependencies": {
    "a": {"version": "1.0.0", "resolved": "https://r.test/a/-/a-1.0.0.tgz"},
    "b": {"version": "npm:c@2.0.0", "resolved": "https://r.test/c/-/c-2.0.0.tgz"}
  }
}`
	lf, err := Parse("package-lock.json", []byte(data))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range lf.Entries {
		got = append(got, e.Path+"="+e.Name+"@"+e.Version+" alias="+e.Alias)
	}
	want := "node_modules/a=a@1.0.0 alias=|node_modules/b=c@2.0.0 alias=b"
	if strings.Join(got, "|") != want {
		t.Errorf("entries = %s, want %s", strings.Join(got, "|"), want)
	}
	if len(lf.spans) != 3 {
		t.Errorf("got %d resolved spans, want 3 (two for a, one for b)", len(lf.spans))
	}
}
