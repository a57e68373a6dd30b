// Command schemagen writes the JSON Schema of Sluice manifests, generated
// from the Go types of package manifests and their doc comments. It runs
// from the manifests folder through `go generate ./manifests`.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"go/ast"
	"go/doc"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strings"

	"github.com/invopop/jsonschema"

	"github.com/sluice-dev/sluice/manifests"
)

const (
	// schemaID identifies the schema; nothing is served at that address.
	schemaID = "https://sluice.dev/schemas/manifest.v1.schema.json"

	// manifestsImportPath is the package whose source comments become
	// descriptions; generate reads that source from the working folder.
	manifestsImportPath = "github.com/sluice-dev/sluice/manifests"

	// packageShorthand approximates "name@spec" for the schema. Parse checks
	// names and version specs fully.
	packageShorthand = `^(@[a-z0-9~][a-z0-9._~-]*/)?[a-z0-9~-][a-z0-9._~-]*(@.+)?$`
)

func main() {
	out := flag.String("o", "schema/manifest.v1.schema.json",
		"output file, relative to the manifests package folder")
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
// the manifests package folder, because the doc comments are read from
// the Go files there.
func generate() ([]byte, error) {
	r := &jsonschema.Reflector{
		RequiredFromJSONSchemaTags: true,
		ExpandedStruct:             true,
	}
	comments, err := docComments(".")
	if err != nil {
		return nil, fmt.Errorf("read doc comments of %s: %w", manifestsImportPath, err)
	}
	r.CommentMap = comments
	s := r.Reflect(&manifests.Manifest{})
	s.ID = schemaID
	s.Title = "Sluice manifest " + manifests.APIVersionV1
	if err := adjust(s.Definitions); err != nil {
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

// adjust adds the rules that struct tags cannot express: the "name@spec"
// shorthand for packages and that a spec must request something.
func adjust(defs jsonschema.Definitions) error {
	for _, name := range []string{"NPMPackage", "NPMSpec", "Spec"} {
		if defs[name] == nil {
			return fmt.Errorf("schema has no definition %s: update adjust to the types", name)
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

	defs["NPMSpec"].AnyOf = []*jsonschema.Schema{
		{Required: []string{"packages"}},
		{Required: []string{"lockfiles"}},
	}
	minProperties := uint64(1)
	defs["Spec"].MinProperties = &minProperties
	return nil
}

// docComments returns the doc comments of the exported types and struct
// fields declared in the Go files of dir, keyed the way
// jsonschema.Reflector.CommentMap expects. Unlike AddGoComments it skips
// subfolders, which hold other packages. Types get the first sentence of
// their comment, fields the whole comment.
func docComments(dir string) (map[string]string, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		return nil, err
	}
	comments := make(map[string]string)
	fset := token.NewFileSet()
	for _, file := range files {
		if strings.HasSuffix(file, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, file, nil, parser.ParseComments)
		if err != nil {
			return nil, err
		}
		for _, decl := range f.Decls {
			gen, ok := decl.(*ast.GenDecl)
			if !ok || gen.Tok != token.TYPE {
				continue
			}
			for _, spec := range gen.Specs {
				addTypeComments(comments, gen, spec.(*ast.TypeSpec))
			}
		}
	}
	return comments, nil
}

func addTypeComments(comments map[string]string, gen *ast.GenDecl, spec *ast.TypeSpec) {
	if !spec.Name.IsExported() {
		return
	}
	key := manifestsImportPath + "." + spec.Name.Name
	text := spec.Doc.Text()
	if text == "" && len(gen.Specs) == 1 {
		text = gen.Doc.Text()
	}
	if synopsis := new(doc.Package).Synopsis(text); synopsis != "" {
		comments[key] = synopsis
	}
	st, ok := spec.Type.(*ast.StructType)
	if !ok {
		return
	}
	for _, field := range st.Fields.List {
		text := strings.TrimSpace(field.Doc.Text())
		if text == "" {
			text = strings.TrimSpace(field.Comment.Text())
		}
		for _, name := range field.Names {
			if name.IsExported() && text != "" {
				comments[key+"."+name.Name] = text
			}
		}
	}
}
