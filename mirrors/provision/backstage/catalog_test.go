package backstage

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"gopkg.in/yaml.v3"
)

// SchemasEnv names a folder with Backstage's catalog entity schemas
// (Entity.schema.json, EntityMeta.schema.json, shared/common.schema.json,
// kinds/Resource.v1alpha1.schema.json from packages/catalog-model/src/schema
// in the Backstage repository). They are not part of this repository.
const SchemasEnv = "SLUICE_BACKSTAGE_SCHEMAS"

// schemaBase is the URL the schemas' relative $id values resolve against.
const schemaBase = "https://backstage.io/catalog-model/schema/"

// resourceSchema compiles Backstage's Resource schema from the folder
// in SLUICE_BACKSTAGE_SCHEMAS, or returns nil when the variable is unset.
func resourceSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	dir := os.Getenv(SchemasEnv)
	if dir == "" {
		return nil
	}
	c := jsonschema.NewCompiler()
	err := filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() || !strings.HasSuffix(p, ".schema.json") {
			return err
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		doc, err := jsonschema.UnmarshalJSON(f)
		if err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		id, _ := doc.(map[string]any)["$id"].(string)
		if id == "" {
			return fmt.Errorf("%s has no $id", p)
		}
		return c.AddResource(schemaBase+id, doc)
	})
	if err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile(schemaBase + "ResourceV1alpha1")
	if err != nil {
		t.Fatalf("compile the Resource schema from %s: %v", dir, err)
	}
	return s
}

// validate checks each entity with Check and, when the schemas are
// given, against Backstage's Resource schema.
func validate(t *testing.T, entities []Entity) {
	t.Helper()
	schema := resourceSchema(t)
	if schema == nil {
		t.Logf("%s is unset: checked the entities with Check only", SchemasEnv)
	} else {
		t.Logf("validating the entities against Backstage's Resource schema from %s", os.Getenv(SchemasEnv))
	}
	for _, e := range entities {
		if err := Check(e); err != nil {
			t.Error(err)
		}
		if schema == nil {
			continue
		}
		data, _ := json.Marshal(e)
		var doc any
		if err := json.Unmarshal(data, &doc); err != nil {
			t.Fatal(err)
		}
		if err := schema.Validate(doc); err != nil {
			t.Errorf("entity %s does not match Backstage's schema: %v", e.Metadata.Name, err)
		}
	}
}

var records = []Record{
	{Key: "npm/@payments/ledger@2.4.0", Ecosystem: "npm", Name: "@payments/ledger", Version: "2.4.0",
		State: "published", Digest: "sha256:0d6e", Owner: "group:default/payments", DataClass: "confidential",
		Approval: "e-approval:DOC-2026-0412", LastScan: "2026-11-30T09:15:00Z",
		Findings: "critical=0 high=0 medium=1 low=2 suppressed=0"},
	{Key: "npm/@backstage/plugin-techdocs-module-addons-contrib@1.1.31-next.0", Ecosystem: "npm",
		Name: "@backstage/plugin-techdocs-module-addons-contrib", Version: "1.1.31-next.0", State: "pinned"},
	{Key: "npm/@backstage/plugin-techdocs-module-addons-contrib@1.1.31-next.1", Ecosystem: "npm",
		Name: "@backstage/plugin-techdocs-module-addons-contrib", Version: "1.1.31-next.1", State: "pinned"},
}

func TestCatalogEntitiesValid(t *testing.T) {
	data, err := Catalog(records, "sluice-mirror")
	if err != nil {
		t.Fatal(err)
	}
	dec := yaml.NewDecoder(strings.NewReader(string(data)))
	var entities []Entity
	for {
		var e Entity
		if err := dec.Decode(&e); err != nil {
			break
		}
		entities = append(entities, e)
	}
	if len(entities) != len(records) {
		t.Fatalf("catalog has %d entities, want %d", len(entities), len(records))
	}
	validate(t, entities)
	first := entities[0].Metadata.Annotations
	for key, want := range map[string]string{AnnotationApproval: "e-approval:DOC-2026-0412",
		AnnotationLastScan: "2026-11-30T09:15:00Z", AnnotationDataClass: "confidential",
		AnnotationFindings: "critical=0 high=0 medium=1 low=2 suppressed=0"} {
		if first[key] != want {
			t.Errorf("annotation %s = %q, want %q", key, first[key], want)
		}
	}
	if entities[0].Spec.Owner != "group:default/payments" {
		t.Errorf("owner = %q", entities[0].Spec.Owner)
	}
	if entities[1].Metadata.Name == entities[2].Metadata.Name {
		t.Errorf("two long keys share the name %s", entities[1].Metadata.Name)
	}
}

func TestCheckRejects(t *testing.T) {
	good := ResourceEntity(records[0], "")
	tests := []struct {
		name string
		edit func(e *Entity)
		want string
	}{
		{"long name", func(e *Entity) { e.Metadata.Name = strings.Repeat("a", 64) }, "metadata.name"},
		{"bad name", func(e *Entity) { e.Metadata.Name = "a--b" }, "metadata.name"},
		{"kind", func(e *Entity) { e.Kind = "Component" }, "kind"},
		{"api version", func(e *Entity) { e.APIVersion = "backstage.io/v1" }, "apiVersion"},
		{"no owner", func(e *Entity) { e.Spec.Owner = "" }, "spec.owner"},
		{"no type", func(e *Entity) { e.Spec.Type = "" }, "spec.type"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := good
			tt.edit(&e)
			if err := Check(e); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Check = %v, want an error about %s", err, tt.want)
			}
		})
	}
	validate(t, []Entity{good})
}

func TestSchemaRejectsOtherKind(t *testing.T) {
	schema := resourceSchema(t)
	if schema == nil {
		t.Skipf("%s is unset: Backstage's schemas are not at hand", SchemasEnv)
	}
	e := ResourceEntity(records[0], "")
	e.Kind = "Component"
	data, _ := json.Marshal(e)
	var doc any
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	if err := schema.Validate(doc); err == nil {
		t.Error("Backstage's Resource schema accepted kind Component")
	}
}
