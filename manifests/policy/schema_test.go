package policy

import (
	"strings"
	"testing"

	"github.com/sluice-dev/sluice/manifests/internal/schematest"
)

func TestSchemaAcceptsTestdata(t *testing.T) {
	schematest.New(t, "policy", Parse).AcceptsFiles(t, "testdata/valid/*.yaml")
}

// TestSchemaRejects checks that the schema catches the problems that a
// JSON Schema can express, so editors flag them before Parse does.
func TestSchemaRejects(t *testing.T) {
	c := schematest.New(t, "policy", Parse)
	valid := head + "default: low\n"
	rule := func(r string) string { return head + "rules:\n  - " + r + "\ndefault: low\n" }
	tests := []struct {
		name, yaml string
	}{
		{"wrong kind", strings.Replace(valid, "RiskPolicy", "Policy", 1)},
		{"missing default", head},
		{"default blocked", head + "default: blocked\n"},
		{"unknown field", valid + "status: {}\n"},
		{"approval and expiry", strings.Replace(valid, "{approval: auto}",
			"{approval: auto, expiresAfter: 1h}", 1)},
		{"approval and approvers", strings.Replace(valid, "{approval: auto}",
			"{approval: auto, approvers: [{role: lead}]}", 1)},
		{"no approval at all", strings.Replace(valid, "{approval: auto}", "{}", 1)},
		{"count zero", strings.Replace(valid, "{role: lead}", "{role: lead, count: 0}", 1)},
		{"expiry in days", strings.Replace(valid, "24h", "7d", 1)},
		{"role without members", strings.Replace(valid, "sec: [carol]", "sec: []", 1)},
		{"role name with capitals", strings.Replace(valid, "sec: [carol]", "Sec: [carol]", 1)},
		{"rule without conditions", rule("{name: r, when: {}, then: medium}")},
		{"unknown condition", rule("{name: r, when: {installScript: true}, then: medium}")},
		{"severity unknown", rule("{name: r, when: {severity: severe}, then: medium}")},
		{"epss above one", rule("{name: r, when: {epssAtLeast: 2}, then: medium}")},
		{"source unknown", rule("{name: r, when: {source: [package, helm]}, then: medium}")},
		{"license status unknown", rule("{name: r, when: {license: forbidden}, then: medium}")},
		{"then unknown", rule("{name: r, when: {kev: true}, then: critical}")},
		{"kev not a boolean", rule("{name: r, when: {kev: 'yes'}, then: medium}")},
	}
	for _, tt := range tests {
		c.Rejects(t, tt.name, tt.yaml)
	}
}
