// Package scanners owns what is measured about an artifact before anyone
// decides on it: SBOMs, vulnerability matches against an offline database,
// licenses, install scripts and dependency confusion. It reports findings;
// it never decides approval.
package scanners

// Kind classifies a finding.
type Kind string

// Finding kinds.
const (
	KindVulnerability       Kind = "vulnerability"
	KindLicense             Kind = "license"
	KindInstallScript       Kind = "install-script"
	KindNativeBuild         Kind = "native-build"
	KindDependencyConfusion Kind = "dependency-confusion"
	KindReleaseAge          Kind = "release-age"
	KindUpstreamSignature   Kind = "upstream-signature"
)

// Severity of a vulnerability finding, as the vulnerability database states it.
type Severity string

// Severities, from least to most severe.
const (
	SeverityUnknown    Severity = "unknown"
	SeverityNegligible Severity = "negligible"
	SeverityLow        Severity = "low"
	SeverityMedium     Severity = "medium"
	SeverityHigh       Severity = "high"
	SeverityCritical   Severity = "critical"
)

// Finding is one fact a scanner established about an artifact.
type Finding struct {
	Kind Kind `json:"kind"`
	// ID identifies the finding within its kind: a CVE or GHSA ID for a
	// vulnerability, an SPDX license ID, a script name such as "postinstall".
	ID      string   `json:"id"`
	Aliases []string `json:"aliases,omitempty"`
	// Package and PackageVersion name the package of the artifact's SBOM
	// that the finding is about: the artifact itself or a dependency
	// bundled inside it.
	Package        string   `json:"package,omitempty"`
	PackageVersion string   `json:"packageVersion,omitempty"`
	Severity       Severity `json:"severity,omitempty"`
	CVSS           float64  `json:"cvss,omitempty"`
	// FixedIn lists the versions that fix a vulnerability; empty when no fix
	// is known.
	FixedIn []string `json:"fixedIn,omitempty"`
	// EPSS is the exploit prediction score (0 to 1) and KEV whether the
	// vulnerability is on CISA's Known Exploited Vulnerabilities list, where
	// the database carries them.
	EPSS float64 `json:"epss,omitempty"`
	KEV  bool    `json:"kev,omitempty"`
	// Detail is a human-readable sentence: the script's command line, the
	// upstream package that shadows an internal name, and so on.
	Detail string `json:"detail,omitempty"`
	// Suppressed is set when an unexpired exception marks the finding as not
	// affecting the artifact; SuppressedBy names the exception.
	Suppressed   bool   `json:"suppressed,omitempty"`
	SuppressedBy string `json:"suppressedBy,omitempty"`
	// Justification is the exception's reason, such as OpenVEX's
	// "vulnerable_code_not_in_execute_path".
	Justification string `json:"justification,omitempty"`
}
