package grypetest

import (
	"time"

	v6 "github.com/anchore/grype/grype/db/v6"
)

// Advisory IDs the demo database carries, for tests to name.
const (
	LodashGHSA   = "GHSA-35jh-r3h4-6jhm"
	LodashCVE    = "CVE-2021-23337"
	MinimistGHSA = "GHSA-xvch-5gv4-984h"
	MinimistCVE  = "CVE-2021-44906"
	GlibcCVE     = "CVE-2023-4911"
)

func date(s string) *time.Time {
	t, err := time.Parse("2006-01-02", s)
	if err != nil {
		panic(err)
	}
	return &t
}

func cvss(vector string) v6.Severity {
	return v6.Severity{Scheme: v6.SeveritySchemeCVSS, Value: v6.CVSSSeverity{Vector: vector, Version: "3.1"}}
}

// githubAdvisories returns the npm advisories as GitHub's advisory database
// publishes them: the GHSA ID names the record and the CVE is an alias.
// Ranges, fixes, severities and vectors are those of the published
// advisories.
func githubAdvisories(provider *v6.Provider) []advisory {
	return []advisory{
		{
			vuln: v6.VulnerabilityHandle{
				Name: LodashGHSA, Status: v6.VulnerabilityActive, Provider: provider,
				PublishedDate: date("2021-02-15"),
				BlobValue: &v6.VulnerabilityBlob{
					ID:          LodashGHSA,
					Description: "Command Injection in lodash",
					Aliases:     []string{LodashCVE},
					References:  []v6.Reference{{URL: "https://github.com/advisories/" + LodashGHSA}},
					Severities: []v6.Severity{
						{Scheme: v6.SeveritySchemeCHML, Value: "high"},
						cvss("CVSS:3.1/AV:N/AC:L/PR:H/UI:N/S:U/C:H/I:H/A:H"),
					},
				},
			},
			packages: []affected{{ecosystem: "npm", name: "lodash", constraint: "< 4.17.21", fixed: "4.17.21",
				format: "npm"}},
		},
		{
			vuln: v6.VulnerabilityHandle{
				Name: MinimistGHSA, Status: v6.VulnerabilityActive, Provider: provider,
				PublishedDate: date("2022-03-18"),
				BlobValue: &v6.VulnerabilityBlob{
					ID:          MinimistGHSA,
					Description: "Prototype Pollution in minimist",
					Aliases:     []string{MinimistCVE},
					References:  []v6.Reference{{URL: "https://github.com/advisories/" + MinimistGHSA}},
					Severities: []v6.Severity{
						{Scheme: v6.SeveritySchemeCHML, Value: "critical"},
						cvss("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"),
					},
				},
			},
			packages: []affected{
				{ecosystem: "npm", name: "minimist", constraint: "< 0.2.4", fixed: "0.2.4", format: "npm"},
				{ecosystem: "npm", name: "minimist", constraint: ">= 1.0.0, < 1.2.6", fixed: "1.2.6",
					format: "npm"},
			},
		},
	}
}

// debianAdvisories returns CVE-2023-4911 ("Looney Tunables", a buffer
// overflow in glibc's ld.so) as Debian's security tracker lists it for
// Debian 12: source package glibc, fixed in 2.36-9+deb12u3.
func debianAdvisories(provider *v6.Provider) []advisory {
	return []advisory{{
		vuln: v6.VulnerabilityHandle{
			Name: GlibcCVE, Status: v6.VulnerabilityActive, Provider: provider,
			PublishedDate: date("2023-10-03"),
			BlobValue: &v6.VulnerabilityBlob{
				ID:          GlibcCVE,
				Description: "Buffer overflow in the GNU C Library's dynamic loader ld.so (GLIBC_TUNABLES)",
				References:  []v6.Reference{{URL: "https://security-tracker.debian.org/tracker/" + GlibcCVE}},
				Severities:  []v6.Severity{{Scheme: v6.SeveritySchemeHML, Value: "high"}},
			},
		},
		packages: []affected{{ecosystem: "deb", name: "glibc", constraint: "< 2.36-9+deb12u3",
			fixed: "2.36-9+deb12u3", format: "dpkg",
			os: &v6.OperatingSystem{Name: "debian", ReleaseID: "debian", MajorVersion: "12", Codename: "bookworm"}}},
	}}
}

// nvdRecords returns the NVD entries of the CVEs, which carry NVD's CVSS
// base vectors.
func nvdRecords(provider *v6.Provider) []advisory {
	record := func(id, published, vector, description string) advisory {
		return advisory{vuln: v6.VulnerabilityHandle{
			Name: id, Status: v6.VulnerabilityActive, Provider: provider, PublishedDate: date(published),
			BlobValue: &v6.VulnerabilityBlob{
				ID: id, Description: description,
				References: []v6.Reference{{URL: "https://nvd.nist.gov/vuln/detail/" + id}},
				Severities: []v6.Severity{cvss(vector)},
			},
		}}
	}
	return []advisory{
		record(LodashCVE, "2021-02-15", "CVSS:3.1/AV:N/AC:L/PR:H/UI:N/S:U/C:H/I:H/A:H",
			"Command injection through the template function of lodash before 4.17.21."),
		record(MinimistCVE, "2022-03-17", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
			"Prototype pollution through setKey in index.js of minimist before 1.2.6."),
		record(GlibcCVE, "2023-10-03", "CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H",
			"Buffer overflow in ld.so of the GNU C Library when it processes GLIBC_TUNABLES."),
	}
}

// kevEntries lists the CVEs on CISA's Known Exploited Vulnerabilities
// catalog: CISA added CVE-2023-4911 on 2023-11-21.
func kevEntries() []*v6.KnownExploitedVulnerabilityHandle {
	return []*v6.KnownExploitedVulnerabilityHandle{{
		Cve: GlibcCVE,
		BlobValue: &v6.KnownExploitedVulnerabilityBlob{
			Cve: GlibcCVE, VendorProject: "GNU", Product: "GNU C Library", DateAdded: date("2023-11-21"),
			RequiredAction: "Apply mitigations per vendor instructions or discontinue use of the product.",
			DueDate:        date("2023-12-12"),
		},
	}}
}

// epssScores returns exploit prediction scores.
// NOTE: these are sample values dated 2025-01-01, not FIRST's published
// scores, which change daily; tests only check that they reach findings.
func epssScores() []*v6.EpssHandle {
	day := *date("2025-01-01")
	return []*v6.EpssHandle{
		{Cve: LodashCVE, Epss: 0.0141, Percentile: 0.86, Date: day},
		{Cve: MinimistCVE, Epss: 0.0088, Percentile: 0.82, Date: day},
		{Cve: GlibcCVE, Epss: 0.7, Percentile: 0.98, Date: day},
	}
}
