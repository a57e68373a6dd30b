package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/sluice-dev/sluice/approvals"
	"github.com/sluice-dev/sluice/internal/grypetest"
	"github.com/sluice-dev/sluice/internal/npmfixture"
	"github.com/sluice-dev/sluice/internal/verdacciotest"
	"github.com/sluice-dev/sluice/manifests/policy"
)

const jenkinsCommon = "@backstage-community/plugin-jenkins-common@0.22.0"

// pluginAdded lists what the recorded plugin adds to the recorded app.
var pluginAdded = npmfixture.RecordedBackstagePluginAdds

// pluginEnv is a data folder with a vulnerability database, the recorded
// Backstage upstream and the recorded app.
type pluginEnv struct {
	upstream *npmfixture.Registry
	dataDir  string
	lockfile string
}

func newPluginEnv(t *testing.T) *pluginEnv {
	t.Helper()
	e := &pluginEnv{upstream: npmfixture.NewFrom(t, npmfixture.RecordedBackstage()),
		dataDir: filepath.Join(t.TempDir(), "data")}
	e.lockfile = filepath.Join(npmfixture.CopyApp(t, "backstage"), "package-lock.json")
	mustSluice(t, "db", "import", "--data-dir", e.dataDir, buildDBArchive(t, grypetest.Options{}))
	p, err := filepath.Abs("testdata/approvals/plugins.yaml")
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("SLUICE_POLICY", p)
	t.Setenv("SLUICE_ACTOR", "dora")
	return e
}

func (e *pluginEnv) request(t *testing.T, dataClass string) *approvals.PluginRequest {
	t.Helper()
	r := mustSluice(t, "plugin", "request", "-q", "--json", "--data-dir", e.dataDir, "--npm-upstream",
		e.upstream.URL, jenkinsCommon, "--app", e.lockfile, "--owner", "team-portal", "--data-class",
		dataClass, "--justification", "Jenkins builds on catalog pages")
	req := new(approvals.PluginRequest)
	if err := json.Unmarshal([]byte(r.stdout), req); err != nil {
		t.Fatalf("plugin request output is not JSON: %v\n%s", err, r.stdout)
	}
	return req
}

func TestPluginRequestTiers(t *testing.T) {
	tests := []struct {
		dataClass string
		tier      policy.Tier
		// waiting lists the packages that need people; the rest are
		// approved by the verdict. Packages named @backstage/plugin-*
		// count as Backstage plugins too.
		waiting []string
	}{
		{"internal", policy.TierMedium, []string{"@backstage-community/plugin-jenkins-common@0.22.0",
			"@backstage/plugin-catalog-common@1.2.2", "@backstage/plugin-permission-common@0.9.13",
			"@backstage/plugin-search-common@1.2.27"}},
		{"personal-credit-data", policy.TierHigh, pluginAdded},
	}
	for _, tt := range tests {
		t.Run(tt.dataClass, func(t *testing.T) {
			e := newPluginEnv(t)
			req := e.request(t, tt.dataClass)
			var added, waiting []string
			for _, p := range req.Packages {
				added = append(added, p.Key())
				if p.State == "awaiting-approval" {
					waiting = append(waiting, p.Key())
				}
				if !p.Scanned {
					t.Errorf("%s was not scanned", p.Key())
				}
				if len(p.Licenses) == 0 {
					t.Errorf("%s: no license in the evidence", p.Key())
				}
			}
			if strings.Join(added, " ") != strings.Join(pluginAdded, " ") {
				t.Errorf("added packages:\n%v\nwant:\n%v", added, pluginAdded)
			}
			if strings.Join(waiting, " ") != strings.Join(tt.waiting, " ") {
				t.Errorf("waiting packages:\n%v\nwant:\n%v", waiting, tt.waiting)
			}
			if req.Tier != tt.tier {
				t.Errorf("tier = %s, want %s", req.Tier, tt.tier)
			}
			if req.Source.Repository != "https://github.com/backstage/community-plugins" {
				t.Errorf("recorded repository = %q", req.Source.Repository)
			}
			if req.Diff.Locked == 0 || req.Diff.Closure != req.Diff.Locked+len(pluginAdded) {
				t.Errorf("closure %d, locked %d", req.Diff.Closure, req.Diff.Locked)
			}
			if req.Packages[0].Licenses[0] != "Apache-2.0" {
				t.Errorf("plugin licenses = %v", req.Packages[0].Licenses)
			}
		})
	}
}

