package lockfile

import (
	"bytes"
	"net/url"
	"os"
	"testing"
)

// fuzzRewrite checks the properties every parsed lockfile must have: the
// identity rewrite returns the input, and a rewritten lockfile parses
// again with the new URLs and is stable under a second rewrite.
func fuzzRewrite(t *testing.T, file string, data []byte) {
	lf, err := Parse(file, data)
	if err != nil {
		return
	}
	same, err := Rewrite(lf, data, identity)
	if err != nil {
		t.Fatalf("identity rewrite: %v", err)
	}
	if !bytes.Equal(same, data) {
		t.Fatalf("identity rewrite changed the bytes:\n%q\n%q", data, same)
	}

	mirror := func(e Entry) (string, bool) {
		return "http://127.0.0.1:4873/" + url.PathEscape(e.Name) + "/-/x.tgz", true
	}
	out, err := Rewrite(lf, data, mirror)
	if err != nil {
		t.Fatalf("rewrite: %v", err)
	}
	again, err := Parse(file, out)
	if err != nil {
		t.Fatalf("parse rewritten lockfile: %v\n%q", err, out)
	}
	if len(again.Entries) != len(lf.Entries) {
		t.Fatalf("rewritten lockfile has %d entries, want %d", len(again.Entries), len(lf.Entries))
	}
	rewritable := map[int]bool{}
	for _, s := range lf.spans {
		rewritable[s.entry] = true
	}
	for i, e := range lf.Entries {
		if !rewritable[i] {
			continue
		}
		if want, _ := mirror(e); again.Entries[i].Resolved != want {
			t.Errorf("entry %d resolved = %q, want %q", i, again.Entries[i].Resolved, want)
		}
	}
	twice, err := Rewrite(again, out, mirror)
	if err != nil || !bytes.Equal(twice, out) {
		t.Errorf("second rewrite changed the bytes (error %v)", err)
	}
}

func addFixtures(f *testing.F, files ...string) {
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
}

func FuzzParsePackageLock(f *testing.F) {
	addFixtures(f, "testdata/npm-v1/package-lock.json", "testdata/npm-v2/package-lock.json",
		"testdata/npm-v3/package-lock.json")
	// Small seeds let mutations reach past the JSON syntax checks, which
	// almost every change to a large fixture trips.
	f.Add([]byte(`{"lockfileVersion":2,"packages":{"node_modules/a":{"resolved":"x\"y"}},` +
		`"dependencies":{"a":{"resolved":"\u0041"},"b":{"version":"npm:c@1"}}}`))
	f.Add([]byte(`{"lockfileVersion":3,"packages":{"":{},"node_modules/a":{"name":"b",` +
		`"version":"1.0.0","resolved":"https://r/b/-/b-1.0.0.tgz","dev":true},` +
		`"p":{"name":"w"},"node_modules/w":{"resolved":"p","link":true}}}`))
	f.Add([]byte(`{"lockfileVersion":1,"dependencies":{"a":{"version":"github:u/r#c",` +
		`"dependencies":{"b":{"version":"1.0.0","resolved":"file:b.tgz","bundled":true}}}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzRewrite(t, "package-lock.json", data)
	})
}

func FuzzParseYarnLock(f *testing.F) {
	addFixtures(f, "testdata/yarn-v1/yarn.lock")
	f.Add([]byte("a@1, \"b@npm:c@2\":\n  version 1\n  resolved https://r/a#1\n  dependencies:\n" +
		"    x \"1\"\n"))
	f.Add([]byte("\"g@github:u/r\":\r\n  resolved \"git+https://h/u/r.git#c\"\r\n"))
	f.Add([]byte("\"l@link:./l\":\n  version \"0.0.0\"\n\nt@https://e/t.tgz:\n" +
		"  resolved \"https://e/t.tgz#ab\"\n  integrity sha1-x\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzRewrite(t, "yarn.lock", data)
	})
}

func FuzzParseBerryLock(f *testing.F) {
	addFixtures(f, "testdata/yarn-berry/yarn.lock", "testdata/yarn-berry-urls/yarn.lock")
	f.Add([]byte("__metadata:\n  version: 8\n\n\"a@npm:^1, b@npm:a@^1\":\n  version: 1.0.0\n" +
		"  resolution: \"a@npm:1.0.0::__archiveUrl=https%3A%2F%2Fr%2Fa.tgz\"\n"))
	f.Add([]byte("__metadata:\n  version: 6\nt@https://e/t.tgz:\n  resolution: t@https://e/t.tgz\r\n" +
		"\"g@git@h:u/r.git\":\n  resolution: 'g@git@h:u/r.git#commit=1'\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzRewrite(t, "yarn.lock", data)
	})
}

func FuzzParsePNPMLock(f *testing.F) {
	addFixtures(f, "testdata/pnpm-v9-urls/pnpm-lock.yaml")
	f.Add([]byte("lockfileVersion: '9.0'\npackages:\n  a@1.0.0:\n    resolution: {integrity: " +
		"sha512-x, tarball: 'https://r/a/-/a-1.0.0.tgz'}\n  b@https://e/b.tgz:\n" +
		"    resolution: {tarball: \"https://e/b.tgz\"}\n    version: 2.0.0\n"))
	f.Add([]byte("lockfileVersion: '6.0'\npackages:\n  /a@1.0.0(b@2.0.0):\n    resolution:\n" +
		"      tarball: https://r/a/-/a-1.0.0.tgz # c\n    dev: true\n  file:x:\n" +
		"    resolution: {directory: x, type: directory}\n    name: x\n"))
	f.Add([]byte("---\nlockfileVersion: '9.0'\npackages:\n  p@1.0.0:\n    resolution: {integrity: x}\n" +
		"---\nlockfileVersion: '9.0'\npackages:\n  '@s/a@1.0.0':\n    resolution: {tarball: \"h\\u0074tps://r/a.tgz\"}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzRewrite(t, "pnpm-lock.yaml", data)
	})
}
