// Package manifests reads and validates Sluice manifests: the YAML files, kept
// in Git, that list the artifacts that may enter the air gap and name the
// team answerable for them.
//
// Parse and Load walk the yaml.v3 node tree instead of decoding into structs,
// so every problem carries the file, line, column and field path, and
// validation reports all problems of a file at once as errors.Join of *Error.
// A file holds exactly one manifest: a second YAML document is an error.
//
// The package reads files and does nothing else: it resolves lockfile paths
// and checks that they exist, but parsing lockfiles belongs to the lockfile
// subpackage and fetching to the ingest stage.
//
// The JSON Schema in schema/manifest.v1.schema.json is generated from the
// types in this package by `go generate ./manifests`; editors and CI can
// validate manifests with it before Sluice sees them.
//
// The package also reads plugin requests (PluginRequest): the JSON body
// that asks for a Backstage plugin on top of an app. Its schema,
// schema/plugin-request.v1.schema.json, is written by hand, and a test
// checks that it and ParsePluginRequest accept and reject the same
// documents.
package manifests

//go:generate go run ./internal/schemagen -type manifest -o schema/manifest.v1.schema.json
