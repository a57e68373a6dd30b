package manifests

import (
	"fmt"
	"strings"
	"testing"
)

// wantProblem is one expected *Error: where, in which field, and a part
// of the message.
type wantProblem struct {
	at       string // "line:column", or "" for a problem of the whole file
	field    string
	contains string
}

func (w wantProblem) String() string {
	return fmt.Sprintf("%s %s: ...%s...", w.at, w.field, w.contains)
}

func npmSpec(lines string) string {
	return header + "spec:\n  npm:\n" + lines
}

func TestParseInvalid(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want []wantProblem
	}{
		{
			name: "unsupported apiVersion",
			yaml: strings.Replace(npmSpec("    packages: [lodash]\n"), "sluice.dev/v1", "sluice.dev/v2", 1),
			want: []wantProblem{{"1:13", "apiVersion",
				`unsupported version "sluice.dev/v2": supported versions are sluice.dev/v1`}},
		},
		{
			name: "wrong kind",
			yaml: strings.Replace(npmSpec("    packages: [lodash]\n"), "kind: Manifest", "kind: Policy", 1),
			want: []wantProblem{{"2:7", "kind", `unsupported kind "Policy": expected Manifest`}},
		},
		{
			name: "missing metadata and spec",
			yaml: "apiVersion: sluice.dev/v1\nkind: Manifest\n",
			want: []wantProblem{
				{"1:1", "metadata", "missing: add name, owner and dataClass"},
				{"1:1", "spec", "missing: add npm.packages, npm.lockfiles or images"},
			},
		},
		{
			name: "invalid schedule",
			yaml: header + "spec:\n  schedule: \"61 * * * *\"\n  npm:\n    packages: [lodash]\n",
			want: []wantProblem{{"8:13", "spec.schedule", `invalid cron schedule "61 * * * *"`}},
		},
		{
			name: "invalid manifest name",
			yaml: strings.Replace(npmSpec("    packages: [lodash]\n"), "name: frontend",
				"name: Front_End", 1),
			want: []wantProblem{{"4:9", "metadata.name", `invalid name "Front_End": use lowercase`}},
		},
		{
			name: "manifest name too long",
			yaml: strings.Replace(npmSpec("    packages: [lodash]\n"), "name: frontend",
				"name: "+strings.Repeat("a", 64), 1),
			want: []wantProblem{{"4:9", "metadata.name", "is 64 characters long: use at most 63"}},
		},
		{
			name: "missing owner and blank dataClass",
			yaml: "apiVersion: sluice.dev/v1\nkind: Manifest\nmetadata:\n  name: a\n  dataClass: \" \"\n" +
				"spec:\n  npm:\n    packages: [lodash]\n",
			want: []wantProblem{
				{"3:1", "metadata.owner", "missing: name the team answerable"},
				{"5:14", "metadata.dataClass", "must not be blank"},
			},
		},
		{
			name: "null owner",
			yaml: strings.Replace(npmSpec("    packages: [lodash]\n"), "owner: team-platform", "owner:", 1),
			want: []wantProblem{{"5:3", "metadata.owner", "missing: name the team answerable"}},
		},
		{
			name: "unknown top-level field",
			yaml: strings.Replace(npmSpec("    packages: [lodash]\n"), "spec:", "specs:", 1),
			want: []wantProblem{
				{"1:1", "spec", "missing"},
				{"7:1", "", `unknown field "specs": did you mean "spec"?`},
			},
		},
		{
			name: "unknown package field",
			yaml: npmSpec("    packages:\n      - name: lodash\n        verison: 4.17.21\n"),
			want: []wantProblem{{"11:9", "spec.npm.packages[0]",
				`unknown field "verison": did you mean "version"?`}},
		},
		{
			name: "unknown field far from any",
			yaml: npmSpec("    packages: [lodash]\n    images: [nginx]\n"),
			want: []wantProblem{{"10:5", "spec.npm",
				`unknown field "images": expected one of dependencies, packages, lockfiles`}},
		},
		{
			name: "field set twice",
			yaml: npmSpec("    packages: [lodash]\n    packages: [react]\n"),
			want: []wantProblem{{"10:5", "spec.npm.packages", "field set twice, first on line 9"}},
		},
		{
			name: "invalid version range",
			yaml: npmSpec("    packages:\n      - lodash\n      - react\n      - name: x\n" +
				"        version: \"^^1\"\n"),
			want: []wantProblem{{"13:18", "spec.npm.packages[2].version",
				`invalid npm version range "^^1": use an exact version, a range such as ^1.2.0, ` +
					`or a dist-tag`}},
		},
		{
			name: "invalid version in shorthand",
			yaml: npmSpec("    packages: [\"lodash@>=1 <\"]\n"),
			want: []wantProblem{{"9:16", "spec.npm.packages[0]", `invalid npm version range ">=1 <"`}},
		},
		{
			name: "empty version after at sign",
			yaml: npmSpec("    packages: [lodash@]\n"),
			want: []wantProblem{{"9:16", "spec.npm.packages[0]", `empty version after '@' in "lodash@"`}},
		},
		{
			name: "empty version field",
			yaml: npmSpec("    packages:\n      - {name: lodash, version: \"\"}\n"),
			want: []wantProblem{{"10:33", "spec.npm.packages[0].version", "empty version"}},
		},
		{
			name: "unquoted numeric version",
			yaml: npmSpec("    packages:\n      - name: lodash\n        version: 4.17\n"),
			want: []wantProblem{{"11:18", "spec.npm.packages[0].version",
				`must be a string, not the number 4.17: quote it, as in "4.17"`}},
		},
		{
			name: "invalid package names",
			yaml: npmSpec("    packages:\n      - Lodash\n      - \"@scope\"\n      - .hidden\n" +
				"      - name: \"a b\"\n      - name: " + strings.Repeat("x", 215) + "\n" +
				"      - node_modules\n      - \"@s/a/b\"\n      - \"it's\"\n"),
			want: []wantProblem{
				{"10:9", "spec.npm.packages[0]", `invalid npm package name "Lodash": npm package ` +
					`names are lowercase`},
				{"11:9", "spec.npm.packages[1]", `"@scope": scoped names have the form @scope/name`},
				{"12:9", "spec.npm.packages[2]", "must not start with '.' or '_'"},
				{"13:15", "spec.npm.packages[3].name", "URL-safe characters"},
				{"14:15", "spec.npm.packages[4].name", "215 characters long, npm allows at most 214"},
				{"15:9", "spec.npm.packages[5]", "reserved by npm"},
				{"16:9", "spec.npm.packages[6]", "scoped names have the form @scope/name"},
				{"17:9", "spec.npm.packages[7]", "must not contain any of ~'!()*"},
			},
		},
		{
			name: "latest below one",
			yaml: npmSpec("    packages:\n      - {name: typescript, latest: 0}\n"),
			want: []wantProblem{{"10:36", "spec.npm.packages[0].latest", "must be at least 1, not 0"}},
		},
		{
			name: "latest with dist-tag and exact version",
			yaml: npmSpec("    packages:\n      - {name: typescript, latest: 2, version: beta}\n" +
				"      - {name: react, latest: 2, version: 18.2.0}\n"),
			want: []wantProblem{
				{"10:48", "spec.npm.packages[0].version", `"beta" is a dist-tag`},
				{"11:43", "spec.npm.packages[1].version", "use a range such as ^18.2.0"},
			},
		},
		{
			name: "duplicate packages",
			yaml: npmSpec("    packages:\n      - lodash@4.17.21\n      - name: lodash\n" +
				"        version: 4.17.21\n"),
			want: []wantProblem{{"11:9", "spec.npm.packages[1]",
				"duplicate of spec.npm.packages[0] on line 10 (lodash@4.17.21): remove one"}},
		},
		{
			name: "package of wrong type",
			yaml: npmSpec("    packages:\n      - [lodash]\n      - 42\n"),
			want: []wantProblem{
				{"10:9", "spec.npm.packages[0]", `must be "name@version" or a mapping`},
				{"11:9", "spec.npm.packages[1]", "not the number 42"},
			},
		},
		{
			name: "packages not a list",
			yaml: npmSpec("    packages: lodash\n"),
			want: []wantProblem{{"9:15", "spec.npm.packages", `must be a list, not the string "lodash"`}},
		},
		{
			name: "dependency option not a boolean",
			yaml: npmSpec("    dependencies: {optional: yes please}\n    packages: [lodash]\n"),
			want: []wantProblem{{"9:30", "spec.npm.dependencies.optional",
				`must be true or false, not the string "yes please"`}},
		},
		{
			name: "label not a string",
			yaml: strings.Replace(npmSpec("    packages: [lodash]\n"), "  dataClass: internal\n",
				"  dataClass: internal\n  labels: {cost-center: 4711}\n", 1),
			want: []wantProblem{{"7:25", "metadata.labels.cost-center",
				`must be a string, not the number 4711: quote it, as in "4711"`}},
		},
		{
			name: "empty spec",
			yaml: header + "spec: {}\n",
			want: []wantProblem{{"7:1", "spec", "nothing to ingest: add npm.packages, npm.lockfiles or images"}},
		},
		{
			name: "empty npm",
			yaml: npmSpec("    packages: []\n"),
			want: []wantProblem{{"8:3", "spec.npm", "nothing to ingest: list packages or lockfiles"}},
		},
		{
			name: "lockfile path problems",
			yaml: npmSpec("    lockfiles:\n      - path: /srv/app/yarn.lock\n      - path: a/yarn.lock\n" +
				"      - path: ./a/../a/yarn.lock\n      - {}\n      - path: \"\"\n"),
			want: []wantProblem{
				{"10:15", "spec.npm.lockfiles[0].path", `absolute path "/srv/app/yarn.lock"`},
				{"12:15", "spec.npm.lockfiles[2].path", "same lockfile as spec.npm.lockfiles[1] on line 11"},
				{"13:9", "spec.npm.lockfiles[3].path", "missing: give the lockfile path"},
				{"14:15", "spec.npm.lockfiles[4].path", "empty path"},
			},
		},
		{
			name: "every problem at once",
			yaml: "apiVersion: v1\nkind: Manifest\nmetadata:\n  name: x\n  owner: t\n  dataClass: d\n" +
				"  team: t\nspec:\n  npm:\n    packages: [\"LODASH@^^1\"]\n",
			want: []wantProblem{
				{"1:13", "apiVersion", "unsupported version"},
				{"7:3", "metadata", `unknown field "team"`},
				{"10:16", "spec.npm.packages[0]", "npm package names are lowercase"},
				{"10:16", "spec.npm.packages[0]", `invalid npm version range "^^1"`},
			},
		},
		{
			name: "two documents",
			yaml: npmSpec("    packages: [lodash]\n") + "---\n" + npmSpec("    packages: [react]\n"),
			want: []wantProblem{{"10:1", "", "more than one YAML document in the file"}},
		},
		{
			name: "invalid YAML",
			yaml: header + "spec:\n  npm:\n    packages: [lodash\n",
			want: []wantProblem{{"9", "", "invalid YAML: did not find expected ',' or ']'"}},
		},
		{
			name: "invalid YAML in a block sequence",
			yaml: npmSpec("    packages:\n      - lodash\n     - react\n"),
			want: []wantProblem{{"9", "", "invalid YAML: did not find expected key"}},
		},
		{
			name: "invalid YAML after a top-level list",
			yaml: "- a\nb: c\n",
			want: []wantProblem{{"2", "", "invalid YAML: did not find expected '-' indicator"}},
		},
		{
			name: "invalid YAML from the scanner",
			yaml: header + "spec:\n  npm: @x\n",
			want: []wantProblem{{"8", "", "invalid YAML: found character that cannot start any token"}},
		},
		{
			name: "empty file",
			yaml: "# nothing here\n",
			want: []wantProblem{{"", "", "empty manifest"}},
		},
		{
			name: "document is a list",
			yaml: "- lodash\n",
			want: []wantProblem{{"1:1", "", "must be a mapping, not a list"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { checkInvalid(t, tt.yaml, tt.want) })
	}
}

// checkInvalid parses a manifest that must fail with exactly the problems
// in want.
func checkInvalid(t *testing.T, yaml string, want []wantProblem) {
	t.Helper()
	m, err := Parse("m.yaml", []byte(yaml))
	if err == nil {
		t.Fatalf("Parse succeeded with %+v, want %d problems", m, len(want))
	}
	if m != nil {
		t.Errorf("Parse returned a manifest along with the error")
	}
	got := problemsOf(t, err)
	if len(got) != len(want) {
		t.Errorf("got %d problems, want %d:\n%v", len(got), len(want), err)
	}
	for i := range min(len(got), len(want)) {
		checkProblem(t, got[i], "m.yaml", want[i])
	}
}

// checkProblem compares one problem with the expectation, including how
// Error() renders position and field.
func checkProblem(t *testing.T, got *Error, file string, want wantProblem) {
	t.Helper()
	at := ""
	if got.Line > 0 {
		at = fmt.Sprint(got.Line)
		if got.Column > 0 {
			at += fmt.Sprintf(":%d", got.Column)
		}
	}
	if got.File != file || at != want.at || got.Field != want.field {
		t.Errorf("problem at %s:%s field %q, want %s:%s field %q (%v)",
			got.File, at, got.Field, file, want.at, want.field, got)
	}
	if !strings.Contains(got.Message, want.contains) {
		t.Errorf("message %q does not contain %q", got.Message, want.contains)
	}
	prefix := file + ":"
	if want.at != "" {
		prefix += want.at + ":"
	}
	if !strings.HasPrefix(got.Error(), prefix+" ") {
		t.Errorf("Error() = %q, want prefix %q", got.Error(), prefix+" ")
	}
}
