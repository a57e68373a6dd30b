// Package pluginrequest_test checks the Backstage scaffolder template that
// files Sluice plugin requests: against Backstage's own template schema,
// and by rendering the request body it sends and validating that against
// Sluice's plugin request schema and parser.
package pluginrequest_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"gopkg.in/yaml.v3"

	"github.com/sluice-dev/sluice/manifests"
)

// schemaBase is the base URL under which Backstage's schemas are
// registered, so that their relative IDs ("Entity", "common#relation")
// resolve to each other.
const schemaBase = "https://backstage.invalid/schema/"

// ownSchema is Sluice's own description of a v1beta3 Template, used when
// Backstage's schema files are not available.
const ownSchema = "testdata/template-v1beta3.schema.json"

// sampleParameters are the values a platform engineer would enter.
var sampleParameters = map[string]any{
	"pluginName":      "@backstage-community/plugin-jenkins-common",
	"pluginVersion":   "0.22.0",
	"justification":   "Show Jenkins builds on the catalog pages of our services.",
	"appRepository":   "https://git.example.com/platform/backstage",
	"appRef":          "main",
	"lockfilePath":    "package-lock.json",
	"lockfileContent": `{"name": "app", "lockfileVersion": 3, "requires": true, "packages": {"": {"name": "app"}}}`,
	"owner":           "group:default/team-portal",
	"dataClass":       "internal",
}

// sampleContext is what the scaffolder puts next to the parameters.
var sampleContext = map[string]any{
	"user": map[string]any{"entity": map[string]any{"metadata": map[string]any{"name": "alice"}}},
}

