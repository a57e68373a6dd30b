package plugin

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/ingest/fetch"
	"github.com/sluice-dev/sluice/ingest/npm"
	"github.com/sluice-dev/sluice/internal/npmfixture"
	"github.com/sluice-dev/sluice/manifests"
)

func backstageRegistry(t *testing.T) *npm.Registry {
	t.Helper()
	upstream := npmfixture.NewFrom(t, npmfixture.RecordedBackstage())
	reg, err := npm.NewRegistry(upstream.URL, "", fetch.New(fetch.WithBackoff(time.Millisecond, time.Millisecond)))
	if err != nil {
		t.Fatal(err)
	}
	return reg
}

func jenkinsCommon() *manifests.PluginRequest {
	return &manifests.PluginRequest{Plugin: manifests.PluginRef{
		Name: "@backstage-community/plugin-jenkins-common", Version: "0.22.0"}}
}

func TestComputeListsOnlyNewPackages(t *testing.T) {
	lock := filepath.Join(npmfixture.CopyApp(t, "backstage"), "package-lock.json")
	data, err := os.ReadFile(lock)
	if err != nil {
		t.Fatal(err)
	}
	d, err := Compute(context.Background(), backstageRegistry(t), jenkinsCommon(), lock, data)
	if err != nil {
		t.Fatal(err)
	}

	var added []string
	for _, p := range d.Added {
		added = append(added, p.Key())
	}
	want := npmfixture.RecordedBackstagePluginAdds
	if strings.Join(added, "\n") != strings.Join(want, "\n") {
		t.Errorf("added:\n%s\nwant:\n%s", strings.Join(added, "\n"), strings.Join(want, "\n"))
	}
	if d.Closure != d.Locked+len(d.Added) {
		t.Errorf("closure %d != locked %d + added %d", d.Closure, d.Locked, len(d.Added))
	}
	if d.Locked == 0 {
		t.Error("no closure package counted as locked by the app")
	}

	changed := map[string]string{}
	for _, p := range d.Changed() {
		changed[p.Key()] = strings.Join(p.AppVersions, ",")
	}
	wantChanged := map[string]string{"@backstage/catalog-model@1.10.3": "1.10.0", "zod@4.6.7": "3.25.76"}
	for k, v := range wantChanged {
		if changed[k] != v {
			t.Errorf("app versions of %s = %q, want %q", k, changed[k], v)
		}
	}
	if len(changed) != len(wantChanged) {
		t.Errorf("changed = %v, want %v", changed, wantChanged)
	}
	if !strings.HasPrefix(d.LockfileDigest, "sha256:") || d.Plugin != "@backstage-community/plugin-jenkins-common@0.22.0" {
		t.Errorf("diff header: plugin %q digest %q", d.Plugin, d.LockfileDigest)
	}

	reqs := d.Requests("plugin-x")
	if len(reqs) != len(want) || !reqs[0].NoDependencies || reqs[0].Manifest != "plugin-x" {
		t.Errorf("requests = %+v", reqs)
	}
}

// TestComputeWarnsMissingPeers adds a plugin version whose peers the app
// partly lacks: only required peers that neither the app nor the closure
// provides are reported.
func TestComputeWarnsMissingPeers(t *testing.T) {
	upstream := npmfixture.NewFrom(t, npmfixture.RecordedBackstage())
	upstream.AddVersion(npmfixture.Package{Manifest: map[string]any{
		"name": "@backstage-community/plugin-jenkins-common", "version": "0.23.0",
		"dependencies":         map[string]any{"node-fetch": "^2.6.7"},
		"peerDependencies":     map[string]any{"react": "^18.0.0", "react-dom": "^18.0.0", "left-pad": "^1.0.0", "ms": "^2.0.0"},
		"peerDependenciesMeta": map[string]any{"ms": map[string]any{"optional": true}},
	}})
	reg, err := npm.NewRegistry(upstream.URL, "", fetch.New(fetch.WithBackoff(time.Millisecond, time.Millisecond)))
	if err != nil {
		t.Fatal(err)
	}
	app := []byte(`{"lockfileVersion": 3, "packages": {"": {"name": "app"},
  "node_modules/react": {"version": "18.3.1", "resolved": "https://registry.npmjs.org/react/-/react-18.3.1.tgz"}}}`)
	req := jenkinsCommon()
	req.Plugin.Version = "0.23.0"
	d, err := Compute(context.Background(), reg, req, "package-lock.json", app)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"@backstage-community/plugin-jenkins-common@0.23.0 needs peer dependency left-pad@^1.0.0, " +
			"which the app does not lock: add it to the app",
		"@backstage-community/plugin-jenkins-common@0.23.0 needs peer dependency react-dom@^18.0.0, " +
			"which the app does not lock: add it to the app",
	}
	if strings.Join(d.Warnings, "\n") != strings.Join(want, "\n") {
		t.Errorf("warnings:\n%s\nwant:\n%s", strings.Join(d.Warnings, "\n"), strings.Join(want, "\n"))
	}
	if len(d.Added) != 5 {
		t.Errorf("added %d packages, want the plugin, node-fetch, whatwg-url, tr46 and webidl-conversions: %v",
			len(d.Added), d.Added)
	}
}

func TestComputeRejectsBadLockfile(t *testing.T) {
	_, err := Compute(context.Background(), backstageRegistry(t), jenkinsCommon(), "package-lock.json",
		[]byte("{\"lockfileVersion\": 3, \"packages\": [\n"))
	if err == nil || !strings.Contains(err.Error(), "app lockfile: package-lock.json") {
		t.Errorf("error = %v, want it to name the app lockfile", err)
	}
}
