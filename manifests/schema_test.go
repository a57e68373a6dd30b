package manifests

import (
	"strings"
	"testing"

	"github.com/sluice-dev/sluice/manifests/internal/schematest"
)

func TestSchemaAcceptsTestdata(t *testing.T) {
	schematest.New(t, "manifest", Parse).AcceptsFiles(t, "testdata/valid/*.yaml")
}

// TestSchemaRejects checks that the schema catches the problems that a
// JSON Schema can express, so editors flag them before Parse does.
func TestSchemaRejects(t *testing.T) {
	c := schematest.New(t, "manifest", Parse)
	valid := npmSpec("    packages: [lodash]\n")
	tests := []struct {
		name, yaml string
	}{
		{"unsupported apiVersion", strings.Replace(valid, "sluice.dev/v1", "sluice.dev/v2", 1)},
		{"missing owner", strings.Replace(valid, "  owner: team-platform\n", "", 1)},
		{"invalid name", strings.Replace(valid, "name: frontend", "name: Front_End", 1)},
		{"unknown field", valid + "status: {}\n"},
		{"empty spec", header + "spec: {}\n"},
		{"empty npm", npmSpec("    dependencies: {peer: false}\n")},
		{"empty packages", npmSpec("    packages: []\n")},
		{"package name with capitals", npmSpec("    packages: [Lodash]\n")},
		{"unknown package field", npmSpec("    packages: [{name: lodash, verison: '1'}]\n")},
		{"latest below one", npmSpec("    packages: [{name: lodash, latest: 0}]\n")},
		{"unquoted version", npmSpec("    packages: [{name: lodash, version: 4.17}]\n")},
		{"label not a string", strings.Replace(valid, "  dataClass: internal\n",
			"  dataClass: internal\n  labels: {cost-center: 4711}\n", 1)},
		{"absolute lockfile path", npmSpec("    lockfiles: [{path: /srv/yarn.lock}]\n")},
	}
	for _, tt := range tests {
		c.Rejects(t, tt.name, tt.yaml)
	}
}
