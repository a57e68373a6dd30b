package scanners

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// SARIF 2.1.0 document types, reduced to the properties the report uses.
type (
	sarifLog struct {
		Schema  string     `json:"$schema"`
		Version string     `json:"version"`
		Runs    []sarifRun `json:"runs"`
	}
	sarifRun struct {
		Tool    sarifTool     `json:"tool"`
		Results []sarifResult `json:"results"`
	}
	sarifTool struct {
		Driver sarifDriver `json:"driver"`
	}
	sarifDriver struct {
		Name  string      `json:"name"`
		Rules []sarifRule `json:"rules"`
	}
	sarifRule struct {
		ID               string         `json:"id"`
		ShortDescription sarifText      `json:"shortDescription"`
		Properties       map[string]any `json:"properties,omitempty"`
	}
	sarifText struct {
		Text string `json:"text"`
	}
	sarifResult struct {
		RuleID       string             `json:"ruleId"`
		Level        string             `json:"level"`
		Message      sarifText          `json:"message"`
		Locations    []sarifLocation    `json:"locations"`
		Suppressions []sarifSuppression `json:"suppressions,omitempty"`
	}
	sarifLocation struct {
		LogicalLocations []sarifLogical `json:"logicalLocations"`
	}
	sarifLogical struct {
		Name               string `json:"name"`
		FullyQualifiedName string `json:"fullyQualifiedName"`
		Kind               string `json:"kind"`
	}
	sarifSuppression struct {
		Kind          string `json:"kind"`
		Justification string `json:"justification"`
	}
)

// WriteSARIF writes the report as a SARIF 2.1.0 log with one rule per
// finding kind and ID, and one result per finding. A suppressed finding
// carries an external suppression with the exception's justification.
func (r *Report) WriteSARIF(w io.Writer) error {
	run := sarifRun{Tool: sarifTool{Driver: sarifDriver{Name: "sluice", Rules: []sarifRule{}}},
		Results: []sarifResult{}}
	rules := map[string]bool{}
	for _, a := range r.Artifacts {
		for _, f := range a.Findings {
			id := string(f.Kind) + "/" + f.ID
			if !rules[id] {
				rules[id] = true
				run.Tool.Driver.Rules = append(run.Tool.Driver.Rules, sarifRuleOf(f, id))
			}
			res := sarifResult{RuleID: id, Level: sarifLevel(f), Message: sarifText{Text: sarifMessage(a, f)},
				Locations: []sarifLocation{{LogicalLocations: []sarifLogical{{Name: f.Package,
					FullyQualifiedName: a.Artifact + ">" + f.Package + "@" + f.PackageVersion, Kind: "module"}}}}}
			if f.Suppressed {
				res.Suppressions = []sarifSuppression{{Kind: "external",
					Justification: f.Justification + " (" + f.SuppressedBy + ")"}}
			}
			run.Results = append(run.Results, res)
		}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(sarifLog{Schema: "https://json.schemastore.org/sarif-2.1.0.json", Version: "2.1.0",
		Runs: []sarifRun{run}})
}

func sarifRuleOf(f Finding, id string) sarifRule {
	rule := sarifRule{ID: id, ShortDescription: sarifText{Text: string(f.Kind) + " " + f.ID}}
	if f.Kind == KindVulnerability {
		rule.Properties = map[string]any{"tags": []string{"security", "vulnerability"}}
		if f.CVSS > 0 {
			// security-severity is the CVSS base score as a string, the
			// property that code scanning tools sort results by.
			rule.Properties["security-severity"] = fmt.Sprintf("%.1f", f.CVSS)
		}
	}
	return rule
}

func sarifLevel(f Finding) string {
	switch f.Kind {
	case KindVulnerability:
		switch f.Severity {
		case SeverityCritical, SeverityHigh:
			return "error"
		case SeverityMedium:
			return "warning"
		}
		return "note"
	case KindInstallScript, KindNativeBuild, KindDependencyConfusion:
		return "warning"
	}
	return "note"
}

func sarifMessage(a ArtifactReport, f Finding) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s in %s@%s (artifact %s)", f.Kind, f.ID, f.Package, f.PackageVersion, a.Artifact)
	if f.Severity != "" {
		fmt.Fprintf(&b, ", severity %s", f.Severity)
	}
	if len(f.FixedIn) > 0 {
		fmt.Fprintf(&b, ", fixed in %s", strings.Join(f.FixedIn, ", "))
	}
	if f.Detail != "" {
		fmt.Fprintf(&b, ": %s", f.Detail)
	}
	return b.String()
}
