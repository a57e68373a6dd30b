package approvals

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/ingest/state"
	"github.com/sluice-dev/sluice/manifests/policy"
	"github.com/sluice-dev/sluice/scanners"
)

func loadPolicy(t testing.TB, path string) *policy.Policy {
	t.Helper()
	p, err := policy.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

var evalTime = time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)

func license(id string) scanners.Finding {
	return scanners.Finding{Kind: scanners.KindLicense, ID: id}
}

func vuln(id string, sev scanners.Severity, fixedIn ...string) scanners.Finding {
	return scanners.Finding{Kind: scanners.KindVulnerability, ID: id, Severity: sev, FixedIn: fixedIn}
}

// facts builds the facts of a scanned npm package for the matrix.
func facts(name, dataClass string, findings ...scanners.Finding) Facts {
	a := &state.Artifact{Ecosystem: state.EcosystemNPM, Name: name, Version: "1.0.0",
		DataClass: dataClass}
	return NewFacts(a, &scanners.ScanResult{Findings: findings}, time.Time{}, evalTime)
}

// TestEvaluateBankMatrix runs the decisions a bank's policy must make,
// each row naming the tier and the rules that fire.
func TestEvaluateBankMatrix(t *testing.T) {
	p := loadPolicy(t, "testdata/bank.yaml")
	mit := license("MIT")
	postinstall := scanners.Finding{Kind: scanners.KindInstallScript, ID: "postinstall",
		Detail: "node install.js"}
	suppressed := vuln("CVE-2021-23337", scanners.SeverityCritical, "4.17.21")
	suppressed.Suppressed, suppressed.SuppressedBy = true, "exceptions.yaml#lodash"
	kev := vuln("CVE-2021-44228", scanners.SeverityHigh)
	kev.KEV = true
	epss := vuln("CVE-2024-0001", scanners.SeverityMedium)
	epss.EPSS = 0.7
	fresh := facts("left-pad", "internal", mit)
	fresh.Released = evalTime.Add(-10 * time.Hour)
	old := facts("left-pad", "internal", mit)
	old.Released = evalTime.Add(-30 * 24 * time.Hour)
	unscanned := NewFacts(&state.Artifact{Ecosystem: state.EcosystemNPM, Name: "x", Version: "1.0.0",
		DataClass: "development"}, nil, time.Time{}, evalTime)
	image := facts("library/nginx", "internal", mit,
		scanners.Finding{Kind: scanners.KindUpstreamSignature, ID: "missing"})
	image.Ecosystem, image.Source = "oci", SourceImage

	tests := []struct {
		name  string
		facts Facts
		tier  policy.Tier
		fired []string
	}{
		{"dev artifact auto-approved", facts("chalk", "development", mit),
			policy.TierLow, []string{"development"}},
		{"clean internal package", facts("chalk", "internal", mit), policy.TierLow, nil},
		{"install scripts need a team lead", facts("esbuild", "internal", mit, postinstall),
			policy.TierMedium, []string{"install-scripts"}},
		{"dev artifact with install scripts", facts("esbuild", "development", mit, postinstall),
			policy.TierMedium, []string{"install-scripts", "development"}},
		{"critical with fix is blocked",
			facts("lodash", "internal", mit, vuln("CVE-2021-23337", scanners.SeverityCritical, "4.17.21")),
			policy.TierBlocked, []string{"critical-with-fix", "high-with-fix"}},
		{"critical without fix needs security",
			facts("lodash", "internal", mit, vuln("CVE-2099-0001", scanners.SeverityCritical)),
			policy.TierHigh, []string{"critical-no-fix"}},
		{"suppressed critical does not count", facts("lodash", "internal", mit, suppressed),
			policy.TierLow, nil},
		{"high with fix needs a team lead",
			facts("minimist", "internal", mit, vuln("CVE-2021-44906", scanners.SeverityHigh, "1.2.6")),
			policy.TierMedium, []string{"high-with-fix"}},
		{"known exploited is blocked", facts("log4j-ish", "internal", mit, kev),
			policy.TierBlocked, []string{"known-exploited"}},
		{"likely exploited needs security", facts("x", "internal", mit, epss),
			policy.TierHigh, []string{"likely-exploited"}},
		{"GPL in a distributed plugin needs security",
			facts("@backstage/plugin-foo", "internal", license("GPL-3.0-only")),
			policy.TierHigh, []string{"unclear-license", "copyleft-in-plugin"}},
		{"GPL in a plain package needs a team lead", facts("foo", "internal", license("GPL-3.0-only")),
			policy.TierMedium, []string{"unclear-license"}},
		{"AGPL is blocked", facts("foo", "internal", license("AGPL-3.0-only")),
			policy.TierBlocked, []string{"denied-license"}},
		{"dual license picks the allowed one", facts("foo", "internal", license("(MIT OR GPL-3.0-only)")),
			policy.TierLow, nil},
		{"no license found", facts("foo", "internal", license("NOASSERTION")),
			policy.TierMedium, []string{"unclear-license"}},
		{"no license finding at all", facts("foo", "internal"),
			policy.TierMedium, []string{"unclear-license"}},
		{"personal-credit-data always needs security", facts("chalk", "personal-credit-data", mit),
			policy.TierHigh, []string{"personal-credit-data"}},
		{"release within 72h", fresh, policy.TierMedium, []string{"fresh-release"}},
		{"release a month old", old, policy.TierLow, nil},
		{"dependency confusion is blocked", facts("@acme/utils", "internal", mit,
			scanners.Finding{Kind: scanners.KindDependencyConfusion, ID: "@acme/utils"}),
			policy.TierBlocked, []string{"dependency-confusion"}},
		{"failed upstream signature is blocked", facts("foo", "internal", mit,
			scanners.Finding{Kind: scanners.KindUpstreamSignature, ID: "invalid"}),
			policy.TierBlocked, []string{"bad-signature"}},
		{"unsigned image needs a team lead", image, policy.TierMedium, []string{"missing-signature"}},
		{"unscanned dev artifact is held", unscanned,
			policy.TierMedium, []string{"unclear-license", "not-scanned", "development"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := Evaluate(p, tt.facts)
			if d.Tier != tt.tier {
				t.Errorf("tier = %s, want %s (fired %v)", d.Tier, tt.tier, d.Fired)
			}
			if d.Blocked != (tt.tier == policy.TierBlocked) {
				t.Errorf("blocked = %v with tier %s", d.Blocked, d.Tier)
			}
			if got := d.RuleNames(); !slices.Equal(got, tt.fired) && len(got)+len(tt.fired) > 0 {
				t.Errorf("fired %v, want %v", got, tt.fired)
			}
			for _, f := range d.Fired {
				if len(f.Matched) == 0 || f.Line == 0 {
					t.Errorf("rule %s fired without matched facts or line: %+v", f.Rule, f)
				}
			}
			if d.Policy != "bank-default" || d.PolicyDigest != p.Digest {
				t.Errorf("decision names policy %s@%s", d.Policy, d.PolicyDigest)
			}
		})
	}
}

