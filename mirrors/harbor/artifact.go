package harbor

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// ReportMIMEType is the scan report type Sluice asks Harbor for. Scan
// overviews are keyed by it.
const ReportMIMEType = "application/vnd.security.vulnerability.report; version=1.1"

// Artifact is an artifact as Harbor returns it, with its tags and scan
// overview.
type Artifact struct {
	ID                int64             `json:"id"`
	Digest            string            `json:"digest"`
	Type              string            `json:"type"`
	MediaType         string            `json:"media_type"`
	ManifestMediaType string            `json:"manifest_media_type"`
	ArtifactType      string            `json:"artifact_type"`
	ProjectID         int64             `json:"project_id"`
	RepositoryName    string            `json:"repository_name"`
	Size              int64             `json:"size"`
	PushTime          time.Time         `json:"push_time"`
	Annotations       map[string]string `json:"annotations"`
	Tags              []Tag             `json:"tags"`
	// ScanOverview maps a report MIME type to the summary of the latest
	// scan; it is empty when the artifact was never scanned.
	ScanOverview map[string]ScanSummary `json:"scan_overview"`
}

// Scan returns the summary of the scan report Sluice asks for, and false
// when there is none.
func (a Artifact) Scan() (ScanSummary, bool) {
	s, ok := a.ScanOverview[ReportMIMEType]
	return s, ok
}

// Tag is a tag of an artifact.
type Tag struct {
	ID        int64     `json:"id"`
	Name      string    `json:"name"`
	PushTime  time.Time `json:"push_time"`
	Immutable bool      `json:"immutable"`
}

// ScanSummary is Harbor's NativeReportSummary: the state and findings of
// one scan.
type ScanSummary struct {
	ReportID string `json:"report_id"`
	// ScanStatus is Harbor's job state: Pending, Running, Success, Error,
	// Stopped or Scheduled.
	ScanStatus      string               `json:"scan_status"`
	Severity        string               `json:"severity"`
	Duration        int64                `json:"duration"`
	Summary         VulnerabilitySummary `json:"summary"`
	StartTime       time.Time            `json:"start_time"`
	EndTime         time.Time            `json:"end_time"`
	CompletePercent int                  `json:"complete_percent"`
	Scanner         struct {
		Name    string `json:"name"`
		Vendor  string `json:"vendor"`
		Version string `json:"version"`
	} `json:"scanner"`
}

// VulnerabilitySummary counts the vulnerabilities a scan found.
type VulnerabilitySummary struct {
	Total   int `json:"total"`
	Fixable int `json:"fixable"`
	// BySeverity counts by severity name, such as "Critical" or "High".
	BySeverity map[string]int `json:"summary"`
}

// artifactPath returns the path of an artifact reference (a digest or a
// tag) in a repository of a project.
func artifactPath(project, repository, reference string) string {
	return "/projects/" + pathEscape(project, false) + "/repositories/" +
		pathEscape(repository, strings.Contains(repository, "/")) + "/artifacts/" +
		pathEscape(reference, false)
}

// Artifact reads an artifact back by digest or tag, with its tags and scan
// overview. repository is the name inside the project, without the project
// prefix (for example "library/nginx" in project "mirror").
func (c *Client) Artifact(ctx context.Context, project, repository, reference string) (Artifact, error) {
	var a Artifact
	_, err := c.decode(ctx, call{
		op:      fmt.Sprintf("read artifact %s/%s@%s", project, repository, reference),
		project: project, need: "to read artifacts (pull, or artifact read for a robot)",
		method: http.MethodGet, path: artifactPath(project, repository, reference),
		query:  url.Values{"with_tag": {"true"}, "with_scan_overview": {"true"}},
		header: http.Header{"X-Accept-Vulnerabilities": {ReportMIMEType}},
	}, &a)
	if err != nil {
		return Artifact{}, err
	}
	return a, nil
}

// Tags lists every tag of an artifact.
func (c *Client) Tags(ctx context.Context, project, repository, reference string) ([]Tag, error) {
	return list[Tag](ctx, c, call{
		op:      fmt.Sprintf("list tags of %s/%s@%s", project, repository, reference),
		project: project, need: "to list tags (pull, or tag list for a robot)",
		method: http.MethodGet, path: artifactPath(project, repository, reference) + "/tags",
	})
}
