package approvals

import (
	"errors"
	"slices"
	"testing"

	"github.com/sluice-dev/sluice/ingest/plugin"
	"github.com/sluice-dev/sluice/ingest/state"
	"github.com/sluice-dev/sluice/internal/npmfixture"
	"github.com/sluice-dev/sluice/manifests"
	"github.com/sluice-dev/sluice/manifests/policy"
	"github.com/sluice-dev/sluice/scanners"
)

// pluginFixture files a plugin request for a plugin whose three
// dependencies land in three tiers of the bank policy: dep-a low,
// dep-b medium (install script), dep-c high (critical, no fix).
func pluginFixture(t *testing.T, e *env) *PluginRequest {
	t.Helper()
	const pluginName = "@backstage-community/plugin-x"
	mit := scanners.Finding{Kind: scanners.KindLicense, ID: "MIT"}
	scans := fakeScans{
		pluginName: {mit},
		"dep-a":    {mit},
		"dep-b": {mit, {Kind: scanners.KindInstallScript, ID: "postinstall", Package: "dep-b",
			Detail: "node build.js"}},
		"dep-c": {mit, {Kind: scanners.KindVulnerability, ID: "CVE-2026-0001", Package: "dep-c",
			Severity: scanners.SeverityCritical}},
	}
	for name, findings := range scans {
		for i := range findings {
			if findings[i].Package == "" {
				findings[i].Package = name
			}
		}
	}

	stage := NewStage(loadPolicy(t, "testdata/bank.yaml"), e.db, e.blobs, WithFindings(scans))
	diff := &plugin.Diff{Plugin: pluginName + "@1.0.0", Lockfile: "package-lock.json",
		LockfileDigest: "sha256:" + fill('c'), Closure: 9, Locked: 5}
	for _, name := range []string{pluginName, "dep-a", "dep-b", "dep-c"} {
		a := e.scanned(t, name, "internal", "dora")
		if name == pluginName {
			tarball, err := npmfixture.BuildTarball(map[string]any{"name": pluginName, "version": "1.0.0",
				"repository": map[string]any{"type": "git", "url": "https://github.com/example/plugins",
					"directory": "plugins/x"}}, nil)
			if err != nil {
				t.Fatal(err)
			}
			digest, err := e.blobs.Put(tarball)
			if err != nil {
				t.Fatal(err)
			}
			// The plugin's blob is a real tarball, because filing reads its
			// package.json.
			if err := e.db.UpdateArtifact(a.Key(), "test.tarball", "", nil,
				func(x *state.Artifact) { x.Digest = digest }); err != nil {
				t.Fatal(err)
			}
			if a, err = e.db.Artifact(a.Key()); err != nil {
				t.Fatal(err)
			}
		}
		e.evaluate(t, stage, a)
		diff.Added = append(diff.Added, plugin.Package{Name: name, Version: "1.0.0"})
	}

	body := &manifests.PluginRequest{APIVersion: manifests.APIVersionV1, Kind: manifests.KindPluginRequest,
		Plugin: manifests.PluginRef{Name: pluginName, Version: "1.0.0"},
		App:    manifests.AppLockfile{LockfilePath: "package-lock.json", Lockfile: "{}"},
		Owner:  "team-portal", DataClass: "internal", Justification: "test"}
	r, err := FilePluginRequest(e.db, e.blobs, body, diff, "dora", "run-1")
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestFilePluginRequestEvidence(t *testing.T) {
	e := newEnv(t)
	r := pluginFixture(t, e)
	if r.Tier != policy.TierHigh {
		t.Errorf("tier = %s, want high, the strictest package's", r.Tier)
	}
	tiers := map[string]policy.Tier{}
	for _, p := range r.Packages {
		tiers[p.Name] = p.Tier
	}
	want := map[string]policy.Tier{"@backstage-community/plugin-x": policy.TierLow, "dep-a": policy.TierLow,
		"dep-b": policy.TierMedium, "dep-c": policy.TierHigh}
	for name, tier := range want {
		if tiers[name] != tier {
			t.Errorf("%s tier = %s, want %s", name, tiers[name], tier)
		}
	}
	if got := r.Packages[2].InstallScripts; !slices.Equal(got, []string{"postinstall: node build.js"}) {
		t.Errorf("dep-b install scripts = %v", got)
	}
	if got := r.Packages[3].Findings; len(got) != 1 || got[0].ID != "CVE-2026-0001" {
		t.Errorf("dep-c findings = %v", got)
	}
	if got := r.Packages[1].Licenses; !slices.Equal(got, []string{"MIT"}) {
		t.Errorf("dep-a licenses = %v", got)
	}
	if r.Source.Repository != "https://github.com/example/plugins" || r.Source.Directory != "plugins/x" {
		t.Errorf("source = %+v", r.Source)
	}
	if r.Body.App.Lockfile != "" {
		t.Error("the stored request keeps the inline lockfile")
	}

	stored, err := LoadPluginRequest(e.db, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if stored.Evidence != r.Evidence || stored.Tier != r.Tier {
		t.Errorf("stored request differs: %+v", stored)
	}
	entries := e.entries(t, r.ID, EntryPluginRequested)
	if len(entries) != 1 || entries[0].Evidence["evidence"] != r.Evidence || entries[0].Evidence["tier"] != "high" {
		t.Errorf("ledger entries = %+v", entries)
	}
	if _, err := LoadPluginRequest(e.db, "plugin-000000000000"); !errors.Is(err, ErrNoPluginRequest) {
		t.Errorf("unknown ID: %v", err)
	}
}

func TestApprovePluginChains(t *testing.T) {
	e := newEnv(t)
	r := pluginFixture(t, e)
	status := func() PluginStatus {
		t.Helper()
		s, _, err := r.Status(e.db)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	if s := status(); s != PluginPending {
		t.Fatalf("status = %s, want pending", s)
	}

	// The requester may not approve, and security waits for a team lead.
	for _, id := range []string{"dora", "carol"} {
		votes, err := ApprovePlugin(e.db, r.ID, Action{Identity: id})
		if err == nil {
			t.Errorf("%s: an approval counted: %+v", id, votes)
		}
		if len(votes) != 2 {
			t.Errorf("%s: %d votes, want one per waiting package", id, len(votes))
		}
	}

	votes, err := ApprovePlugin(e.db, r.ID, Action{Identity: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	if len(votes) != 2 || votes[0].Request.Status != StatusApproved || votes[1].Request.Status != StatusPending {
		t.Errorf("alice's votes: %+v", votes)
	}
	if s := status(); s != PluginPending {
		t.Errorf("status after the team lead = %s, want pending", s)
	}

	votes, err = ApprovePlugin(e.db, r.ID, Action{Identity: "carol"})
	if err != nil {
		t.Fatal(err)
	}
	if len(votes) != 1 || votes[0].Artifact != "npm/dep-c@1.0.0" {
		t.Errorf("carol's votes: %+v", votes)
	}
	if s := status(); s != PluginApproved {
		t.Errorf("status after security = %s, want approved", s)
	}
	if _, err := ApprovePlugin(e.db, r.ID, Action{Identity: "bob"}); err == nil {
		t.Error("approving a request with nothing waiting succeeded")
	}
}

func TestPluginStatusRejected(t *testing.T) {
	e := newEnv(t)
	r := pluginFixture(t, e)
	if _, err := Reject(e.db, "npm/dep-b@1.0.0", Action{Identity: "alice", Reason: "install script"}); err != nil {
		t.Fatal(err)
	}
	if s, _, err := r.Status(e.db); err != nil || s != PluginRejected {
		t.Errorf("status = %s (%v), want rejected", s, err)
	}
}
