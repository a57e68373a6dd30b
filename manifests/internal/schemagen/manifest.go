package main

import (
	"fmt"

	"github.com/invopop/jsonschema"

	"github.com/sluice-dev/sluice/manifests"
)

// packageShorthand approximates "name@spec" for the schema. Parse checks
// names and version specs fully.
const packageShorthand = `^(@[a-z0-9~][a-z0-9._~-]*/)?[a-z0-9~-][a-z0-9._~-]*(@.+)?$`

var manifestSchema = schema{
	value:      &manifests.Manifest{},
	importPath: "github.com/sluice-dev/sluice/manifests",
	id:         "https://sluice.dev/schemas/manifest.v1.schema.json",
	title:      "Sluice manifest " + manifests.APIVersionV1,
	adjust:     adjustManifest,
}

// adjustManifest adds the rules that struct tags cannot express: the "name@spec"
// shorthand for packages, the reference shorthand for images, and that a
// spec must request something.
func adjustManifest(s *jsonschema.Schema) error {
	minLength := uint64(1)
	defs := s.Definitions
	for _, name := range []string{"NPMPackage", "NPMSpec", "Spec", "Image"} {
		if defs[name] == nil {
			return fmt.Errorf("schema has no definition %s: update adjustManifest to the types", name)
		}
	}
	object := defs["NPMPackage"]
	defs["NPMPackage"] = &jsonschema.Schema{
		Description: object.Description,
		OneOf: []*jsonschema.Schema{
			{
				Type:        "string",
				Description: `Shorthand "name@spec", such as lodash@4.17.21; without @spec the latest version.`,
				Pattern:     packageShorthand,
			},
			object,
		},
	}
	object.Description = ""

	image := defs["Image"]
	defs["Image"] = &jsonschema.Schema{
		Description: image.Description,
		OneOf: []*jsonschema.Schema{
			{
				Type:        "string",
				Description: `Shorthand reference, such as docker.io/library/alpine:3.20 or repository@sha256:<hex>.`,
				MinLength:   &minLength,
			},
			image,
		},
	}
	image.Description = ""
	image.OneOf = []*jsonschema.Schema{
		{Required: []string{"ref"}},
		{Required: []string{"repository", "tags"}},
	}

	defs["NPMSpec"].AnyOf = []*jsonschema.Schema{
		{Required: []string{"packages"}},
		{Required: []string{"lockfiles"}},
	}
	minProperties := uint64(1)
	defs["Spec"].MinProperties = &minProperties
	return nil
}
