package approvals

import (
	"slices"
	"strings"
	"time"

	"github.com/sluice-dev/sluice/ingest/state"
	"github.com/sluice-dev/sluice/manifests/policy"
	"github.com/sluice-dev/sluice/scanners"
)

// Sources of artifacts that rules match with the source condition.
const (
	SourcePackage         = "package"
	SourceImage           = "image"
	SourceBackstagePlugin = "backstage-plugin"
)

// Facts are the properties of an artifact that a policy's rules match:
// where it comes from, what kind of system requested it, and what the
// scanners found. Evidence keeps them, so a verdict can be recomputed
// under another policy.
type Facts struct {
	Ecosystem string `json:"ecosystem"`
	Name      string `json:"name"`
	Version   string `json:"version"`
	// Source is package, image or backstage-plugin.
	Source string `json:"source"`
	// DataClass is the data class of the requesting team's system, from
	// the manifest that first asked for the artifact.
	DataClass string `json:"dataClass,omitempty"`
	// Scanned is set when a scan result exists for the artifact's digest;
	// Findings are that result's findings.
	Scanned  bool               `json:"scanned"`
	Findings []scanners.Finding `json:"findings,omitempty"`
	// Released is when upstream published the artifact; zero when unknown.
	Released time.Time `json:"released,omitzero"`
	// At is when the facts were evaluated, the reference for release age.
	At time.Time `json:"at"`
}

// NewFacts collects the facts about a stored artifact. scan is nil when
// the artifact was not scanned; released is zero when the release time is
// unknown; at is the evaluation time.
func NewFacts(a *state.Artifact, scan *scanners.ScanResult, released, at time.Time) Facts {
	f := Facts{
		Ecosystem: string(a.Ecosystem),
		Name:      a.Name,
		Version:   a.Version,
		Source:    SourceOf(a),
		DataClass: a.DataClass,
		Released:  released,
		At:        at,
	}
	if scan != nil {
		f.Scanned, f.Findings = true, scan.Findings
	}
	return f
}

// SourceOf classifies an artifact for the source condition. Container
// images are image; npm packages named like Backstage plugins
// (@backstage/plugin-*, @backstage-community/plugin-*, or any name with a
// backstage-plugin- segment) are backstage-plugin; the rest are package.
//
// NOTE: the plugin test goes by the naming convention of the Backstage
// project, so a plugin published under another name counts as a package.
func SourceOf(a *state.Artifact) string {
	switch a.Ecosystem {
	case "oci", "image", "docker":
		return SourceImage
	}
	name := a.Name
	scope, base, scoped := strings.Cut(strings.TrimPrefix(name, "@"), "/")
	if scoped && strings.HasPrefix(name, "@") {
		if (scope == "backstage" || scope == "backstage-community") && strings.HasPrefix(base, "plugin-") {
			return SourceBackstagePlugin
		}
		name = base
	}
	if strings.HasPrefix(name, "backstage-plugin-") || strings.Contains(name, "-backstage-plugin-") {
		return SourceBackstagePlugin
	}
	return SourcePackage
}

// active returns the findings of kind k that no exception suppresses.
func (f *Facts) active(k scanners.Kind) []scanners.Finding {
	var out []scanners.Finding
	for _, x := range f.Findings {
		if x.Kind == k && !x.Suppressed {
			out = append(out, x)
		}
	}
	return out
}

// NeedsReleaseTime reports whether a rule of p matches on the release
// time, so a caller configures WithReleaseTimes only when it is used:
// looking the time up costs a request to the upstream registry per
// artifact.
func NeedsReleaseTime(p *policy.Policy) bool {
	return slices.ContainsFunc(p.Rules, func(r policy.Rule) bool { return r.When.ReleasedWithin > 0 })
}
