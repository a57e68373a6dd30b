package provision

import (
	"encoding/base64"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

func TestApplyTwiceChangesNothing(t *testing.T) {
	f := newFixture(t)
	first := f.apply(t)
	if first.Empty() {
		t.Fatal("first apply made no change")
	}
	for _, c := range first.Changes {
		if c.Action != Create {
			t.Errorf("first apply: %s %s %s, want only creations", c.Target, c.Action, c.Field)
		}
	}
	if second := f.apply(t); !second.Empty() {
		t.Errorf("second apply changed:\n%s", planText(t, second))
	}
	if p := f.diff(t); !p.Empty() {
		t.Errorf("plan after apply is not empty:\n%s", planText(t, p))
	}
}

func TestPlanChangesNothing(t *testing.T) {
	f := newFixture(t)
	p := f.diff(t)
	if again := f.diff(t); planText(t, again) != planText(t, p) {
		t.Errorf("a plan changed what the next plan sees:\n%s\nthen\n%s", planText(t, p), planText(t, again))
	}
	if _, ok := f.harbor.ProjectMetadata("payments"); ok {
		t.Error("plan created Harbor project payments")
	}
	if _, err := os.Stat(filepath.Join(f.d.OutputDir(), "clients", ".npmrc")); err == nil {
		t.Error("plan wrote clients/.npmrc")
	}
}

func TestPlanGolden(t *testing.T) {
	f := newFixture(t)
	checkGolden(t, "plan-initial.txt", []byte(planText(t, f.diff(t))))
}

func TestDriftOnHarbor(t *testing.T) {
	tests := []struct {
		name   string
		drift  func(f *fixture)
		target string
		field  string
	}{
		{"project setting", func(f *fixture) { f.harbor.SetProjectMetadata("payments", "prevent_vul", "false") },
			"harbor project payments", "prevent_vul"},
		{"robot permissions", func(f *fixture) {
			for _, r := range f.harbor.Robots("payments") {
				if strings.HasSuffix(r.Name, "+sluice-pull") {
					f.harbor.SetRobotAccess(r.ID, "repository:pull", "repository:push")
				}
			}
		}, "harbor robot payments+sluice-pull", "robot permissions"},
		{"immutability rule", func(f *fixture) { f.harbor.DisableImmutableRules("payments") },
			"harbor immutability payments", "tag immutability rule repositories **, tags v*"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			f.apply(t)
			tt.drift(f)
			p := f.diff(t)
			if len(p.Changes) != 1 {
				t.Fatalf("plan has %d changes, want 1:\n%s", len(p.Changes), planText(t, p))
			}
			c := p.Changes[0]
			if c.Target != tt.target || c.Field != tt.field || c.Action != Drift {
				t.Errorf("change = %s %s %s, want %s drift %s", c.Target, c.Action, c.Field, tt.target, tt.field)
			}
			f.apply(t)
			if p := f.diff(t); !p.Empty() {
				t.Errorf("apply did not undo the drift:\n%s", planText(t, p))
			}
		})
	}
}

