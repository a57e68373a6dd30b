package lockfile

import (
	"errors"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseUnsupported(t *testing.T) {
	tests := []struct {
		name, file, data string
		format           string
	}{
		{"bun text", "app/bun.lock", "{\n  \"lockfileVersion\": 1,\n  \"workspaces\": {}\n}\n", "bun"},
		{"bun binary", "app/bun.lockb", "#!/usr/bin/env bun\nbun-lockfile-format-v0\n", "bun"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(tt.file, []byte(tt.data))
			if !errors.Is(err, ErrUnsupported) {
				t.Fatalf("error = %v, want ErrUnsupported", err)
			}
			want := tt.file + ": " + tt.format + " lockfiles are not supported yet"
			if !strings.HasPrefix(err.Error(), want) {
				t.Errorf("error = %q, want prefix %q", err, want)
			}
		})
	}
}

// parseErrorCase is a lockfile that Parse must reject with an error that
// starts with want.
type parseErrorCase struct {
	name, file, data, want string
}

// checkParseErrors runs each case as a subtest.
func checkParseErrors(t *testing.T, tests []parseErrorCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(tt.file, []byte(tt.data))
			if err == nil {
				t.Fatal("Parse succeeded")
			}
			if !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("error = %q\nwant prefix %q", err, tt.want)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	checkParseErrors(t, []parseErrorCase{
		{"unknown format", "deps.txt", "lodash 4.17.21\n",
			"deps.txt: unknown lockfile format: expected package-lock.json, npm-shrinkwrap.json, " +
				"yarn.lock or pnpm-lock.yaml"},
		{"JSON syntax", "package-lock.json", "{\n  \"lockfileVersion\": 3,\n  \"packages\": {,}\n}\n",
			"package-lock.json:3: invalid JSON: invalid character ','"},
		{"truncated JSON", "package-lock.json", "{\n  \"lockfileVersion\": 3,\n  \"packages\": {\n",
			"package-lock.json:3: invalid JSON: unexpected end of JSON input"},
		{"trailing data", "package-lock.json", "{\"lockfileVersion\": 3, \"packages\": {}}\n{}\n",
			"package-lock.json:2: invalid JSON: unexpected data after the top-level value"},
		{"not an object", "package-lock.json", "{\"lockfileVersion\": 3, \"packages\": []}",
			"package-lock.json:1: packages must be an object, not an array"},
		{"no lockfileVersion", "package-lock.json", "{\"name\": \"app\"}",
			"package-lock.json:1: no lockfileVersion field"},
		{"future lockfileVersion", "package-lock.json", "{\n  \"lockfileVersion\": 4\n}",
			"package-lock.json:2: unsupported lockfileVersion 4: Sluice reads versions 1, 2 and 3"},
		{"v3 without packages", "package-lock.json", "{\"lockfileVersion\": 3}",
			"package-lock.json:1: lockfileVersion 3 without a packages field"},
		{"wrong field type", "package-lock.json", "{\n\"lockfileVersion\": 3,\n\"packages\": {\n" +
			"\"node_modules/a\": {\n\"version\": 1\n}}}",
			`package-lock.json:5: packages["node_modules/a"].version must be a string, not a number`},
		{"entry not an object", "package-lock.json", "{\n\"lockfileVersion\": 1,\n" +
			"\"dependencies\": {\n\"a\": true}}",
			`package-lock.json:4: dependencies["a"] must be an object, not a boolean`},
		{"yarn tab", "yarn.lock", "a@1:\n\tversion \"1\"\n",
			"yarn.lock:2: tab in indentation"},
		{"yarn odd indentation", "yarn.lock", "a@1:\n   version \"1\"\n",
			"yarn.lock:2: indentation of 3 spaces: yarn.lock indents by two"},
		{"yarn entry without colon", "yarn.lock", "# yarn lockfile v1\n\na@1\n  version \"1\"\n",
			"yarn.lock:3: entry line does not end with ':'"},
		{"yarn field before entry", "yarn.lock", "  version \"1\"\n",
			"yarn.lock:1: indented line before the first entry"},
		{"yarn block content outside block", "yarn.lock", "a@1:\n  version \"1\"\n    b \"^1\"\n",
			"yarn.lock:3: unexpected indentation of 4 spaces"},
		{"yarn field twice", "yarn.lock", "a@1:\n  resolved \"x\"\n  resolved \"y\"\n",
			"yarn.lock:3: field resolved set twice in one entry, first on line 2"},
		{"yarn missing value", "yarn.lock", "a@1:\n  version\n",
			"yarn.lock:2: field version has no value"},
		{"yarn unterminated string", "yarn.lock", "a@1:\n  version \"1\n",
			"yarn.lock:2: unterminated quoted string"},
		{"yarn text after value", "yarn.lock", "a@1:\n  version \"1\" \"2\"\n",
			"yarn.lock:2: unexpected text after the value of version"},
		{"yarn selectors", "yarn.lock", "\"a@1\" \"a@2\":\n  version \"1\"\n",
			"yarn.lock:1: expected ',' between selectors"},
		{"yarn merge conflict", "yarn.lock", "a@1:\n  version \"1\"\n<<<<<<< HEAD\n",
			"yarn.lock:3: unresolved merge conflict"},
		{"yarn empty selector", "yarn.lock", "a@1, :\n  version \"1\"\n",
			"yarn.lock:1: empty selector in the entry line"},
	})
}

func TestLoadMissing(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "yarn.lock"))
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("error = %v, want one wrapping fs.ErrNotExist", err)
	}
}