func TestEvaluateMatchedFacts(t *testing.T) {
	p := loadPolicy(t, "testdata/bank.yaml")
	d := Evaluate(p, facts("lodash", "internal", license("MIT"),
		vuln("CVE-2021-23337", scanners.SeverityCritical, "4.17.21")))
	if len(d.Fired) != 2 {
		t.Fatalf("fired %v, want critical-with-fix and high-with-fix", d.Fired)
	}
	want := "CVE-2021-23337 critical, fixed in 4.17.21"
	if got := strings.Join(d.Fired[0].Matched, "; "); got != want {
		t.Errorf("matched %q, want %q", got, want)
	}
}

// TestVulnerabilityConditionsSameFinding checks that the vulnerability
// conditions of a rule must hold for one finding, not across findings.
func TestVulnerabilityConditionsSameFinding(t *testing.T) {
	p := loadPolicy(t, "testdata/bank.yaml")
	d := Evaluate(p, facts("lodash", "internal", license("MIT"),
		vuln("CVE-A", scanners.SeverityCritical), vuln("CVE-B", scanners.SeverityLow, "2.0.0")))
	if d.Tier != policy.TierHigh || !slices.Equal(d.RuleNames(), []string{"critical-no-fix"}) {
		t.Errorf("tier %s, fired %v: want high from critical-no-fix only", d.Tier, d.RuleNames())
	}
}

