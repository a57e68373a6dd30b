package scanners

import (
	"bufio"
	"fmt"
	"io"
	"strings"
	"time"
)

// WriteMarkdown writes the report as a Markdown document for people: a
// summary table, then each artifact's findings.
func (r *Report) WriteMarkdown(w io.Writer) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "# Scan report: %s\n\n", r.Subject)
	fmt.Fprintf(bw, "Generated %s.\n\n", r.Generated.Format(time.RFC3339))
	fmt.Fprintln(bw, "| artifact | critical | high | medium | low | suppressed | install scripts | licenses |")
	fmt.Fprintln(bw, "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
	for _, a := range r.Artifacts {
		s := a.Summary
		fmt.Fprintf(bw, "| %s | %d | %d | %d | %d | %d | %d | %s |\n", mdEscape(a.Artifact), s.Critical, s.High,
			s.Medium, s.Low, s.Suppressed, s.InstallScripts, mdEscape(strings.Join(s.Licenses, ", ")))
	}
	for _, a := range r.Artifacts {
		fmt.Fprintf(bw, "\n## %s\n\n", mdEscape(a.Artifact))
		fmt.Fprintf(bw, "- state: %s\n- tarball: `%s`\n- scanned: %s\n", a.State, a.Digest,
			a.Scanned.Format(time.RFC3339))
		fmt.Fprintf(bw, "- SBOM: SPDX `%s`, CycloneDX `%s`\n", a.SBOM.SPDX, a.SBOM.CycloneDX)
		fmt.Fprintf(bw, "- vulnerability database: schema %s, built %s, checksum `%s`\n", a.DB.SchemaVersion,
			a.DB.Built.Format(time.RFC3339), a.DB.Checksum)
		for _, id := range a.ExpiredExceptions {
			fmt.Fprintf(bw, "- expired exception no longer applies: %s\n", mdEscape(id))
		}
		writeVulnerabilityTable(bw, a.Findings)
		writeOtherFindings(bw, a.Findings)
	}
	return bw.Flush()
}

func writeVulnerabilityTable(w io.Writer, findings []Finding) {
	var rows []string
	for _, f := range findings {
		if f.Kind != KindVulnerability {
			continue
		}
		status := "open"
		if f.Suppressed {
			status = fmt.Sprintf("not affected (%s, %s)", f.Justification, f.SuppressedBy)
		}
		kev := ""
		if f.KEV {
			kev = "yes"
		}
		rows = append(rows, fmt.Sprintf("| %s | %s | %s | %s | %s | %s | %s | %s | %s |", f.ID,
			strings.Join(f.Aliases, ", "), f.Severity, formatScore(f.CVSS, "%.1f"), formatScore(f.EPSS, "%.4f"),
			kev, mdEscape(f.Package+"@"+f.PackageVersion), strings.Join(f.FixedIn, ", "), mdEscape(status)))
	}
	if len(rows) == 0 {
		fmt.Fprint(w, "\nNo known vulnerabilities.\n")
		return
	}
	fmt.Fprint(w, "\n### Vulnerabilities\n\n")
	fmt.Fprintln(w, "| ID | aliases | severity | CVSS | EPSS | KEV | package | fixed in | status |")
	fmt.Fprintln(w, "| --- | --- | --- | ---: | ---: | --- | --- | --- | --- |")
	for _, row := range rows {
		fmt.Fprintln(w, row)
	}
}

func writeOtherFindings(w io.Writer, findings []Finding) {
	var lines []string
	for _, f := range findings {
		if f.Kind == KindVulnerability {
			continue
		}
		line := fmt.Sprintf("- %s `%s` in %s", f.Kind, f.ID, mdEscape(f.Package+"@"+f.PackageVersion))
		if f.Detail != "" {
			line += ": " + mdEscape(f.Detail)
		}
		lines = append(lines, line)
	}
	if len(lines) == 0 {
		return
	}
	fmt.Fprint(w, "\n### Other findings\n\n")
	for _, l := range lines {
		fmt.Fprintln(w, l)
	}
}

// formatScore formats a score, leaving a missing (zero) score blank.
func formatScore(v float64, format string) string {
	if v == 0 {
		return ""
	}
	return fmt.Sprintf(format, v)
}

// mdEscape keeps text from breaking a Markdown table.
func mdEscape(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ", "`", "'").Replace(s)
}
