package lockfile

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// mirrorURL points registry entries at a Verdaccio-style mirror on
// loopback and leaves every other entry alone.
func mirrorURL(e Entry) (string, bool) {
	if e.Source != SourceRegistry {
		return "", false
	}
	return "http://127.0.0.1:4873/" + e.Name + "/-/" + path.Base(e.Name) + "-" + e.Version +
		".tgz", true
}

func identity(e Entry) (string, bool) { return e.Resolved, true }

func loadFixture(t *testing.T, file string) (*Lockfile, []byte) {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	lf, err := Parse(file, data)
	if err != nil {
		t.Fatal(err)
	}
	return lf, data
}

func goldenPath(fixture string) string {
	dir := filepath.Base(filepath.Dir(fixture))
	return filepath.Join("testdata", "golden", dir+"."+filepath.Base(fixture))
}

// checkRewriteGolden rewrites the fixture at path with mirrorURL and
// compares the output with its golden file.
func checkRewriteGolden(t *testing.T, path string) {
	t.Helper()
	lf, data := loadFixture(t, path)
	out, err := Rewrite(lf, data, mirrorURL)
	if err != nil {
		t.Fatal(err)
	}
	golden := goldenPath(path)
	if *update {
		if err := os.WriteFile(golden, out, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v: run go test ./manifests/lockfile -update", err)
	}
	if !bytes.Equal(out, want) {
		t.Errorf("output differs from %s; if the change is intended, run "+
			"go test ./manifests/lockfile -update and review the diff", golden)
	}
}

func TestRewriteGolden(t *testing.T) {
	for _, f := range fixtures {
		t.Run(string(f.format), func(t *testing.T) { checkRewriteGolden(t, f.path) })
	}
}

// changedLines returns the lines of out that differ from data, by 1-based
// line number. It fails the test when the number of lines changed.
func changedLines(t *testing.T, data, out []byte) map[int]string {
	t.Helper()
	before := strings.Split(string(data), "\n")
	after := strings.Split(string(out), "\n")
	if len(before) != len(after) {
		t.Fatalf("line count changed from %d to %d", len(before), len(after))
	}
	changed := map[int]string{}
	for i := range before {
		if before[i] != after[i] {
			changed[i+1] = after[i]
		}
	}
	return changed
}

// TestRewriteChangesOnlyResolved checks the output line by line: the
// same lines, and every changed line is a resolved field of a registry
// entry that now points at the mirror.
func TestRewriteChangesOnlyResolved(t *testing.T) {
	for _, f := range fixtures {
		t.Run(string(f.format), func(t *testing.T) {
			lf, data := loadFixture(t, f.path)
			out, err := Rewrite(lf, data, mirrorURL)
			if err != nil {
				t.Fatal(err)
			}
			lines := changedLines(t, data, out)
			changed := len(lines)
			for line, text := range lines {
				if !strings.Contains(text, "resolved") ||
					!strings.Contains(text, "http://127.0.0.1:4873/") {
					t.Errorf("line %d changed to %q", line, text)
				}
			}
			registry := 0
			for _, s := range lf.spans {
				if lf.Entries[s.entry].Source == SourceRegistry {
					registry++
				}
			}
			if changed != registry || changed == 0 {
				t.Errorf("%d lines changed, want %d, one per registry resolved value",
					changed, registry)
			}
			if f.format != YarnV1 && !json.Valid(out) {
				t.Errorf("output is not valid JSON")
			}
		})
	}
}

func TestRewriteReparse(t *testing.T) {
	for _, f := range fixtures {
		t.Run(string(f.format), func(t *testing.T) {
			lf, data := loadFixture(t, f.path)
			out, err := Rewrite(lf, data, mirrorURL)
			if err != nil {
				t.Fatal(err)
			}
			again, err := Parse(f.path, out)
			if err != nil {
				t.Fatalf("parse rewritten lockfile: %v", err)
			}
			if len(again.Entries) != len(lf.Entries) {
				t.Fatalf("got %d entries, want %d", len(again.Entries), len(lf.Entries))
			}
			for i, e := range lf.Entries {
				want := e
				if u, ok := mirrorURL(e); ok && e.Resolved != "" {
					want.Resolved = u
				}
				got := again.Entries[i]
				if got.Name != want.Name || got.Version != want.Version ||
					got.Resolved != want.Resolved || got.ResolvedHash != want.ResolvedHash ||
					got.Integrity != want.Integrity || got.Line != want.Line {
					t.Errorf("entry %d =\n%+v\nwant\n%+v", i, got, want)
				}
			}
		})
	}
}

func TestRewriteIdempotent(t *testing.T) {
	for _, f := range fixtures {
		t.Run(string(f.format), func(t *testing.T) {
			lf, data := loadFixture(t, f.path)
			once, err := Rewrite(lf, data, mirrorURL)
			if err != nil {
				t.Fatal(err)
			}
			lf2, err := Parse(f.path, once)
			if err != nil {
				t.Fatal(err)
			}
			twice, err := Rewrite(lf2, once, mirrorURL)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(once, twice) {
				t.Errorf("second rewrite changed the output")
			}
		})
	}
}

func TestRewriteIdentity(t *testing.T) {
	keep := func(Entry) (string, bool) { return "", false }
	for _, f := range fixtures {
		lf, data := loadFixture(t, f.path)
		for name, fn := range map[string]func(Entry) (string, bool){"identity": identity, "keep": keep} {
			out, err := Rewrite(lf, data, fn)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(out, data) {
				t.Errorf("%s: rewrite with %s changed the bytes", f.format, name)
			}
		}
	}
}

func TestRewriteV2BothSections(t *testing.T) {
	lf, data := loadFixture(t, "testdata/npm-v2/package-lock.json")
	out, err := Rewrite(lf, data, mirrorURL)
	if err != nil {
		t.Fatal(err)
	}
	mirrored := `"http://127.0.0.1:4873/ms/-/ms-2.1.2.tgz"`
	if n := strings.Count(string(out), mirrored); n != 2 {
		t.Errorf("nested ms rewritten %d times, want 2 (packages and dependencies)", n)
	}
	if strings.Contains(string(out), "registry.npmjs.org") {
		t.Errorf("output still points at the public registry")
	}
}

func TestRewriteYarnQuoting(t *testing.T) {
	data := "# yarn lockfile v1\n\nms@^2.1.0:\n  version 2.1.3\n" +
		"  resolved https://registry.yarnpkg.com/ms/-/ms-2.1.3.tgz#abc\n" +
		"\"q@^1\":\n  version \"1.0.0\"\n  resolved \"https://r.test/q/-/q-1.0.0.tgz#def\"\n"
	lf, err := Parse("yarn.lock", []byte(data))
	if err != nil {
		t.Fatal(err)
	}
	urls := map[string]string{
		"ms": "http://127.0.0.1:4873/ms/-/ms-2.1.3.tgz",
		"q":  `http://127.0.0.1:4873/q/-/q-1.0.0.tgz?a="b"`,
	}
	out, err := Rewrite(lf, []byte(data), func(e Entry) (string, bool) { return urls[e.Name], true })
	if err != nil {
		t.Fatal(err)
	}
	want := "# yarn lockfile v1\n\nms@^2.1.0:\n  version 2.1.3\n" +
		"  resolved \"http://127.0.0.1:4873/ms/-/ms-2.1.3.tgz#abc\"\n" +
		"\"q@^1\":\n  version \"1.0.0\"\n" +
		"  resolved \"http://127.0.0.1:4873/q/-/q-1.0.0.tgz?a=\\\"b\\\"#def\"\n"
	if string(out) != want {
		t.Errorf("output =\n%s\nwant\n%s", out, want)
	}
}

func TestRewriteErrors(t *testing.T) {
	lf, data := loadFixture(t, "testdata/yarn-v1/yarn.lock")
	tests := []struct {
		name string
		data []byte
		url  func(Entry) (string, bool)
		want string
	}{
		{"other data", append(bytes.Clone(data), '\n'), identity,
			fmt.Sprintf("the data is %d bytes, but %d were parsed", len(data)+1, len(data))},
		{"changed data", bytes.Replace(data, []byte("registry.npmjs.org"),
			[]byte("registry.npmjs.com"), 1), identity, "the data differs from what was parsed"},
		{"fragment", data, func(e Entry) (string, bool) { return "http://127.0.0.1/x.tgz#1", true },
			"has a fragment, but yarn.lock keeps its own #082cb2c89c9fe8659a311a53bd6a4dc5301db304"},
		{"empty URL", data, func(Entry) (string, bool) { return "", true },
			"testdata/yarn-v1/yarn.lock:7: ansi-regex@5.0.1: empty replacement URL"},
		{"invalid UTF-8", data, func(Entry) (string, bool) { return "http://\xff", true },
			"is not valid UTF-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Rewrite(lf, tt.data, tt.url)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestQuoteJSON(t *testing.T) {
	tests := []struct{ in, want string }{
		{"http://a/b", `"http://a/b"`},
		{`a"b\c`, `"a\"b\\c"`},
		{"a\nb\tc\x01", `"a\nb\tc\u0001"`},
		{"<&>é", `"<&>é"`},
	}
	for _, tt := range tests {
		if got := quoteJSON(tt.in); got != tt.want {
			t.Errorf("quoteJSON(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}