func TestDriftOnDisk(t *testing.T) {
	f := newFixture(t)
	f.apply(t)
	npmrc := filepath.Join(f.d.OutputDir(), "clients", ".npmrc")
	if err := os.WriteFile(npmrc, []byte("registry=https://registry.npmjs.org/\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(f.d.OutputDir(), "clients", "registries.conf")); err != nil {
		t.Fatal(err)
	}
	p := f.diff(t)
	want := map[string]Action{"file clients/.npmrc": Drift, "file clients/registries.conf": Drift}
	if len(p.Changes) != len(want) {
		t.Fatalf("plan has %d changes, want %d:\n%s", len(p.Changes), len(want), planText(t, p))
	}
	for _, c := range p.Changes {
		if want[c.Target] != c.Action {
			t.Errorf("%s: action %s, want %s", c.Target, c.Action, want[c.Target])
		}
	}
	f.apply(t)
	if p := f.diff(t); !p.Empty() {
		t.Errorf("apply did not restore the files:\n%s", planText(t, p))
	}
}

func TestChangedDeclarationIsUpdate(t *testing.T) {
	f := newFixture(t)
	f.apply(t)
	f.d.NPM.TokenEnv = "MIRROR_TOKEN"
	f.d.DataClasses[1].Severity = "medium"
	p := f.diff(t)
	got := map[string]Action{}
	for _, c := range p.Changes {
		got[c.Target] = c.Action
	}
	for _, target := range []string{"file clients/.npmrc", "file clients/.yarnrc.yml", "harbor project payments"} {
		if got[target] != Update {
			t.Errorf("%s: action %q, want update\n%s", target, got[target], planText(t, p))
		}
	}
}

func TestGeneratedFilesGolden(t *testing.T) {
	f := newFixture(t)
	f.apply(t)
	out := f.d.OutputDir()
	err := filepath.WalkDir(out, func(path string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(out, path)
		rel = filepath.ToSlash(rel)
		if rel == StateFile || strings.HasPrefix(rel, "secrets/") || strings.HasPrefix(rel, "kubernetes/") {
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		checkGolden(t, filepath.Join("files", rel), data)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestRobotCredentialFiles(t *testing.T) {
	f := newFixture(t)
	f.apply(t)
	secrets := map[string]string{}
	for _, r := range f.harbor.Robots("payments") {
		secrets[r.Name] = r.Secret
	}
	cases := []struct {
		path, user string
		secret     bool
	}{
		{"secrets/harbor-push-payments/config.json", "robot$payments+sluice-push", false},
		{"kubernetes/pull-secret-payments.yaml", "robot$payments+sluice-pull", true},
	}
	for _, c := range cases {
		path := filepath.Join(f.d.OutputDir(), filepath.FromSlash(c.path))
		info, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if info.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v, want 0600", c.path, info.Mode().Perm())
		}
		data, _ := os.ReadFile(path)
		if c.secret {
			data = dockerConfigOfSecret(t, data)
		}
		var cfg dockerConfig
		if err := json.Unmarshal(data, &cfg); err != nil {
			t.Fatalf("%s: %v", c.path, err)
		}
		auth := cfg.Auths["harbor.internal"]
		if auth.Username != c.user || auth.Password == "" || auth.Password != secrets[c.user] {
			t.Errorf("%s: user %q with the robot's secret: %v", c.path, auth.Username,
				auth.Password == secrets[c.user])
		}
	}
}

// dockerConfigOfSecret decodes the docker config of a Kubernetes Secret
// and checks the Secret's fields.
func dockerConfigOfSecret(t *testing.T, data []byte) []byte {
	t.Helper()
	var s struct {
		APIVersion string `yaml:"apiVersion"`
		Kind, Type string
		Metadata   struct{ Name, Namespace string }
		Data       map[string]string
	}
	if err := yaml.Unmarshal(data, &s); err != nil {
		t.Fatal(err)
	}
	if s.APIVersion != "v1" || s.Kind != "Secret" || s.Type != "kubernetes.io/dockerconfigjson" {
		t.Errorf("secret is %s %s of type %s", s.APIVersion, s.Kind, s.Type)
	}
	if s.Metadata.Name != "harbor-pull-payments" || s.Metadata.Namespace != "builds" {
		t.Errorf("secret is %s in %s", s.Metadata.Name, s.Metadata.Namespace)
	}
	raw, err := base64.StdEncoding.DecodeString(s.Data[".dockerconfigjson"])
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func TestLostCredentialFileRefreshesSecret(t *testing.T) {
	f := newFixture(t)
	f.apply(t)
	path := filepath.Join(f.d.OutputDir(), "kubernetes", "pull-secret-dockerhub.yaml")
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	p := f.apply(t)
	var refreshed bool
	for _, c := range p.Changes {
		refreshed = refreshed || (c.Target == "harbor robot dockerhub+sluice-pull" && c.Field == "robot secret")
	}
	if !refreshed {
		t.Errorf("apply did not refresh the robot secret:\n%s", planText(t, p))
	}
	if _, err := os.Stat(path); err != nil {
		t.Errorf("pull secret not written again: %v", err)
	}
}

func TestCredentialFilesGolden(t *testing.T) {
	d, err := Load(filepath.Join("testdata", "network.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	c := robotCredential{Registry: "harbor.internal", Username: "robot$payments+sluice-pull",
		Password: "test-secret"}
	for _, push := range []bool{true, false} {
		f := credentialFile(d, "payments", push, c)
		if !f.Secret {
			t.Errorf("%s is not marked secret", f.Path)
		}
		checkGolden(t, filepath.Join("files", f.Path), f.Data)
	}
}
