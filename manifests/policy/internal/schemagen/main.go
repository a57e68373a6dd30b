// Command schemagen writes the JSON Schema of Sluice risk policies,
// generated from the Go types of package policy and their doc comments. It
// runs from the policy folder through `go generate ./manifests/policy`.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"reflect"

	"github.com/invopop/jsonschema"

	"github.com/sluice-dev/sluice/manifests/policy"
)

const (
	// schemaID identifies the schema; nothing is served at that address.
	schemaID = "https://sluice.dev/schemas/policy.v1.schema.json"

	// policyImportPath is the package whose source comments become
	// descriptions; generate reads that source from the working folder.
	policyImportPath = "github.com/sluice-dev/sluice/manifests/policy"

	// goDuration approximates what time.ParseDuration accepts, without
	// signs, because policies only take positive durations.
	goDuration = `^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$`

	// dnsLabel is the pattern of role names.
	dnsLabel = `^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
)

func main() {
	out := flag.String("o", "schema/policy.v1.schema.json",
		"output file, relative to the policy package folder")
	flag.Parse()
	data, err := generate()
	if err != nil {
		fmt.Fprintln(os.Stderr, "schemagen:", err)
		os.Exit(1)
	}
	if err := os.WriteFile(*out, data, 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "schemagen:", err)
		os.Exit(1)
	}
}

// generate returns the schema as indented JSON. The working folder must be
// the policy package folder, because the doc comments are read from the Go
// files there.
func generate() ([]byte, error) {
	r := &jsonschema.Reflector{
		RequiredFromJSONSchemaTags: true,
		ExpandedStruct:             true,
		Mapper:                     mapType,
	}
	if err := r.AddGoComments(policyImportPath, "."); err != nil {
		return nil, fmt.Errorf("read doc comments of %s: %w", policyImportPath, err)
	}
	s := r.Reflect(&policy.Policy{})
	s.ID = schemaID
	s.Title = "Sluice risk policy " + policy.APIVersionV1
	if err := adjust(s); err != nil {
		return nil, err
	}

	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(s); err != nil {
		return nil, fmt.Errorf("encode schema: %w", err)
	}
	return buf.Bytes(), nil
}

// mapType gives the schema of the types that YAML writes differently from
// their Go shape: durations as strings and lists that may be one string.
func mapType(t reflect.Type) *jsonschema.Schema {
	switch t {
	case reflect.TypeFor[policy.Duration]():
		return &jsonschema.Schema{Type: "string", Pattern: goDuration}
	case reflect.TypeFor[policy.StringList]():
		item := &jsonschema.Schema{Type: "string", MinLength: ptr(uint64(1))}
		return &jsonschema.Schema{OneOf: []*jsonschema.Schema{
			item,
			{Type: "array", Items: item, MinItems: ptr(uint64(1))},
		}}
	}
	return nil
}

func ptr[T any](v T) *T { return &v }

// adjust adds the rules that struct tags cannot express. A tier sets
// approval or approvers but not both. Role names are DNS labels, and each
// role lists at least one identity. A rule has at least one condition. List
// conditions with fixed values name only those values.
func adjust(s *jsonschema.Schema) error {
	defs := s.Definitions
	for _, name := range []string{"TierSpec", "Conditions"} {
		if defs[name] == nil {
			return fmt.Errorf("schema has no definition %s: update adjust to the types", name)
		}
	}
	defs["TierSpec"].OneOf = []*jsonschema.Schema{
		{Required: []string{"approval"}, Not: &jsonschema.Schema{Required: []string{"expiresAfter"}}},
		{Required: []string{"approvers"}},
	}
	defs["Conditions"].MinProperties = ptr(uint64(1))
	fixed := map[string][]string{
		"source":            policy.Sources,
		"license":           policy.LicenseStatuses,
		"upstreamSignature": policy.SignatureProblems,
	}
	for field, values := range fixed {
		prop, ok := defs["Conditions"].Properties.Get(field)
		if !ok {
			return fmt.Errorf("schema has no condition %s: update adjust to the types", field)
		}
		enum := make([]any, len(values))
		for i, v := range values {
			enum[i] = v
		}
		item := &jsonschema.Schema{Type: "string", Enum: enum}
		prop.OneOf = []*jsonschema.Schema{item, {Type: "array", Items: item, MinItems: ptr(uint64(1))}}
	}
	roles, ok := s.Properties.Get("roles")
	if !ok {
		return fmt.Errorf("schema has no property roles: update adjust to the types")
	}
	roles.PropertyNames = &jsonschema.Schema{Pattern: dnsLabel, MaxLength: ptr(uint64(63))}
	roles.AdditionalProperties = &jsonschema.Schema{Type: "array", MinItems: ptr(uint64(1)),
		UniqueItems: true, Items: &jsonschema.Schema{Type: "string", MinLength: ptr(uint64(1))}}
	return nil
}
