// Package catalogsource reads the mirrored artifacts the Backstage
// catalog shows from the Sluice state store: each artifact's owner and
// data class, its approval document and its latest scan.
package catalogsource

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sluice-dev/sluice/approvals"
	"github.com/sluice-dev/sluice/ingest/state"
	"github.com/sluice-dev/sluice/mirrors/provision/backstage"
	"github.com/sluice-dev/sluice/scanners"
)

// catalogStates are the states of artifacts that are in a mirror.
var catalogStates = []state.State{state.StatePublished, state.StatePinned}

// LoadRecords reads the published and pinned artifacts from the state
// store, with their approval document and latest scan, sorted by key.
func LoadRecords(db *state.DB) ([]backstage.Record, error) {
	artifacts, err := db.Artifacts(func(a *state.Artifact) bool { return slices.Contains(catalogStates, a.State) })
	if err != nil {
		return nil, fmt.Errorf("list mirrored artifacts: %w", err)
	}
	out := make([]backstage.Record, 0, len(artifacts))
	for _, a := range artifacts {
		r := backstage.Record{Key: a.Key(), Ecosystem: string(a.Ecosystem), Name: a.Name, Version: a.Version,
			State: string(a.State), Digest: a.Digest, Owner: a.Owner, DataClass: a.DataClass,
			Mirrors: a.Mirrors}
		if r.Approval, err = approvalDocument(db, r.Key); err != nil {
			return nil, err
		}
		scan, err := scanners.LoadResult(db, r.Key)
		if err != nil {
			return nil, fmt.Errorf("scan result of %s: %w", r.Key, err)
		}
		if scan != nil {
			r.LastScan = scan.Scanned.UTC().Format(time.RFC3339)
			r.Findings = findingsSummary(scan.Count())
		}
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b backstage.Record) int { return strings.Compare(a.Key, b.Key) })
	return out, nil
}

// approvalDocument returns the external approval document when the
// artifact went through one, else the digest of the evidence document its
// policy evaluation stored, else "".
func approvalDocument(db *state.DB, key string) (string, error) {
	req, err := approvals.LoadRequest(db, key)
	switch {
	case err == nil && req.External != nil:
		return req.External.System + ":" + req.External.DocumentID, nil
	case err == nil:
		return req.Evidence, nil
	case !errors.Is(err, approvals.ErrNoRequest):
		return "", err
	}
	ev, err := approvals.LoadEvaluation(db, key)
	if errors.Is(err, approvals.ErrNoEvaluation) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	return ev.Evidence, nil
}

// findingsSummary writes the counts of a scan, vulnerabilities by
// severity first, such as "critical=0 high=1 medium=0 low=2 suppressed=0".
func findingsSummary(c scanners.Counts) string {
	var parts []string
	for _, sev := range []scanners.Severity{scanners.SeverityCritical, scanners.SeverityHigh,
		scanners.SeverityMedium, scanners.SeverityLow} {
		parts = append(parts, string(sev)+"="+strconv.Itoa(c.Vulnerabilities[sev]))
	}
	kinds := make([]string, 0, len(c.Kinds))
	for k, n := range c.Kinds {
		if k != scanners.KindVulnerability {
			kinds = append(kinds, string(k)+"="+strconv.Itoa(n))
		}
	}
	slices.Sort(kinds)
	parts = append(parts, kinds...)
	return strings.Join(append(parts, "suppressed="+strconv.Itoa(c.Suppressed)), " ")
}
