package policy

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/manifests"
)

// head is a valid policy up to its rules; tests append rules and default.
const head = `apiVersion: sluice.dev/v1
kind: RiskPolicy
metadata: {name: p}
tiers:
  low: {approval: auto}
  medium: {approvers: [{role: lead}], expiresAfter: 24h}
roles: {lead: [alice, bob], sec: [carol]}
`

func problemsOf(t *testing.T, err error) []*manifests.Error {
	t.Helper()
	errs := []error{err}
	if joined, ok := err.(interface{ Unwrap() []error }); ok {
		errs = joined.Unwrap()
	}
	out := make([]*manifests.Error, 0, len(errs))
	for _, e := range errs {
		var pe *manifests.Error
		if !errors.As(e, &pe) {
			t.Fatalf("error %q is %T, not *manifests.Error", e, e)
		}
		out = append(out, pe)
	}
	return out
}

func TestLoadValid(t *testing.T) {
	p, err := Load("testdata/valid/bank-default.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if p.Metadata.Name != "bank-default" || p.Default != TierLow {
		t.Errorf("name %q default %q", p.Metadata.Name, p.Default)
	}
	if !strings.HasPrefix(p.Digest, "sha256:") || len(p.Digest) != 71 {
		t.Errorf("digest %q", p.Digest)
	}
	if !p.Tiers.Low.Auto() || p.Tiers.Medium.Auto() {
		t.Errorf("low auto %v, medium auto %v", p.Tiers.Low.Auto(), p.Tiers.Medium.Auto())
	}

	wantHigh := &TierSpec{Approvers: []Approver{{Role: "team-lead", Count: 1},
		{Role: "security", Count: 1, After: "team-lead"}}, ExpiresAfter: Duration(72 * time.Hour)}
	if !reflect.DeepEqual(p.Tiers.High, wantHigh) {
		t.Errorf("high = %+v, want %+v", p.Tiers.High, wantHigh)
	}
	if got := p.Roles["security"]; !reflect.DeepEqual(got, []string{"carol", "dave"}) {
		t.Errorf("security = %v", got)
	}

	if len(p.Rules) != 12 {
		t.Fatalf("%d rules, want 12", len(p.Rules))
	}
	first := p.Rules[0]
	if first.Name != "critical-with-fix" || first.Then != TierBlocked ||
		first.When.Severity != "critical" || first.When.FixAvailable == nil || !*first.When.FixAvailable {
		t.Errorf("first rule = %+v", first)
	}
	if first.Pos.Line != 23 || first.Pos.Column != 5 {
		t.Errorf("first rule at %v, want line 23 column 5", first.Pos)
	}
	dev := p.Rules[11].When
	if !reflect.DeepEqual(dev.DataClass, StringList{"development", "sandbox"}) ||
		!reflect.DeepEqual(dev.Ecosystem, StringList{"npm"}) {
		t.Errorf("development rule = %+v", dev)
	}
	if got := p.Rules[7].When.ReleasedWithin; got != Duration(72*time.Hour) {
		t.Errorf("releasedWithin = %s", got)
	}
}

