package approvals

import (
	"fmt"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/sluice-dev/sluice/manifests/policy"
	"github.com/sluice-dev/sluice/scanners"
)

// Decision is a policy's verdict on one artifact.
type Decision struct {
	// Policy and PolicyDigest identify the exact policy file.
	Policy       string `json:"policy"`
	PolicyDigest string `json:"policyDigest"`
	// Tier is the strictest tier among the rules that fired, or the
	// policy's default when none fired; blocked when a blocking rule fired.
	Tier    policy.Tier `json:"tier"`
	Blocked bool        `json:"blocked"`
	// Fired lists the rules that fired, in policy order.
	Fired []Fired `json:"fired,omitempty"`
}

// Fired is one rule that fired and the facts it matched.
type Fired struct {
	Rule string      `json:"rule"`
	Then policy.Tier `json:"then"`
	// Line is the line of the policy file where the rule starts.
	Line int `json:"line,omitempty"`
	// Matched describes each fact that made a condition hold, such as
	// "CVE-2021-23337 critical, fixed in 4.17.21".
	Matched []string `json:"matched"`
}

// RuleNames returns the names of the rules that fired.
func (d *Decision) RuleNames() []string {
	out := make([]string, len(d.Fired))
	for i, f := range d.Fired {
		out[i] = f.Rule
	}
	return out
}

// PolicyApprover is the approver recorded when a tier's verdict alone
// approves an artifact: "policy:<name>@<digest>".
func PolicyApprover(p *policy.Policy) string {
	return "policy:" + p.Metadata.Name + "@" + p.Digest
}

// Evaluate applies every rule of p to f. Every rule whose conditions all
// hold fires; the strictest tier among them wins (low < medium < high <
// blocked), and p.Default applies when none fires.
func Evaluate(p *policy.Policy, f Facts) Decision {
	d := Decision{Policy: p.Metadata.Name, PolicyDigest: p.Digest, Tier: p.Default}
	for _, r := range p.Rules {
		matched, ok := match(p, &r.When, &f)
		if !ok {
			continue
		}
		if len(d.Fired) == 0 || r.Then.Rank() > d.Tier.Rank() {
			d.Tier = r.Then
		}
		d.Fired = append(d.Fired, Fired{Rule: r.Name, Then: r.Then, Line: r.Pos.Line, Matched: matched})
	}
	// An artifact nothing scanned is never approved by default. A policy
	// that approves unscanned artifacts must state it with a rule on the
	// scanned condition.
	if !f.Scanned && d.Tier.Rank() < policy.TierMedium.Rank() && !mentionsScanned(p) {
		d.Tier = humanTier(p)
		d.Fired = append(d.Fired, Fired{Rule: UnscannedRule, Then: d.Tier,
			Matched: []string{"no scan result: a person must look, or the policy must have a rule on scanned"}})
	}
	d.Blocked = d.Tier == policy.TierBlocked
	return d
}

// UnscannedRule names the built-in rule that holds unscanned artifacts for
// people when the policy has no rule on the scanned condition.
const UnscannedRule = "unscanned (built in)"

// humanTier returns the lowest tier of p that people approve, or blocked
// when p defines none.
func humanTier(p *policy.Policy) policy.Tier {
	for _, t := range []policy.Tier{policy.TierMedium, policy.TierHigh} {
		if spec := p.Tiers.Spec(t); spec != nil && !spec.Auto() {
			return t
		}
	}
	return policy.TierBlocked
}

func mentionsScanned(p *policy.Policy) bool {
	for _, r := range p.Rules {
		if r.When.Scanned != nil {
			return true
		}
	}
	return false
}

// match reports whether every condition set in c holds for f, and
// describes the facts that made them hold.
func match(p *policy.Policy, c *policy.Conditions, f *Facts) ([]string, bool) {
	var why []string
	checks := []func() (string, bool){
		func() (string, bool) { return inList("ecosystem", c.Ecosystem, f.Ecosystem) },
		func() (string, bool) { return inList("source", c.Source, f.Source) },
		func() (string, bool) { return inList("data class", c.DataClass, f.DataClass) },
		func() (string, bool) { return nameMatches(c.Name, f.Name) },
		func() (string, bool) { return vulnerabilityMatches(c, f) },
		func() (string, bool) { return licenseMatches(p.Licenses, c, f) },
		func() (string, bool) { return kindPresent(c.InstallScripts, f, scanners.KindInstallScript) },
		func() (string, bool) { return kindPresent(c.NativeBuild, f, scanners.KindNativeBuild) },
		func() (string, bool) {
			return kindPresent(c.DependencyConfusion, f, scanners.KindDependencyConfusion)
		},
		func() (string, bool) { return signatureMatches(c.UpstreamSignature, f) },
		func() (string, bool) { return releasedWithin(time.Duration(c.ReleasedWithin), f) },
		func() (string, bool) { return kindPresent(c.RecentRelease, f, scanners.KindReleaseAge) },
		func() (string, bool) { return scanned(c.Scanned, f) },
	}
	for _, check := range checks {
		reason, ok := check()
		if !ok {
			return nil, false
		}
		if reason != "" {
			why = append(why, reason)
		}
	}
	return why, true
}

// Each check below returns ("", true) when its condition is not set.

func inList(what string, values policy.StringList, fact string) (string, bool) {
	if len(values) == 0 {
		return "", true
	}
	if !slices.Contains(values, fact) {
		return "", false
	}
	return what + " " + fact, true
}

