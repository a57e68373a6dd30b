package manifests

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"gopkg.in/yaml.v3"
)

func compileSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	f, err := os.Open("schema/manifest.v1.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	const url = "https://sluice.dev/schemas/manifest.v1.schema.json"
	if err := c.AddResource(url, doc); err != nil {
		t.Fatal(err)
	}
	schema, err := c.Compile(url)
	if err != nil {
		t.Fatal(err)
	}
	return schema
}

// yamlToJSON converts a YAML document into the values that the schema
// validator expects, the way an editor plugin would see the file.
func yamlToJSON(t *testing.T, data []byte) any {
	t.Helper()
	var v any
	if err := yaml.Unmarshal(data, &v); err != nil {
		t.Fatal(err)
	}
	raw, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	return inst
}

func TestSchemaAcceptsTestdata(t *testing.T) {
	schema := compileSchema(t)
	files, err := filepath.Glob("testdata/valid/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no manifests in testdata/valid: %v", err)
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := Parse(file, data); err != nil {
				t.Errorf("Parse: %v", err)
			}
			if err := schema.Validate(yamlToJSON(t, data)); err != nil {
				t.Errorf("schema: %v", err)
			}
		})
	}
}

// TestSchemaRejects checks that the schema catches the problems that a
// JSON Schema can express, so editors flag them before Parse does.
func TestSchemaRejects(t *testing.T) {
	schema := compileSchema(t)
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
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Parse("m.yaml", []byte(tt.yaml)); err == nil {
				t.Errorf("Parse accepted the manifest")
			}
			if err := schema.Validate(yamlToJSON(t, []byte(tt.yaml))); err == nil {
				t.Errorf("schema accepted the manifest")
			}
		})
	}
}