func TestLicenseStatus(t *testing.T) {
	l := policy.Licenses{Allow: []string{"MIT", "Apache-2.0", "BSD-*",
		"GPL-2.0-only WITH Classpath-exception-2.0"}, Deny: []string{"AGPL-*"}}
	tests := []struct {
		expr, want string
	}{
		{"MIT", LicenseAllowed},
		{"BSD-3-Clause", LicenseAllowed},
		{"GPL-3.0-only", LicenseUnlisted},
		{"AGPL-3.0-only", LicenseDenied},
		{"MIT OR AGPL-3.0-only", LicenseAllowed},
		{"MIT AND AGPL-3.0-only", LicenseDenied},
		{"(MIT OR GPL-3.0-only) AND Apache-2.0", LicenseAllowed},
		{"MIT AND (GPL-3.0-only OR AGPL-3.0-only)", LicenseUnlisted},
		{"GPL-2.0-only WITH Classpath-exception-2.0", LicenseAllowed},
		{"GPL-3.0-only WITH GCC-exception-3.1", LicenseUnlisted},
		{"mit or apache-2.0", LicenseUnlisted},
		{"NOASSERTION", LicenseUnknown},
		{"UNLICENSED", LicenseUnknown},
		{"LicenseRef-Proprietary", LicenseUnknown},
		{"", LicenseUnknown},
		{"MIT OR", LicenseUnknown},
		{"(MIT", LicenseUnknown},
		{"MIT Apache-2.0", LicenseUnknown},
	}
	for _, tt := range tests {
		if got := LicenseStatus(l, tt.expr); got != tt.want {
			t.Errorf("LicenseStatus(%q) = %s, want %s", tt.expr, got, tt.want)
		}
	}
	if got := LicenseIDs("(MIT OR GPL-2.0-only WITH Classpath-exception-2.0) AND ISC"); !slices.Equal(got,
		[]string{"MIT", "GPL-2.0-only", "ISC"}) {
		t.Errorf("LicenseIDs = %v", got)
	}
}

func TestSourceOf(t *testing.T) {
	tests := []struct {
		eco  state.Ecosystem
		name string
		want string
	}{
		{state.EcosystemNPM, "lodash", SourcePackage},
		{state.EcosystemNPM, "@backstage/plugin-catalog", SourceBackstagePlugin},
		{state.EcosystemNPM, "@backstage/core-app-api", SourcePackage},
		{state.EcosystemNPM, "@backstage-community/plugin-sonarqube", SourceBackstagePlugin},
		{state.EcosystemNPM, "@roadiehq/backstage-plugin-github-insights", SourceBackstagePlugin},
		{state.EcosystemNPM, "backstage-plugin-foo", SourceBackstagePlugin},
		{"oci", "library/nginx", SourceImage},
	}
	for _, tt := range tests {
		if got := SourceOf(&state.Artifact{Ecosystem: tt.eco, Name: tt.name}); got != tt.want {
			t.Errorf("SourceOf(%s %s) = %s, want %s", tt.eco, tt.name, got, tt.want)
		}
	}
}

func TestNeedsReleaseTime(t *testing.T) {
	if !NeedsReleaseTime(loadPolicy(t, "testdata/bank.yaml")) {
		t.Errorf("the bank policy has a releasedWithin rule")
	}
	p, err := policy.Parse("p.yaml", []byte("apiVersion: sluice.dev/v1\nkind: RiskPolicy\n"+
		"metadata: {name: p}\ntiers: {low: {approval: auto}}\n"+
		"rules: [{name: r, when: {recentRelease: true}, then: low}]\ndefault: low\n"))
	if err != nil {
		t.Fatal(err)
	}
	if NeedsReleaseTime(p) {
		t.Errorf("recentRelease comes from the scanners, not from a release time lookup")
	}
}

func TestUnscannedNeverAutoApproved(t *testing.T) {
	lax := `apiVersion: sluice.dev/v1
kind: RiskPolicy
metadata: {name: lax}
tiers:
  low: {approval: auto}
  medium: {approvers: [{role: team-lead}]}
roles: {team-lead: [alice]}
default: low
`
	optIn := lax + `rules:
  - {name: unscanned-allowed, when: {scanned: false}, then: low}
`
	noHumans := `apiVersion: sluice.dev/v1
kind: RiskPolicy
metadata: {name: no-humans}
tiers:
  low: {approval: auto}
default: low
`
	tests := []struct {
		name, policy string
		scanned      bool
		want         policy.Tier
		fired        string
	}{
		{"lax policy, unscanned", lax, false, policy.TierMedium, UnscannedRule},
		{"lax policy, scanned", lax, true, policy.TierLow, ""},
		{"policy opts in", optIn, false, policy.TierLow, "unscanned-allowed"},
		{"no human tier", noHumans, false, policy.TierBlocked, UnscannedRule},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := policy.Parse("p.yaml", []byte(tt.policy))
			if err != nil {
				t.Fatal(err)
			}
			d := Evaluate(p, Facts{Ecosystem: "npm", Name: "x", Scanned: tt.scanned})
			if d.Tier != tt.want {
				t.Errorf("tier = %s, want %s", d.Tier, tt.want)
			}
			var fired []string
			for _, f := range d.Fired {
				fired = append(fired, f.Rule)
			}
			if tt.fired != "" && !slices.Contains(fired, tt.fired) {
				t.Errorf("fired %v, want %s among them", fired, tt.fired)
			}
			if tt.fired == "" && len(fired) != 0 {
				t.Errorf("fired %v, want none", fired)
			}
		})
	}
}