func nameMatches(patterns policy.StringList, name string) (string, bool) {
	if len(patterns) == 0 {
		return "", true
	}
	for _, p := range patterns {
		if ok, _ := path.Match(p, name); ok {
			return fmt.Sprintf("name %s matches %s", name, p), true
		}
	}
	return "", false
}

// vulnerabilityMatches requires one vulnerability that meets every
// vulnerability condition at once.
func vulnerabilityMatches(c *policy.Conditions, f *Facts) (string, bool) {
	if c.Severity == "" && c.FixAvailable == nil && c.KEV == nil && c.EPSSAtLeast == nil &&
		c.CVSSAtLeast == nil {
		return "", true
	}
	var hits []string
	for _, v := range f.active(scanners.KindVulnerability) {
		if c.Severity != "" && severityRank(v.Severity) < severityRank(scanners.Severity(c.Severity)) {
			continue
		}
		if c.FixAvailable != nil && (len(v.FixedIn) > 0) != *c.FixAvailable {
			continue
		}
		if c.KEV != nil && v.KEV != *c.KEV {
			continue
		}
		if c.EPSSAtLeast != nil && v.EPSS < *c.EPSSAtLeast {
			continue
		}
		if c.CVSSAtLeast != nil && v.CVSS < *c.CVSSAtLeast {
			continue
		}
		hits = append(hits, describeVulnerability(v))
	}
	if len(hits) == 0 {
		return "", false
	}
	return strings.Join(hits, "; "), true
}

// severityRank orders severities; unknown and unrecognised severities rank
// 0, below negligible, so no severity condition matches them.
func severityRank(s scanners.Severity) int {
	return slices.Index(policy.Severities, string(s)) + 1
}

func describeVulnerability(v scanners.Finding) string {
	s := v.ID + " " + string(v.Severity)
	if len(v.FixedIn) > 0 {
		s += ", fixed in " + strings.Join(v.FixedIn, ", ")
	} else {
		s += ", no fix"
	}
	if v.KEV {
		s += ", known exploited"
	}
	if v.EPSS > 0 {
		s += fmt.Sprintf(", EPSS %.3f", v.EPSS)
	}
	if v.CVSS > 0 {
		s += fmt.Sprintf(", CVSS %.1f", v.CVSS)
	}
	return s
}

// licenseMatches checks the license conditions against the artifact's
// licenses. An artifact without license findings has one license of
// status unknown.
func licenseMatches(l policy.Licenses, c *policy.Conditions, f *Facts) (string, bool) {
	if len(c.License) == 0 && len(c.LicenseIDs) == 0 {
		return "", true
	}
	var exprs []string
	for _, x := range f.active(scanners.KindLicense) {
		exprs = append(exprs, x.ID)
	}
	var why []string
	if len(c.License) > 0 {
		var hits []string
		if len(exprs) == 0 && slices.Contains(c.License, LicenseUnknown) {
			hits = append(hits, "no license found")
		}
		for _, e := range exprs {
			if s := LicenseStatus(l, e); slices.Contains(c.License, s) {
				hits = append(hits, fmt.Sprintf("license %q is %s", e, s))
			}
		}
		if len(hits) == 0 {
			return "", false
		}
		why = append(why, hits...)
	}
	if len(c.LicenseIDs) > 0 {
		var hits []string
		for _, e := range exprs {
			for _, id := range LicenseIDs(e) {
				if matchAny(c.LicenseIDs, id) {
					hits = append(hits, "license "+id)
				}
			}
		}
		if len(hits) == 0 {
			return "", false
		}
		why = append(why, hits...)
	}
	return strings.Join(why, "; "), true
}

// kindPresent checks a true/false condition on whether an active finding
// of kind k exists.
func kindPresent(want *bool, f *Facts, k scanners.Kind) (string, bool) {
	if want == nil {
		return "", true
	}
	found := f.active(k)
	if (len(found) > 0) != *want {
		return "", false
	}
	if !*want {
		return "no " + string(k) + " finding", true
	}
	var parts []string
	for _, x := range found {
		s := string(k) + " " + x.ID
		if x.Detail != "" {
			s += ": " + x.Detail
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, "; "), true
}

// SignatureStatus classifies an upstream-signature finding: ID "missing"
// means upstream published no signature or provenance; any other ID means
// one was published and failed verification.
func SignatureStatus(x scanners.Finding) string {
	if strings.EqualFold(x.ID, "missing") {
		return "missing"
	}
	return "failed"
}

func signatureMatches(want policy.StringList, f *Facts) (string, bool) {
	if len(want) == 0 {
		return "", true
	}
	for _, x := range f.active(scanners.KindUpstreamSignature) {
		if s := SignatureStatus(x); slices.Contains(want, s) {
			return "upstream signature " + s, true
		}
	}
	return "", false
}

// releasedWithin holds when the release time is known and less than
// window before the evaluation.
func releasedWithin(window time.Duration, f *Facts) (string, bool) {
	if window == 0 {
		return "", true
	}
	if f.Released.IsZero() {
		return "", false
	}
	age := f.At.Sub(f.Released)
	if age >= window {
		return "", false
	}
	return fmt.Sprintf("released %s before evaluation, within %s", age.Round(time.Minute), window), true
}

func scanned(want *bool, f *Facts) (string, bool) {
	if want == nil {
		return "", true
	}
	if f.Scanned != *want {
		return "", false
	}
	if f.Scanned {
		return "scanned", true
	}
	return "not scanned", true
}