func TestPluginRequestApprovePublish(t *testing.T) {
	e := newPluginEnv(t)
	verdaccio := verdacciotest.Start(t)
	t.Setenv("SLUICE_NPM_MIRROR_TOKEN", verdaccio.Token)
	req := e.request(t, "internal")

	show := mustSluice(t, "plugin", "show", "--data-dir", e.dataDir, req.ID)
	for _, want := range []string{
		"tier        medium (policy plugins)",
		"closure     ",
		"source      https://github.com/backstage/community-plugins (folder workspaces/jenkins/plugins/jenkins-common)",
		"@backstage/catalog-model@1.10.3",
		"waits for team-lead: 1 more of alice, bob",
		"next: sluice plugin approve " + req.ID,
	} {
		if !strings.Contains(show.stdout, want) {
			t.Errorf("plugin show lacks %q:\n%s", want, show.stdout)
		}
	}
	if !regexp.MustCompile(`@backstage/catalog-model@1\.10\.3 +1\.10\.0 +low +approved +Apache-2\.0`).
		MatchString(show.stdout) {
		t.Errorf("plugin show does not list catalog-model next to the app's 1.10.0:\n%s", show.stdout)
	}

	publish := []string{"plugin", "publish", "-q", "--data-dir", e.dataDir, "--npm-upstream", e.upstream.URL,
		"--npm-mirror", verdaccio.URL, req.ID}
	r := sluice(t, publish...)
	if r.exitCode() != exitOffenders || !strings.Contains(r.stdout, jenkinsCommon+": awaiting-approval") {
		t.Fatalf("publish before approval: exit %d, %v\n%s", r.exitCode(), r.err, r.stdout)
	}
	if len(packumentVersions(t, verdaccio.URL, "cross-fetch")) != 0 {
		t.Error("publish before approval put a package on the mirror")
	}

	r = sluice(t, "plugin", "approve", "--data-dir", e.dataDir, "--as", "dora", req.ID)
	if r.err == nil || !strings.Contains(r.stdout, "may not approve their own request") {
		t.Errorf("the requester approved their own plugin request: %v\n%s", r.err, r.stdout)
	}
	r = mustSluice(t, "plugin", "approve", "--data-dir", e.dataDir, "--as", "alice", req.ID)
	if !strings.Contains(r.stdout, "plugin request "+req.ID+" is approved") {
		t.Errorf("approve output:\n%s", r.stdout)
	}

	r = mustSluice(t, publish...)
	if !strings.Contains(r.stdout, "published  12; 0 already on the mirror") {
		t.Errorf("publish summary:\n%s", r.stdout)
	}
	for _, key := range pluginAdded {
		name, version := splitNameVersion(key)
		if _, ok := packumentVersions(t, verdaccio.URL, name)[version]; !ok {
			t.Errorf("%s is not on the mirror", key)
		}
	}
	checkGateAfterPublish(t, e, verdaccio.URL)

	show = mustSluice(t, "plugin", "list", "--data-dir", e.dataDir)
	if !regexp.MustCompile(req.ID + ` +` + regexp.QuoteMeta(jenkinsCommon) + ` +12 +medium +published`).
		MatchString(show.stdout) {
		t.Errorf("plugin list:\n%s", show.stdout)
	}
}

func TestPluginRequestFileBody(t *testing.T) {
	e := newPluginEnv(t)
	data, err := os.ReadFile(e.lockfile)
	if err != nil {
		t.Fatal(err)
	}
	body, err := json.Marshal(map[string]any{"apiVersion": "sluice.dev/v1", "kind": "PluginRequest",
		"plugin": map[string]string{"name": "@backstage-community/plugin-jenkins-common", "version": "0.22.0"},
		"app": map[string]string{"repository": "https://git.example.com/portal", "lockfilePath": "package-lock.json",
			"lockfile": string(data)},
		"owner": "team-portal", "dataClass": "internal", "justification": "Jenkins builds"})
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "request.json")
	if err := os.WriteFile(file, body, 0o644); err != nil {
		t.Fatal(err)
	}
	r := mustSluice(t, "plugin", "request", "-q", "--data-dir", e.dataDir, "--npm-upstream", e.upstream.URL,
		"--file", file)
	if !strings.Contains(r.stdout, "closure     ") || !strings.Contains(r.stdout, "12 added") {
		t.Errorf("plugin request --file output:\n%s", r.stdout)
	}

	r = sluice(t, "plugin", "request", "--data-dir", e.dataDir, "--file", file, jenkinsCommon)
	if r.exitCode() != exitUsage {
		t.Errorf("NAME@VERSION with --file: exit %d, want %d", r.exitCode(), exitUsage)
	}
	r = sluice(t, "plugin", "request", "--data-dir", e.dataDir, "lodash@^4", "--app", e.lockfile)
	if r.exitCode() != exitUsage || !strings.Contains(r.err.Error(), "is not an exact version") {
		t.Errorf("range version: exit %d, %v", r.exitCode(), r.err)
	}
}

// checkGateAfterPublish runs the build gate over the app's lockfile after
// npm added the plugin. The 12 versions the request added are published,
// and only resolve outside the mirror until pinned. The other 38 entries
// (the app's 35, and 3 nested copies of versions the app has) were never
// synced, so each is listed as not mirrored.
func checkGateAfterPublish(t *testing.T, e *pluginEnv, mirror string) {
	t.Helper()
	lock := filepath.Join(npmfixture.CopyApp(t, "backstage-with-plugin"), "package-lock.json")
	r := sluice(t, "pin", "--check", "--data-dir", e.dataDir, "--npm-mirror", mirror, lock)
	if r.exitCode() != exitOffenders {
		t.Fatalf("pin --check: exit %d, %v\n%s", r.exitCode(), r.err, r.stdout)
	}
	var outside []string
	notMirrored := 0
	for _, line := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
		switch {
		case strings.Contains(line, "outside the mirror: run sluice pin"):
			outside = append(outside, strings.Split(line, ": ")[1])
		case strings.Contains(line, ": not mirrored: request it"):
			notMirrored++
		default:
			t.Errorf("unexpected gate line: %s", line)
		}
		for _, key := range pluginAdded {
			if strings.Contains(line, ": "+key+": not mirrored") {
				t.Errorf("a published plugin package is listed as not mirrored: %s", line)
			}
		}
	}
	slices.Sort(outside)
	if !slices.Equal(outside, pluginAdded) {
		t.Errorf("entries outside the mirror:\n%v\nwant the published ones:\n%v", outside, pluginAdded)
	}
	if notMirrored != 38 {
		t.Errorf("gate listed %d entries as not mirrored, want 38:\n%s", notMirrored, r.stdout)
	}
}
