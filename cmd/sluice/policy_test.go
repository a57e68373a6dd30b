package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluice-dev/sluice/approvals"
	"github.com/sluice-dev/sluice/ingest/state"
	"github.com/sluice-dev/sluice/scanners"
)

func TestPolicyCheckCLI(t *testing.T) {
	g := &globals{dataDir: t.TempDir()}
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	data, err := os.ReadFile("testdata/approvals/bank.yaml")
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(bad, []byte(strings.Replace(string(data), "then: blocked", "then: forbidden", 1)), 0o644)

	r := approvalsCLI(t, g, "policy", "check", "testdata/approvals/bank.yaml")
	if r.err != nil || !strings.Contains(r.stdout, "policy bank-cli ok, 3 rules, digest sha256:") {
		t.Errorf("check of a valid policy: %v\n%s", r.err, r.stdout)
	}
	r = approvalsCLI(t, g, "policy", "check", "testdata/approvals/bank.yaml", bad)
	want := bad + `:17:11: rules[0].then: invalid value "forbidden"`
	if r.exitCode() != exitOffenders || !strings.Contains(r.stdout, want) {
		t.Errorf("check of an invalid policy: exit %d\n%s", r.exitCode(), r.stdout)
	}
}

// TestPolicyTestCLI reviews a relaxed policy against recorded verdicts:
// it lists the tier changes and changes nothing.
func TestPolicyTestCLI(t *testing.T) {
	g := seedEvaluated(t, "testdata/approvals/bank.yaml",
		seeded{"esbuild", "internal", []scanners.Finding{postinstallFinding}},
		seeded{"@acme/ledger", "personal-credit-data", nil},
		seeded{"chalk", "internal", nil})
	data, err := os.ReadFile("testdata/approvals/bank.yaml")
	if err != nil {
		t.Fatal(err)
	}
	relaxed := filepath.Join(t.TempDir(), "relaxed.yaml")
	text := strings.Replace(string(data), "when: {installScripts: true}\n    then: medium",
		"when: {installScripts: true}\n    then: low", 1)
	text = strings.Replace(text, "when: {dataClass: personal-credit-data}\n    then: high",
		"when: {dataClass: personal-credit-data}\n    then: medium", 1)
	if err := os.WriteFile(relaxed, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	st, err := g.openStore()
	if err != nil {
		t.Fatal(err)
	}
	before, _ := st.db.Ledger("")
	st.Close()

	r := approvalsCLI(t, g, "policy", "test", relaxed, "--fail-on-change")
	if r.exitCode() != exitOffenders {
		t.Errorf("exit %d, want %d: %v", r.exitCode(), exitOffenders, r.err)
	}
	for _, want := range []string{"npm/esbuild@1.0.0", "medium    low", "npm/@acme/ledger@1.0.0",
		"high      medium", "2 of 3 evaluated artifacts would change tier"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, r.stdout)
		}
	}
	if strings.Contains(r.stdout, "chalk") {
		t.Errorf("chalk keeps its tier but is listed:\n%s", r.stdout)
	}

	r = approvalsCLI(t, g, "policy", "test", relaxed, "--json")
	var rev approvals.Review
	if err := json.Unmarshal([]byte(r.stdout), &rev); err != nil || rev.Evaluated != 3 || len(rev.Changes) != 2 {
		t.Errorf("review %+v, %v", rev, err)
	}

	st, err = g.openStore()
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	after, _ := st.db.Ledger("")
	a, _ := st.db.Artifact("npm/esbuild@1.0.0")
	if len(after) != len(before) || a.State != state.StateAwaitingApproval {
		t.Errorf("policy test wrote %d ledger entries; esbuild is %s", len(after)-len(before), a.State)
	}
}

func TestEvidenceCLI(t *testing.T) {
	g := seedEvaluated(t, "testdata/approvals/bank.yaml",
		seeded{"esbuild", "internal", []scanners.Finding{postinstallFinding}})
	r := approvalsCLI(t, g, "approvals", "approve", "esbuild@1.0.0", "--as", "bob", "--reason", "ok")
	if r.err != nil {
		t.Fatal(r.err)
	}
	st, err := g.openStore()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.db.Transition("npm/esbuild@1.0.0", state.Change{To: state.StatePublished,
		Skipped: []state.State{state.StateSigned}}); err != nil {
		t.Fatal(err)
	}
	st.Close()

	r = approvalsCLI(t, g, "evidence", "esbuild@1.0.0")
	if r.err != nil {
		t.Fatal(r.err)
	}
	for _, want := range []string{"state      published", "verdict    medium by policy bank-cli@sha256:",
		"rule install-scripts (line", "approved by bob as team-lead", "lead time  ",
		"awaiting-approval -> approved", "approval.granted"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("evidence lacks %q:\n%s", want, r.stdout)
		}
	}
	r = approvalsCLI(t, g, "evidence", "npm/esbuild@1.0.0", "--json")
	var ae approvals.ArtifactEvidence
	if err := json.Unmarshal([]byte(r.stdout), &ae); err != nil {
		t.Fatal(err)
	}
	if ae.Evidence == nil || ae.Evidence.Decision.Tier != "medium" || ae.Request == nil ||
		len(ae.Request.Approvals) != 1 || ae.LeadTime.Published.IsZero() || len(ae.Ledger) < 7 {
		t.Errorf("evidence --json = %+v", ae)
	}
	if r := approvalsCLI(t, g, "evidence", "left-pad@1.0.0"); r.err == nil {
		t.Errorf("evidence of an unknown artifact succeeded")
	}
}
