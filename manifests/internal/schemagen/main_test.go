package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

func TestSchemaFilesUpToDate(t *testing.T) {
	tests := []struct {
		name string
		// dir is the folder of the schema's package, relative to this one.
		dir  string
		file string
		// generate is the package pattern whose go generate rewrites file.
		generate string
	}{
		{"manifest", "../..", "schema/manifest.v1.schema.json", "./manifests"},
		{"policy", "../../policy", "schema/policy.v1.schema.json", "./manifests/policy"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := generate(schemas[tt.name], tt.dir)
			if err != nil {
				t.Fatal(err)
			}
			want, err := os.ReadFile(filepath.Join(tt.dir, tt.file))
			if err != nil {
				t.Fatalf("%v: run go generate %s", err, tt.generate)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s differs from what the Go types generate: run go generate %s",
					tt.file, tt.generate)
			}
		})
	}
}
