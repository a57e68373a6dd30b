package main

import (
	"bytes"
	"os"
	"testing"
)

func TestSchemaFileUpToDate(t *testing.T) {
	t.Chdir("../..")
	got, err := generate()
	if err != nil {
		t.Fatal(err)
	}
	const file = "schema/policy.v1.schema.json"
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("%v: run go generate ./manifests/policy", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from what the Go types generate: run go generate ./manifests/policy", file)
	}
}
