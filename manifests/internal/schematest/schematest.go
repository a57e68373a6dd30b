// Package schematest checks in tests that a generated JSON Schema and the Go
// parser of the same file kind, manifest or policy, agree: both accept the
// valid example files and both reject the invalid documents.
package schematest

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"gopkg.in/yaml.v3"
)

// Checker validates YAML documents of one kind with both the schema and
// the parser.
type Checker struct {
	schema *jsonschema.Schema
	kind   string
	parse  func(file string, data []byte) error
}

// New compiles the JSON Schema of kind, such as "manifest", from
// schema/KIND.v1.schema.json in the test's working folder. parse is the Go
// parser of that kind.
func New[T any](t *testing.T, kind string,
	parse func(file string, data []byte) (T, error)) *Checker {
	t.Helper()
	f, err := os.Open("schema/" + kind + ".v1.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	id := "https://sluice.dev/schemas/" + kind + ".v1.schema.json"
	if err := c.AddResource(id, doc); err != nil {
		t.Fatal(err)
	}
	schema, err := c.Compile(id)
	if err != nil {
		t.Fatal(err)
	}
	return &Checker{schema: schema, kind: kind, parse: func(file string, data []byte) error {
		_, err := parse(file, data)
		return err
	}}
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

// AcceptsFiles checks, in a subtest per file, that the parser and the
// schema accept every file that pattern matches, and fails when none does.
func (c *Checker) AcceptsFiles(t *testing.T, pattern string) {
	files, err := filepath.Glob(pattern)
	if err != nil || len(files) == 0 {
		t.Fatalf("no %s files match %s: %v", c.kind, pattern, err)
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			if err := c.parse(file, data); err != nil {
				t.Errorf("Parse: %v", err)
			}
			if err := c.schema.Validate(yamlToJSON(t, data)); err != nil {
				t.Errorf("schema: %v", err)
			}
		})
	}
}

// Rejects checks in a subtest called name that the parser and the schema
// both reject doc.
func (c *Checker) Rejects(t *testing.T, name, doc string) {
	t.Run(name, func(t *testing.T) {
		if err := c.parse(c.kind+".yaml", []byte(doc)); err == nil {
			t.Errorf("Parse accepted the %s", c.kind)
		}
		if err := c.schema.Validate(yamlToJSON(t, []byte(doc))); err == nil {
			t.Errorf("schema accepted the %s", c.kind)
		}
	})
}
