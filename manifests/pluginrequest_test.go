package manifests

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluice-dev/sluice/manifests/internal/schematest"
)

func TestPluginRequestSchema(t *testing.T) {
	c := schematest.New(t, "plugin-request", ParsePluginRequest)
	c.AcceptsFiles(t, "testdata/plugin-requests/*.json")
	valid := `{"apiVersion": "sluice.dev/v1", "kind": "PluginRequest",
  "plugin": {"name": "@backstage-community/plugin-jenkins-common", "version": "0.22.0"},
  "app": {"repository": "https://git.example.com/app", "lockfilePath": "package-lock.json"},
  "owner": "team-platform", "dataClass": "internal", "justification": "builds on catalog pages"}`
	tests := []struct {
		name, old, new string
	}{
		{"wrong kind", `"PluginRequest"`, `"Manifest"`},
		{"range version", `"0.22.0"`, `"^0.22.0"`},
		{"dist-tag version", `"0.22.0"`, `"latest"`},
		{"capital name", `plugin-jenkins-common"`, `Plugin-Jenkins"`},
		{"missing lockfile path", `, "lockfilePath": "package-lock.json"`, ``},
		{"blank owner", `"team-platform"`, `" "`},
		{"missing justification", `, "justification": "builds on catalog pages"`, ``},
		{"unknown field", `"owner"`, `"team": "x", "owner"`},
		{"relative repository", `"https://git.example.com/app"`, `"git.example.com/app"`},
		{"ref without repository", `"repository": "https://git.example.com/app"`, `"ref": "main"`},
	}
	for _, tt := range tests {
		doc := strings.Replace(valid, tt.old, tt.new, 1)
		if doc == valid {
			t.Fatalf("case %s changes nothing", tt.name)
		}
		c.Rejects(t, tt.name, doc)
	}
}

func TestParsePluginRequestListsProblems(t *testing.T) {
	_, err := ParsePluginRequest("req.json", []byte(`{"apiVersion": "sluice.dev/v1", "kind": "PluginRequest",
  "plugin": {"name": "x", "version": "^1"}, "app": {"lockfilePath": ""}}`))
	if err == nil {
		t.Fatal("Parse accepted an incomplete request")
	}
	for _, want := range []string{"req.json: ", "plugin.version: \"^1\" is not an exact version",
		"app.lockfilePath: missing", "owner: missing", "dataClass: missing", "justification: missing"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}

func TestPluginRequestManifest(t *testing.T) {
	r := &PluginRequest{Plugin: PluginRef{Name: "@backstage-community/plugin-jenkins-common",
		Version: "0.22.0"}, Owner: "team-platform", DataClass: "internal"}
	m := r.Manifest()
	if want := "plugin-backstage-community-plugin-jenkins-common-0-22-0"; m.Metadata.Name != want {
		t.Errorf("manifest name = %q, want %q", m.Metadata.Name, want)
	}
	if !manifestName.MatchString(m.Metadata.Name) || len(m.Metadata.Name) > 63 {
		t.Errorf("manifest name %q is not a valid manifest name", m.Metadata.Name)
	}
	if m.Metadata.Owner != "team-platform" || m.Metadata.DataClass != "internal" {
		t.Errorf("metadata = %+v", m.Metadata)
	}
	if !strings.HasPrefix(m.Digest, "sha256:") || m.Path != "" {
		t.Errorf("manifest of a request without a file: path %q digest %q", m.Path, m.Digest)
	}
}

func FuzzParsePluginRequest(f *testing.F) {
	files, err := filepath.Glob("testdata/plugin-requests/*.json")
	if err != nil {
		f.Fatal(err)
	}
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(`{"apiVersion": "sluice.dev/v1", "kind": "PluginRequest", "plugin": {"name": "a", "version": "1"}}`))
	f.Add([]byte(`{} {}`))

	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := ParsePluginRequest("f.json", data)
		if err != nil {
			if r != nil {
				t.Errorf("Parse returned a request along with %v", err)
			}
			return
		}
		if problem := checkPackageName(r.Plugin.Name); problem != "" {
			t.Errorf("accepted plugin name %q: %s", r.Plugin.Name, problem)
		}
		if ClassifyVersion(r.Plugin.Version) != VersionExact {
			t.Errorf("accepted plugin version %q", r.Plugin.Version)
		}
		m := r.Manifest()
		if !manifestName.MatchString(m.Metadata.Name) || len(m.Metadata.Name) > 63 {
			t.Errorf("request for %s@%s makes manifest name %q", r.Plugin.Name, r.Plugin.Version,
				m.Metadata.Name)
		}
	})
}
