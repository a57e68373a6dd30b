package provision

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseExample(t *testing.T) {
	d, err := Load(filepath.Join("testdata", "network.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Harbor.Projects) != 3 || d.NPM.Verdaccio.Publisher != "sluice" {
		t.Errorf("parsed %d projects and publisher %q", len(d.Harbor.Projects), d.NPM.Verdaccio.Publisher)
	}
	if got := d.Line("harbor.projects[1].dataClass"); got != 54 {
		t.Errorf("line of harbor.projects[1].dataClass = %d, want 55", got)
	}
}

func TestParseErrors(t *testing.T) {
	base, err := os.ReadFile(filepath.Join("testdata", "network.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, old, new string
		want           []string
	}{
		{"unknown field", "  registry: harbor.internal\n", "  registri: harbor.internal\n",
			[]string{"net.yaml", "line 40", "registri"}},
		{"unknown data class", "      dataClass: confidential\n", "      dataClass: secret\n",
			[]string{"net.yaml:47: harbor.projects[0].dataClass", `unknown data class "secret"`}},
		{"unknown team", "      team: platform\n      dataClass: public\n      upstream",
			"      team: ops\n      dataClass: public\n      upstream",
			[]string{"net.yaml:53: harbor.projects[1].team", `unknown team "ops"`}},
		{"publisher not an account", "    publisher: sluice\n", "    publisher: robot\n",
			[]string{"net.yaml:30: npm.verdaccio.publisher", `account "robot"`}},
		{"bad severity", "    severity: high\n", "    severity: severe\n",
			[]string{"net.yaml:10: dataClasses[1].severity", `invalid severity "severe"`}},
		{"bad scope", `scope: "@payments"`, `scope: "payments"`,
			[]string{"net.yaml:15: teams[0].scope", "write it as @name"}},
		{"wrong kind", "kind: Network\n", "kind: Cluster\n", []string{"net.yaml:2: kind", `got "Cluster"`}},
		{"duplicate project", "    - name: tools\n", "    - name: dockerhub\n",
			[]string{"net.yaml:58: harbor.projects[2].name", `"dockerhub" is declared twice`}},
		{"zero retention", "        keepLast: 5\n", "        keepLast: 0\n",
			[]string{"net.yaml:57", "retention.keepLast", "keep at least 1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !strings.Contains(string(base), tt.old) {
				t.Fatalf("fixture lacks %q", tt.old)
			}
			data := strings.Replace(string(base), tt.old, tt.new, 1)
			_, err := Parse("net.yaml", []byte(data))
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

func TestParseEmpty(t *testing.T) {
	_, err := Parse("empty.yaml", nil)
	if err == nil || !strings.Contains(err.Error(), "empty.yaml: empty declaration") {
		t.Errorf("error = %v, want it to name the empty file", err)
	}
}

func FuzzParse(f *testing.F) {
	data, err := os.ReadFile(filepath.Join("testdata", "network.yaml"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(data)
	f.Add([]byte("apiVersion: sluice.dev/v1\nkind: Network\nteams: [{name: a}]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := Parse("fuzz.yaml", data)
		if err == nil && (d.APIVersion != APIVersion || d.Kind != Kind) {
			t.Errorf("accepted %s %s", d.APIVersion, d.Kind)
		}
		if err != nil && !strings.HasPrefix(err.Error(), "fuzz.yaml") {
			t.Errorf("error does not name the file: %v", err)
		}
	})
}
