package scanners

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/sluice-dev/sluice/ingest/state"
)

// ReportSchemaVersion is the version of the JSON report's schema,
// documented in docs/report-schema.md. Fields are only ever added within a
// version.
const ReportSchemaVersion = "sluice.dev/scan-report/v1"

// ErrNoResult is returned when a report names an artifact or run that has
// no scan result.
var ErrNoResult = errors.New("no scan result")

// Report is the scan report of one artifact or of every artifact a run
// touched.
type Report struct {
	SchemaVersion string           `json:"schemaVersion"`
	Generated     time.Time        `json:"generated"`
	Subject       string           `json:"subject"`
	Artifacts     []ArtifactReport `json:"artifacts"`
}

// ArtifactReport is one artifact's part of a report.
type ArtifactReport struct {
	Artifact  string      `json:"artifact"`
	Ecosystem string      `json:"ecosystem"`
	Name      string      `json:"name"`
	Version   string      `json:"version"`
	Digest    string      `json:"digest"`
	State     state.State `json:"state"`
	Scanned   time.Time   `json:"scanned"`
	SBOM      SBOMDigests `json:"sbom"`
	DB        DBRef       `json:"db"`
	Summary   Summary     `json:"summary"`
	// Findings are sorted by kind, severity (most severe first), package
	// and ID.
	Findings          []Finding `json:"findings"`
	ExpiredExceptions []string  `json:"expiredExceptions,omitempty"`
}

// Summary counts an artifact's unsuppressed findings.
type Summary struct {
	Critical            int      `json:"critical"`
	High                int      `json:"high"`
	Medium              int      `json:"medium"`
	Low                 int      `json:"low"`
	Negligible          int      `json:"negligible"`
	Unknown             int      `json:"unknown"`
	Suppressed          int      `json:"suppressed"`
	InstallScripts      int      `json:"installScripts"`
	NativeBuilds        int      `json:"nativeBuilds"`
	DependencyConfusion int      `json:"dependencyConfusion"`
	ReleaseAge          int      `json:"releaseAge"`
	Licenses            []string `json:"licenses"`
}

// severityRank orders severities from most to least severe.
var severityRank = map[Severity]int{SeverityCritical: 0, SeverityHigh: 1, SeverityMedium: 2, SeverityLow: 3,
	SeverityNegligible: 4, SeverityUnknown: 5, "": 6}

// NewArtifactReport combines an artifact and its scan result.
func NewArtifactReport(a *state.Artifact, r *ScanResult) ArtifactReport {
	findings := append([]Finding{}, r.Findings...)
	slices.SortStableFunc(findings, func(x, y Finding) int {
		if c := strings.Compare(string(x.Kind), string(y.Kind)); c != 0 {
			return c
		}
		if c := severityRank[x.Severity] - severityRank[y.Severity]; c != 0 {
			return c
		}
		if c := strings.Compare(x.Package, y.Package); c != 0 {
			return c
		}
		return strings.Compare(x.ID, y.ID)
	})
	return ArtifactReport{Artifact: a.Key(), Ecosystem: string(a.Ecosystem), Name: a.Name, Version: a.Version,
		Digest: r.Digest, State: a.State, Scanned: r.Scanned, SBOM: r.SBOM, DB: r.DB,
		Summary: summarize(findings), Findings: findings, ExpiredExceptions: r.ExpiredExceptions}
}

func summarize(findings []Finding) Summary {
	s := Summary{Licenses: []string{}}
	for _, f := range findings {
		if f.Suppressed {
			s.Suppressed++
			continue
		}
		switch f.Kind {
		case KindVulnerability:
			switch f.Severity {
			case SeverityCritical:
				s.Critical++
			case SeverityHigh:
				s.High++
			case SeverityMedium:
				s.Medium++
			case SeverityLow:
				s.Low++
			case SeverityNegligible:
				s.Negligible++
			default:
				s.Unknown++
			}
		case KindInstallScript:
			s.InstallScripts++
		case KindNativeBuild:
			s.NativeBuilds++
		case KindDependencyConfusion:
			s.DependencyConfusion++
		case KindReleaseAge:
			s.ReleaseAge++
		case KindLicense:
			if !slices.Contains(s.Licenses, f.ID) {
				s.Licenses = append(s.Licenses, f.ID)
			}
		}
	}
	slices.Sort(s.Licenses)
	return s
}

// BuildReport builds the report of target: an artifact key
// ("npm/lodash@4.17.20") or a run ID, whose report covers every artifact
// the run's ledger entries name that has a scan result.
func BuildReport(db *state.DB, target string, now time.Time) (*Report, error) {
	keys := []string{target}
	if _, err := db.Artifact(target); errors.Is(err, state.ErrNotFound) {
		keys, err = runArtifacts(db, target)
		if err != nil {
			return nil, err
		}
		if len(keys) == 0 {
			return nil, fmt.Errorf("%q is neither a stored artifact (such as npm/lodash@4.17.21) nor a run "+
				"with artifacts: %w", target, state.ErrNotFound)
		}
	} else if err != nil {
		return nil, err
	}
	rep := &Report{SchemaVersion: ReportSchemaVersion, Generated: now.UTC(), Subject: target,
		Artifacts: []ArtifactReport{}}
	for _, key := range keys {
		a, err := db.Artifact(key)
		if err != nil {
			return nil, err
		}
		r, err := LoadResult(db, key)
		if err != nil {
			return nil, err
		}
		if r == nil {
			if len(keys) == 1 {
				return nil, fmt.Errorf("%s: %w: the artifact was not scanned; run sync with a vulnerability "+
					"database imported", key, ErrNoResult)
			}
			continue
		}
		rep.Artifacts = append(rep.Artifacts, NewArtifactReport(a, r))
	}
	return rep, nil
}

// runArtifacts returns the artifacts a run's ledger entries name, sorted.
func runArtifacts(db *state.DB, run string) ([]string, error) {
	entries, err := db.Ledger("")
	if err != nil {
		return nil, err
	}
	var keys []string
	for _, e := range entries {
		if e.Run == run && e.Type == state.EntryTransition && !slices.Contains(keys, e.Subject) {
			keys = append(keys, e.Subject)
		}
	}
	slices.Sort(keys)
	return keys, nil
}

// WriteJSON writes the report as indented JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}
