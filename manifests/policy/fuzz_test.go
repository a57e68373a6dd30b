package policy

import (
	"os"
	"testing"
)

func FuzzParsePolicy(f *testing.F) {
	data, err := os.ReadFile("testdata/valid/bank-default.yaml")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(data)
	f.Add([]byte(head + "default: low\n"))
	f.Add([]byte(head + "rules: [{name: a, when: &w {kev: true}, then: medium}, " +
		"{name: b, when: *w, then: low}]\ndefault: low\n"))
	f.Add([]byte("a: &x [*x]\n"))

	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Parse("f.yaml", data)
		if err != nil {
			if p != nil {
				t.Errorf("Parse returned a policy along with %v", err)
			}
			for _, pe := range problemsOf(t, err) {
				if pe.File != "f.yaml" || pe.Message == "" {
					t.Errorf("problem %q does not name f.yaml", pe)
				}
			}
			return
		}
		if p.Tiers.Spec(p.Default) == nil {
			t.Errorf("accepted default %q without its tier", p.Default)
		}
		for _, r := range p.Rules {
			if r.Then.Rank() == 0 || (r.Then != TierBlocked && p.Tiers.Spec(r.Then) == nil) {
				t.Errorf("accepted rule %s with then %q", r.Name, r.Then)
			}
		}
		for _, tier := range []Tier{TierLow, TierMedium, TierHigh} {
			spec := p.Tiers.Spec(tier)
			if spec == nil {
				continue
			}
			if spec.Auto() == (len(spec.Approvers) > 0) {
				t.Errorf("tier %s: auto %v with %d approvers", tier, spec.Auto(), len(spec.Approvers))
			}
			for _, a := range spec.Approvers {
				if a.Count < 1 || a.Count > len(p.Roles[a.Role]) {
					t.Errorf("tier %s: %d of role %s with members %v", tier, a.Count, a.Role, p.Roles[a.Role])
				}
			}
		}
	})
}
