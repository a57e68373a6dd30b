// Command schemagen writes the JSON Schema of Sluice manifests or risk
// policies, generated from the Go types of package manifests or package
// policy and their doc comments. It runs from the folder of that package
// through `go generate ./manifests/...`.
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
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"

	"github.com/invopop/jsonschema"
)

// schema describes one JSON Schema that schemagen writes.
type schema struct {
	// value points to the Go type that the schema describes.
	value any
	// importPath is the package whose source comments become descriptions.
	importPath string
	// id identifies the schema; nothing is served at that address.
	id    string
	title string
	// mapper, when set, gives the schema of types that YAML writes
	// differently from their Go shape.
	mapper func(reflect.Type) *jsonschema.Schema
	// adjust adds the rules that struct tags cannot express.
	adjust func(*jsonschema.Schema) error
}

// schemas lists the schemas by the name that the -type flag takes.
var schemas = map[string]schema{
	"manifest": manifestSchema,
	"policy":   policySchema,
}

func main() {
	typeName := flag.String("type", "", "schema to write: manifest or policy")
	out := flag.String("o", "", "output file, relative to the folder of the schema's package")
	flag.Parse()
	s, ok := schemas[*typeName]
	if !ok || *out == "" {
		fmt.Fprintf(os.Stderr, "schemagen: set -type to one of %s, and -o to the output file\n",
			strings.Join(slices.Sorted(maps.Keys(schemas)), ", "))
		os.Exit(2)
	}
	data, err := generate(s, ".")
	if err != nil {
		fmt.Fprintln(os.Stderr, "schemagen:", err)
		os.Exit(1)
	}
	if err := os.WriteFile(*out, data, 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "schemagen:", err)
		os.Exit(1)
	}
}

// generate returns the schema s as indented JSON. dir is the folder of the
// package s.importPath, whose Go files hold the doc comments.
func generate(s schema, dir string) ([]byte, error) {
	r := &jsonschema.Reflector{
		RequiredFromJSONSchemaTags: true,
		ExpandedStruct:             true,
		Mapper:                     s.mapper,
	}
	comments, err := docComments(s.importPath, dir)
	if err != nil {
		return nil, fmt.Errorf("read doc comments of %s: %w", s.importPath, err)
	}
	r.CommentMap = comments
	js := r.Reflect(s.value)
	js.ID = jsonschema.ID(s.id)
	js.Title = s.title
	if err := s.adjust(js); err != nil {
		return nil, err
	}

	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(js); err != nil {
		return nil, fmt.Errorf("encode schema: %w", err)
	}
	return buf.Bytes(), nil
}

// docComments returns the doc comments of the exported types and struct
// fields declared in the Go files of dir, the folder of package importPath, keyed the way
// jsonschema.Reflector.CommentMap expects. Unlike AddGoComments it skips
// subfolders, which hold other packages. Types get the first sentence of
// their comment, fields the whole comment.
func docComments(importPath, dir string) (map[string]string, error) {
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
				addTypeComments(comments, importPath, gen, spec.(*ast.TypeSpec))
			}
		}
	}
	return comments, nil
}

func addTypeComments(comments map[string]string, importPath string, gen *ast.GenDecl,
	spec *ast.TypeSpec) {
	if !spec.Name.IsExported() {
		return
	}
	key := importPath + "." + spec.Name.Name
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
