package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sluice-dev/sluice/approvals"
	"github.com/sluice-dev/sluice/ingest/state"
	"github.com/sluice-dev/sluice/manifests/policy"
	"github.com/sluice-dev/sluice/scanners"
)

// approvalsCLI runs the CLI on g's data directory.
func approvalsCLI(t *testing.T, g *globals, args ...string) result {
	t.Helper()
	return sluice(t, append(args, "--data-dir", g.dataDir)...)
}

// scanFindings is a FindingsSource keyed by artifact name.
type scanFindings map[string][]scanners.Finding

func (f scanFindings) ScanResult(_ context.Context, a *state.Artifact) (*scanners.ScanResult, error) {
	return &scanners.ScanResult{Artifact: a.Key(), Digest: a.Digest, Findings: f[a.Name]}, nil
}

// seeded is one artifact for seedEvaluated: name, data class, findings.
type seeded struct {
	name, dataClass string
	findings        []scanners.Finding
}

// seedEvaluated stores each artifact with a tarball, requested by
// cli:erin, and runs the evaluation stage of policyFile on it the way
// ingest.Runner does. It returns the globals of the data directory.
func seedEvaluated(t *testing.T, policyFile string, arts ...seeded) *globals {
	t.Helper()
	g := &globals{dataDir: t.TempDir(), logLevel: "info", logFormat: "text"}
	st, err := g.openStore()
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	p, err := policy.Load(policyFile)
	if err != nil {
		t.Fatal(err)
	}
	findings := scanFindings{}
	for _, s := range arts {
		findings[s.name] = append([]scanners.Finding{{Kind: scanners.KindLicense, ID: "MIT"}}, s.findings...)
	}
	stage := approvals.NewStage(p, st.db, st.blobs, approvals.WithFindings(findings))

	for _, s := range arts {
		w, err := st.blobs.Create()
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte("tarball of " + s.name))
		digest, err := w.Commit()
		if err != nil {
			t.Fatal(err)
		}

		a := &state.Artifact{Ecosystem: state.EcosystemNPM, Name: s.name, Version: "1.0.0",
			DataClass: s.dataClass, Requester: "cli:erin"}
		if _, _, err := st.db.Create(a, "run-1", "cli:erin"); err != nil {
			t.Fatal(err)
		}
		for _, ch := range []state.Change{{To: state.StateResolved},
			{To: state.StateFetched, Update: func(a *state.Artifact) { a.Digest = digest }},
			{To: state.StateScanned}} {
			if a, err = st.db.Transition(a.Key(), ch); err != nil {
				t.Fatal(err)
			}
		}

		out, err := stage.Process(context.Background(), a, nil)
		if err != nil {
			t.Fatal(err)
		}
		ch := state.Change{To: state.StateEvaluated, Evidence: out.Evidence}
		if _, err := st.db.Transition(a.Key(), ch); err != nil {
			t.Fatal(err)
		}
		if _, err := st.db.Transition(a.Key(), state.Change{To: out.To}); err != nil {
			t.Fatal(err)
		}
	}
	return g
}

var postinstallFinding = scanners.Finding{Kind: scanners.KindInstallScript, ID: "postinstall"}

