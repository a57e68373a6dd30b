package scanners

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// compileSchema compiles a published schema from testdata/schemas, with
// the schemas it refers to registered under their published URLs.
func compileSchema(t *testing.T, main string, files map[string]string) *jsonschema.Schema {
	t.Helper()
	c := jsonschema.NewCompiler()
	for url, file := range files {
		f, err := os.Open(filepath.Join("testdata", "schemas", file))
		if err != nil {
			t.Fatal(err)
		}
		doc, err := jsonschema.UnmarshalJSON(f)
		f.Close()
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		if err := c.AddResource(url, doc); err != nil {
			t.Fatal(err)
		}
	}
	s, err := c.Compile(main)
	if err != nil {
		t.Fatalf("compile %s: %v", main, err)
	}
	return s
}

func TestSBOMsMatchPublishedSchemas(t *testing.T) {
	spdx := compileSchema(t, "http://spdx.org/rdf/terms/2.3",
		map[string]string{"http://spdx.org/rdf/terms/2.3": "spdx-2.3.schema.json"})
	cdx := compileSchema(t, "http://cyclonedx.org/schema/bom-1.6.schema.json", map[string]string{
		"http://cyclonedx.org/schema/bom-1.6.schema.json":  "bom-1.6.schema.json",
		"http://cyclonedx.org/schema/spdx.schema.json":     "spdx.schema.json",
		"http://cyclonedx.org/schema/jsf-0.82.schema.json": "jsf-0.82.schema.json",
	})
	for _, tt := range []struct{ name, version string }{
		{"lodash", "4.17.20"}, {"chokidar", "3.5.3"}, {"@types/ms", "0.7.34"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := fixtureSBOM(t, tt.name, tt.version)
			docs, err := EncodeSBOM(s)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range []struct {
				format string
				schema *jsonschema.Schema
				doc    []byte
			}{{"SPDX 2.3", spdx, docs.SPDX}, {"CycloneDX 1.6", cdx, docs.CycloneDX}} {
				inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(c.doc))
				if err != nil {
					t.Fatal(err)
				}
				if err := c.schema.Validate(inst); err != nil {
					t.Errorf("%s document does not match its schema: %v", c.format, err)
				}
			}
		})
	}
}
