package policy

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"gopkg.in/yaml.v3"
)

func compileSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	f, err := os.Open("schema/policy.v1.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	const url = "https://sluice.dev/schemas/policy.v1.schema.json"
	if err := c.AddResource(url, doc); err != nil {
		t.Fatal(err)
	}
	schema, err := c.Compile(url)
	if err != nil {
		t.Fatal(err)
	}
	return schema
}

// yamlToJSON converts a YAML document into the values that the schema
// validator expects, the way an editor plugin would see the file.
func yamlToJSON(t *testing.T, data []byte) any {
	t.Helper()
	var v any
	if err := yaml.Unmarshal(data, &v); err != nil {
		t.Fatal(err)
	}
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

func TestSchemaAcceptsTestdata(t *testing.T) {
	schema := compileSchema(t)
	files, err := filepath.Glob("testdata/valid/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no policies in testdata/valid: %v", err)
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := Parse(file, data); err != nil {
				t.Errorf("Parse: %v", err)
			}
			if err := schema.Validate(yamlToJSON(t, data)); err != nil {
				t.Errorf("schema: %v", err)
			}
		})
	}
}

// TestSchemaRejects checks that the schema catches the problems that a
// JSON Schema can express, so editors flag them before Parse does.
func TestSchemaRejects(t *testing.T) {
	schema := compileSchema(t)
	valid := head + "default: low\n"
	rule := func(r string) string { return head + "rules:\n  - " + r + "\ndefault: low\n" }
	tests := []struct {
		name, yaml string
	}{
		{"wrong kind", strings.Replace(valid, "RiskPolicy", "Policy", 1)},
		{"missing default", head},
		{"default blocked", head + "default: blocked\n"},
		{"unknown field", valid + "status: {}\n"},
		{"approval and expiry", strings.Replace(valid, "{approval: auto}",
			"{approval: auto, expiresAfter: 1h}", 1)},
		{"approval and approvers", strings.Replace(valid, "{approval: auto}",
			"{approval: auto, approvers: [{role: lead}]}", 1)},
		{"no approval at all", strings.Replace(valid, "{approval: auto}", "{}", 1)},
		{"count zero", strings.Replace(valid, "{role: lead}", "{role: lead, count: 0}", 1)},
		{"expiry in days", strings.Replace(valid, "24h", "7d", 1)},
		{"role without members", strings.Replace(valid, "sec: [carol]", "sec: []", 1)},
		{"role name with capitals", strings.Replace(valid, "sec: [carol]", "Sec: [carol]", 1)},
		{"rule without conditions", rule("{name: r, when: {}, then: medium}")},
		{"unknown condition", rule("{name: r, when: {installScript: true}, then: medium}")},
		{"severity unknown", rule("{name: r, when: {severity: severe}, then: medium}")},
		{"epss above one", rule("{name: r, when: {epssAtLeast: 2}, then: medium}")},
		{"source unknown", rule("{name: r, when: {source: [package, helm]}, then: medium}")},
		{"license status unknown", rule("{name: r, when: {license: forbidden}, then: medium}")},
		{"then unknown", rule("{name: r, when: {kev: true}, then: critical}")},
		{"kev not a boolean", rule("{name: r, when: {kev: 'yes'}, then: medium}")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Parse("p.yaml", []byte(tt.yaml)); err == nil {
				t.Errorf("Parse accepted the policy")
			}
			if err := schema.Validate(yamlToJSON(t, []byte(tt.yaml))); err == nil {
				t.Errorf("schema accepted the policy")
			}
		})
	}
}