func TestApprovalsCLI(t *testing.T) {
	g := seedEvaluated(t, "testdata/approvals/bank.yaml",
		seeded{"esbuild", "internal", []scanners.Finding{postinstallFinding}},
		seeded{"@acme/ledger", "personal-credit-data", nil},
		seeded{"chalk", "internal", nil})
	t.Setenv("SLUICE_ACTOR", "")

	r := approvalsCLI(t, g, "approvals", "list")
	if r.err != nil {
		t.Fatal(r.err)
	}
	for _, want := range []string{"npm/esbuild@1.0.0", "team-lead: 1 more of alice, bob",
		"npm/@acme/ledger@1.0.0", "security: 1 more of carol, dave (after team-lead)"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("list output lacks %q:\n%s", want, r.stdout)
		}
	}
	if strings.Contains(r.stdout, "chalk") {
		t.Errorf("list shows chalk, which the policy approved:\n%s", r.stdout)
	}

	steps := []struct {
		args     []string
		exit     int
		contains string
	}{
		{[]string{"approvals", "approve", "esbuild@1.0.0"}, exitUsage, "pass --as NAME or set SLUICE_ACTOR"},
		{[]string{"approvals", "approve", "esbuild@1.0.0", "--as", "erin"}, exitFailure,
			approvals.ErrSelfApproval.Error()},
		{[]string{"approvals", "approve", "esbuild", "--as", "bob"}, exitUsage, "name a version: npm/esbuild@1.0.0"},
		{[]string{"approvals", "approve", "esbuild@1.0.0", "--as", "bob", "--reason", "script only builds docs"},
			exitOK, "npm/esbuild@1.0.0 approved: bob completed the chain as team-lead"},
		{[]string{"approvals", "approve", "@acme/ledger@1.0.0", "--as", "carol"}, exitFailure,
			"role security approves after role team-lead"},
		{[]string{"approvals", "approve", "npm/@acme/ledger@1.0.0", "--as", "alice"}, exitOK,
			"waiting for security: 1 more of carol, dave"},
		{[]string{"approvals", "reject", "@acme/ledger@1.0.0", "--as", "carol"}, exitUsage, "reject needs --reason"},
		{[]string{"approvals", "reject", "@acme/ledger@1.0.0", "--as", "carol", "--reason", "sends data abroad"},
			exitOK, "rejected by carol: sends data abroad"},
		{[]string{"approvals", "approve", "@acme/ledger@1.0.0", "--as", "dave"}, exitFailure,
			"approval request is closed: it is rejected"},
	}
	for _, s := range steps {
		r := approvalsCLI(t, g, s.args...)
		if r.exitCode() != s.exit {
			t.Errorf("sluice %s: exit %d, want %d (err %v)", strings.Join(s.args, " "), r.exitCode(), s.exit, r.err)
		}
		text := r.stdout
		if r.err != nil {
			text += r.err.Error()
		}
		if !strings.Contains(text, s.contains) {
			t.Errorf("sluice %s: output %q lacks %q", strings.Join(s.args, " "), text, s.contains)
		}
	}

	r = approvalsCLI(t, g, "approvals", "show", "@acme/ledger@1.0.0", "--json")
	if r.err != nil {
		t.Fatal(r.err)
	}
	var shown struct {
		Request  approvals.Request  `json:"request"`
		Evidence approvals.Evidence `json:"evidence"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &shown); err != nil {
		t.Fatal(err)
	}
	if shown.Request.Status != approvals.StatusRejected || len(shown.Request.Approvals) != 1 ||
		shown.Evidence.Decision.Tier != policy.TierHigh {
		t.Errorf("show --json = %+v", shown)
	}
	r = approvalsCLI(t, g, "approvals", "show", "esbuild@1.0.0")
	for _, want := range []string{"approved by bob as team-lead", "script only builds docs",
		"rule install-scripts (line", "-> medium: install-script postinstall"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("show output lacks %q:\n%s", want, r.stdout)
		}
	}
}

func TestApprovalsIdentityFromEnvironment(t *testing.T) {
	g := seedEvaluated(t, "testdata/approvals/bank.yaml",
		seeded{"esbuild", "internal", []scanners.Finding{postinstallFinding}})
	t.Setenv("SLUICE_ACTOR", "alice")
	r := approvalsCLI(t, g, "approvals", "approve", "esbuild@1.0.0")
	if r.err != nil {
		t.Fatal(r.err)
	}
	st, err := g.openStore()
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	a, err := st.db.Artifact("npm/esbuild@1.0.0")
	if err != nil || a.State != state.StateApproved {
		t.Fatalf("artifact %+v, %v", a, err)
	}
	entries, _ := st.db.Ledger(a.Key())
	last := entries[len(entries)-1]
	if last.Actor != "alice" || last.To != state.StateApproved {
		t.Errorf("last ledger entry = %+v", last)
	}
}

func TestApprovalsExternalCLI(t *testing.T) {
	g := seedEvaluated(t, "testdata/approvals/bank.yaml",
		seeded{"esbuild", "internal", []scanners.Finding{postinstallFinding}})
	var gotToken string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotToken = r.Header.Get("Authorization")
		if r.Method == http.MethodPost {
			w.WriteHeader(http.StatusCreated)
			fmt.Fprint(w, `{"id": "DOC-1"}`)
			return
		}
		fmt.Fprint(w, `{"id": "DOC-1", "status": "approved", "decisions": [
			{"identity": "bob", "decision": "approve", "time": "2026-03-02T10:00:00Z", "reason": "fine"}]}`)
	}))
	defer srv.Close()
	t.Setenv("SLUICE_EAPPROVAL_TOKEN", "s3cret")
	r := approvalsCLI(t, g, "approvals", "external")
	if r.exitCode() != exitUsage {
		t.Errorf("without --url: exit %d, err %v", r.exitCode(), r.err)
	}
	r = approvalsCLI(t, g, "approvals", "external", "--url", srv.URL)
	if r.err != nil {
		t.Fatal(r.err)
	}
	for _, want := range []string{"submitted    npm/esbuild@1.0.0", "approved     npm/esbuild@1.0.0"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, r.stdout)
		}
	}
	if gotToken != "Bearer s3cret" {
		t.Errorf("Authorization %q", gotToken)
	}
}