func TestDigestIsOfFileBytes(t *testing.T) {
	a, err := Parse("a.yaml", []byte(head+"default: low\n"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := Parse("a.yaml", []byte(head+"default: low # same policy\n"))
	if err != nil {
		t.Fatal(err)
	}
	if a.Digest == b.Digest {
		t.Errorf("a comment changed nothing in the digest %s", a.Digest)
	}
}

type wantProblem struct {
	at       string // "line:column"
	field    string
	contains string
}

func TestParseInvalid(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want []wantProblem
	}{
		{"wrong kind", strings.Replace(head, "RiskPolicy", "Manifest", 1) + "default: low\n",
			[]wantProblem{{"2:7", "kind", `unsupported kind "Manifest"`}}},
		{"missing default", head,
			[]wantProblem{{"1:1", "default", "missing: name the tier"}}},
		{"default not a tier", head + "default: blocked\n",
			[]wantProblem{{"8:10", "default", `invalid value "blocked": use one of low, medium, high`}}},
		{"default tier undefined", head + "default: high\n",
			[]wantProblem{{"8:10", "default", "tier high is not defined under tiers"}}},
		{"unknown top-level field", head + "default: low\nrule: []\n",
			[]wantProblem{{"9:1", "", `unknown field "rule": did you mean "rules"?`}}},
		{"unknown tier", strings.Replace(head, "  low:", "  lowe:", 1) + "default: medium\n",
			[]wantProblem{{"5:3", "tiers", `unknown field "lowe": did you mean "low"?`}}},
		{"approval and approvers", strings.Replace(head, "{approval: auto}",
			"{approval: auto, approvers: [{role: lead}]}", 1) + "default: low\n",
			[]wantProblem{{"5:25", "tiers.low", "approval and approvers are both set"}}},
		{"neither approval nor approvers", strings.Replace(head, "{approval: auto}",
			"{expiresAfter: 1h}", 1) + "default: low\n",
			[]wantProblem{{"5:8", "tiers.low", "neither approval nor approvers is set"}}},
		{"approval not auto", strings.Replace(head, "approval: auto", "approval: yes", 1) +
			"default: low\n",
			[]wantProblem{{"5:19", "tiers.low.approval", `invalid value "yes": use one of auto`}}},
		{"role not listed", strings.Replace(head, "role: lead", "role: boss", 1) + "default: low\n",
			[]wantProblem{{"6:31", "tiers.medium.approvers[0].role", `role "boss" is not listed under roles`}}},
		{"count above members", strings.Replace(head, "{role: lead}", "{role: lead, count: 3}", 1) +
			"default: low\n",
			[]wantProblem{{"6:44", "tiers.medium.approvers[0].count", "3 approvals needed but role lead has 2 members"}}},
		{"count zero", strings.Replace(head, "{role: lead}", "{role: lead, count: 0}", 1) +
			"default: low\n",
			[]wantProblem{{"6:44", "tiers.medium.approvers[0].count", "must be at least 1, not 0"}}},
		{"after a later step", strings.Replace(head, "[{role: lead}]",
			"[{role: lead, after: sec}, {role: sec}]", 1) + "default: low\n",
			[]wantProblem{{"6:44", "tiers.medium.approvers[0].after", `no earlier step of this tier has role "sec"`}}},
		{"same role twice", strings.Replace(head, "[{role: lead}]",
			"[{role: lead}, {role: lead}]", 1) + "default: low\n",
			[]wantProblem{{"6:45", "tiers.medium.approvers[1].role", "role lead has a step already"}}},
		{"expiry not a duration", strings.Replace(head, "24h", "7d", 1) + "default: low\n",
			[]wantProblem{{"6:53", "tiers.medium.expiresAfter", `invalid duration "7d"`}}},
		{"expiry with auto", strings.Replace(head, "{approval: auto}",
			"{approval: auto, expiresAfter: 1h}", 1) + "default: low\n",
			[]wantProblem{{"5:25", "tiers.low.expiresAfter", "applies only to approvers"}}},
		{"role member twice", strings.Replace(head, "[alice, bob]", "[alice, alice]", 1) +
			"default: low\n",
			[]wantProblem{{"7:23", "roles.lead[1]", "alice is listed twice"}}},
		{"role without members", strings.Replace(head, "sec: [carol]", "sec: []", 1) + "default: low\n",
			[]wantProblem{{"7:34", "roles.sec", "no members"}}},
		{"license on both lists", head + "licenses: {allow: [MIT], deny: [MIT]}\ndefault: low\n",
			[]wantProblem{{"8:33", "licenses.deny[0]", "MIT is listed under licenses.allow already"}}},
		{"bad license pattern", head + "licenses: {deny: [\"GPL-[\"]}\ndefault: low\n",
			[]wantProblem{{"8:19", "licenses.deny[0]", `invalid pattern "GPL-["`}}},
		{"rule without conditions", head + "rules:\n  - {name: r, when: {}, then: medium}\ndefault: low\n",
			[]wantProblem{{"9:15", "rules[0].when", "no conditions"}}},
		{"unknown condition", head + "rules:\n  - {name: r, when: {installScript: true}, then: medium}\n" +
			"default: low\n",
			[]wantProblem{{"9:22", "rules[0].when", `unknown field "installScript": did you mean "installScripts"?`}}},
		{"condition wrong type", head + "rules:\n  - {name: r, when: {installScripts: yes please}, " +
			"then: medium}\ndefault: low\n",
			[]wantProblem{{"9:38", "rules[0].when.installScripts", "must be true or false"}}},
		{"severity unknown", head + "rules:\n  - {name: r, when: {severity: severe}, then: medium}\n" +
			"default: low\n",
			[]wantProblem{{"9:32", "rules[0].when.severity", `invalid value "severe": use one of negligible`}}},
		{"epss out of range", head + "rules:\n  - {name: r, when: {epssAtLeast: 50}, then: medium}\n" +
			"default: low\n",
			[]wantProblem{{"9:35", "rules[0].when.epssAtLeast", "must be between 0 and 1, not 50"}}},
		{"source unknown", head + "rules:\n  - {name: r, when: {source: [package, helm]}, then: medium}\n" +
			"default: low\n",
			[]wantProblem{{"9:40", "rules[0].when.source[1]", `invalid value "helm"`}}},
		{"then undefined tier", head + "rules:\n  - {name: r, when: {kev: true}, then: high}\n" +
			"default: low\n",
			[]wantProblem{{"9:40", "rules[0].then", "tier high is not defined under tiers"}}},
		{"duplicate rule name", head + "rules:\n  - {name: r, when: {kev: true}, then: blocked}\n" +
			"  - {name: r, when: {kev: false}, then: low}\ndefault: low\n",
			[]wantProblem{{"10:12", "rules[1].name", "rule name r is used on line 9 already"}}},
		{"rule name invalid", head + "rules:\n  - {name: Rule_1, when: {kev: true}, then: blocked}\n" +
			"default: low\n",
			[]wantProblem{{"9:12", "rules[0].name", `invalid name "Rule_1"`}}},
		{"missing then", head + "rules:\n  - {name: r, when: {kev: true}}\ndefault: low\n",
			[]wantProblem{{"9:5", "rules[0].then", "missing: name a tier or blocked"}}},
		{"invalid yaml", head + "default: [low\n",
			[]wantProblem{{"8:", "", "invalid YAML"}}},
		{"two documents", head + "default: low\n---\nkind: RiskPolicy\n",
			[]wantProblem{{"9:1", "", "more than one YAML document"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Parse("p.yaml", []byte(tt.yaml))
			if err == nil {
				t.Fatalf("Parse accepted the policy: %+v", p)
			}
			got := problemsOf(t, err)
			if len(got) != len(tt.want) {
				t.Fatalf("got %d problems, want %d:\n%v", len(got), len(tt.want), err)
			}
			for i, w := range tt.want {
				g := got[i]
				at := fmt.Sprintf("%d:%d", g.Line, g.Column)
				if !strings.HasPrefix(at, w.at) || g.Field != w.field || g.File != "p.yaml" ||
					!strings.Contains(g.Message, w.contains) {
					t.Errorf("problem %d = %s (at %s, field %q), want at %s field %q containing %q",
						i, g, at, g.Field, w.at, w.field, w.contains)
				}
			}
		})
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "nope.yaml"))
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("err = %v, want os.ErrNotExist", err)
	}
}