// loadYAML reads a YAML file as the JSON values a validator expects.
func loadYAML(t *testing.T, path string) any {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var v any
	if err := yaml.Unmarshal(data, &v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return toJSON(t, v)
}

// toJSON round-trips v through encoding/json into jsonschema's value types.
func toJSON(t *testing.T, v any) any {
	t.Helper()
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

// templateSchemas compiles the schemas a template is checked against. When
// SLUICE_BACKSTAGE_SCHEMAS names a folder holding Backstage's own schema
// files (Template.v1beta3, Entity, EntityMeta, EntityEnvelope and common
// from the Backstage release in use), the template must pass each of
// EntityEnvelope, Entity and TemplateV1beta3. Otherwise it is checked
// against Sluice's own description of the structure, which covers the
// required fields and their types but not every rule Backstage applies.
func templateSchemas(t *testing.T) []*jsonschema.Schema {
	t.Helper()
	dir := os.Getenv("SLUICE_BACKSTAGE_SCHEMAS")
	if dir == "" {
		t.Logf("checking against %s; set SLUICE_BACKSTAGE_SCHEMAS to use Backstage's schemas", ownSchema)
		c := jsonschema.NewCompiler()
		s, err := c.Compile(ownSchema)
		if err != nil {
			t.Fatal(err)
		}
		return []*jsonschema.Schema{s}
	}
	c := jsonschema.NewCompiler()
	files, err := filepath.Glob(filepath.Join(dir, "*.schema.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("SLUICE_BACKSTAGE_SCHEMAS=%s holds no *.schema.json files", dir)
	}
	for _, file := range files {
		f, err := os.Open(file)
		if err != nil {
			t.Fatal(err)
		}
		doc, err := jsonschema.UnmarshalJSON(f)
		f.Close()
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		docID, _ := doc.(map[string]any)["$id"].(string)
		if err := c.AddResource(schemaBase+docID, doc); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
	}
	var schemas []*jsonschema.Schema
	for _, id := range []string{"EntityEnvelope", "Entity", "TemplateV1beta3"} {
		s, err := c.Compile(schemaBase + id)
		if err != nil {
			t.Fatal(err)
		}
		schemas = append(schemas, s)
	}
	return schemas
}

func TestTemplateMatchesBackstageSchema(t *testing.T) {
	tmpl := loadYAML(t, "template.yaml")
	for _, s := range templateSchemas(t) {
		if err := s.Validate(tmpl); err != nil {
			t.Errorf("template.yaml against %s: %v", s.Location, err)
		}
	}
}

// TestBackstageSchemaRejects checks that the schema catches template
// mistakes, so the test above can fail.
func TestBackstageSchemaRejects(t *testing.T) {
	schemas := templateSchemas(t)
	schema := schemas[len(schemas)-1]
	tests := []struct {
		name string
		edit func(spec map[string]any)
	}{
		{"step without action", func(spec map[string]any) {
			delete(spec["steps"].([]any)[0].(map[string]any), "action")
		}},
		{"missing type", func(spec map[string]any) { delete(spec, "type") }},
		{"parameters a string", func(spec map[string]any) { spec["parameters"] = "plugin" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tmpl := loadYAML(t, "template.yaml").(map[string]any)
			tt.edit(tmpl["spec"].(map[string]any))
			if err := schema.Validate(tmpl); err == nil {
				t.Error("schema accepted the broken template")
			}
		})
	}
}

// TestTemplateParametersAcceptSample compiles each parameter page as the
// JSON Schema the scaffolder form uses and validates the sample values.
func TestTemplateParametersAcceptSample(t *testing.T) {
	tmpl := loadYAML(t, "template.yaml").(map[string]any)
	pages := tmpl["spec"].(map[string]any)["parameters"].([]any)
	seen := map[string]bool{}
	for i, page := range pages {
		c := jsonschema.NewCompiler()
		c.DefaultDraft(jsonschema.Draft7)
		url := fmt.Sprintf("https://sluice.invalid/parameters/%d", i)
		if err := c.AddResource(url, page); err != nil {
			t.Fatal(err)
		}
		s, err := c.Compile(url)
		if err != nil {
			t.Fatalf("parameter page %d is not a valid JSON Schema: %v", i, err)
		}
		values := map[string]any{}
		for name := range page.(map[string]any)["properties"].(map[string]any) {
			value, ok := sampleParameters[name]
			if !ok {
				t.Fatalf("no sample value for parameter %s", name)
			}
			values[name], seen[name] = value, true
		}
		if err := s.Validate(toJSON(t, values)); err != nil {
			t.Errorf("parameter page %d rejects the sample values: %v", i, err)
		}
	}
	for name := range sampleParameters {
		if !seen[name] {
			t.Errorf("sample value %s matches no parameter", name)
		}
	}
}

// expression matches a template expression that is a plain property path.
var expression = regexp.MustCompile(`^\$\{\{ *([A-Za-z][\w.]*) *\}\}$`)

// render replaces every string that is one ${{ path }} expression with the
// value at path. It fails on any other use of ${{, because this test does
// not evaluate Nunjucks.
func render(t *testing.T, v any, scope map[string]any) any {
	t.Helper()
	switch x := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, e := range x {
			out[k] = render(t, e, scope)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = render(t, e, scope)
		}
		return out
	case string:
		m := expression.FindStringSubmatch(x)
		if m == nil {
			if strings.Contains(x, "${{") {
				t.Fatalf("expression %q is more than a property path", x)
			}
			return x
		}
		var cur any = scope
		for _, part := range strings.Split(m[1], ".") {
			obj, ok := cur.(map[string]any)
			if !ok || obj[part] == nil {
				t.Fatalf("expression %q: %s is not set", x, part)
			}
			cur = obj[part]
		}
		return cur
	}
	return v
}

func TestTemplateBodyIsPluginRequest(t *testing.T) {
	tmpl := loadYAML(t, "template.yaml").(map[string]any)
	steps := tmpl["spec"].(map[string]any)["steps"].([]any)
	var input map[string]any
	for _, s := range steps {
		if step := s.(map[string]any); step["action"] == "http:backstage:request" {
			input = step["input"].(map[string]any)
		}
	}
	if input == nil {
		t.Fatal("template has no http:backstage:request step")
	}
	if input["method"] != "POST" || input["path"] != "/proxy/sluice/api/v1/plugin-requests" {
		t.Errorf("request goes to %v %v, want POST /proxy/sluice/api/v1/plugin-requests",
			input["method"], input["path"])
	}
	scope := map[string]any{"parameters": sampleParameters}
	for k, v := range sampleContext {
		scope[k] = v
	}
	body, err := json.Marshal(render(t, input["body"], scope))
	if err != nil {
		t.Fatal(err)
	}

	f, err := os.Open("../../../manifests/schema/plugin-request.v1.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	const id = "https://sluice.dev/schemas/plugin-request.v1.schema.json"
	if err := c.AddResource(id, doc); err != nil {
		t.Fatal(err)
	}
	schema, err := c.Compile(id)
	if err != nil {
		t.Fatal(err)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if err := schema.Validate(inst); err != nil {
		t.Errorf("rendered body against the plugin request schema: %v\n%s", err, body)
	}
	req, err := manifests.ParsePluginRequest("template body", body)
	if err != nil {
		t.Fatalf("rendered body: %v\n%s", err, body)
	}
	if req.App.Lockfile != sampleParameters["lockfileContent"] {
		t.Errorf("body carries lockfile %q, want the pasted content", req.App.Lockfile)
	}
	if req.Plugin.Name != sampleParameters["pluginName"] || req.Requester != "alice" {
		t.Errorf("parsed body: %+v", req)
	}
}
