package main

import (
	"fmt"
	"reflect"

	"github.com/invopop/jsonschema"

	"github.com/sluice-dev/sluice/manifests/policy"
)

const (
	// goDuration approximates what time.ParseDuration accepts, without
	// signs, because policies only take positive durations.
	goDuration = `^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$`

	// dnsLabel is the pattern of role names.
	dnsLabel = `^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
)

var policySchema = schema{
	value:      &policy.Policy{},
	importPath: "github.com/sluice-dev/sluice/manifests/policy",
	id:         "https://sluice.dev/schemas/policy.v1.schema.json",
	title:      "Sluice risk policy " + policy.APIVersionV1,
	mapper:     mapPolicyType,
	adjust:     adjustPolicy,
}

// mapPolicyType gives the schema of the types that YAML writes differently from
// their Go shape: durations as strings and lists that may be one string.
func mapPolicyType(t reflect.Type) *jsonschema.Schema {
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

// adjustPolicy adds the rules that struct tags cannot express. A tier sets
// approval or approvers but not both. Role names are DNS labels, and each
// role lists at least one identity. A rule has at least one condition. List
// conditions with fixed values name only those values.
func adjustPolicy(s *jsonschema.Schema) error {
	defs := s.Definitions
	for _, name := range []string{"TierSpec", "Conditions"} {
		if defs[name] == nil {
			return fmt.Errorf("schema has no definition %s: update adjustPolicy to the types", name)
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
			return fmt.Errorf("schema has no condition %s: update adjustPolicy to the types", field)
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
		return fmt.Errorf("schema has no property roles: update adjustPolicy to the types")
	}
	roles.PropertyNames = &jsonschema.Schema{Pattern: dnsLabel, MaxLength: ptr(uint64(63))}
	roles.AdditionalProperties = &jsonschema.Schema{Type: "array", MinItems: ptr(uint64(1)),
		UniqueItems: true, Items: &jsonschema.Schema{Type: "string", MinLength: ptr(uint64(1))}}
	return nil
}
