package scanners

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sluice-dev/sluice/ingest/state"
)

// vulndbSubject is the ledger subject of database imports and rescans.
const vulndbSubject = "vulndb"

// RecordImport appends the ledger entry of a database import. A stale
// database imported with AllowStale is recorded with stale=true and its
// age, so auditors see the override.
func RecordImport(db *state.DB, info *DBInfo, actor string) error {
	ev := dbEvidence(info)
	ev["archive"] = info.Archive
	ev["checksumSource"] = info.ChecksumSource
	if info.Stale {
		ev["stale"] = "true"
		ev["age"] = roundAge(info.Imported.Sub(info.Built))
	}
	if info.Older {
		ev["older"] = "true"
	}
	return db.Record(state.Entry{Type: EntryDBImported, Subject: vulndbSubject, Actor: actor, Evidence: ev})
}

// RecordRollback appends the ledger entry of a rollback to info.
func RecordRollback(db *state.DB, info *DBInfo, actor string) error {
	ev := dbEvidence(info)
	if info.Stale {
		ev["stale"] = "true"
	}
	return db.Record(state.Entry{Type: EntryDBRolledBack, Subject: vulndbSubject, Actor: actor, Evidence: ev})
}

func dbEvidence(info *DBInfo) map[string]string {
	return map[string]string{"schemaVersion": info.SchemaVersion, "built": info.Built.Format(time.RFC3339),
		"checksum": info.Checksum, "archiveDigest": info.ArchiveDigest}
}

// Change is one artifact that has vulnerabilities under the current
// database that its previous scan did not report.
type Change struct {
	Artifact string `json:"artifact"`
	// PreviousDB is the archive digest of the database of the previous
	// scan.
	PreviousDB string    `json:"previousDB"`
	New        []Finding `json:"new"`
}

// RescanSummary is the outcome of a rescan.
type RescanSummary struct {
	DB        DBRef    `json:"db"`
	Rescanned int      `json:"rescanned"`
	Changes   []Change `json:"changes"`
	// Cleared lists the artifacts with vulnerabilities their previous scan
	// reported and this one does not, in Change's New field: a database
	// withdrew or corrected an advisory.
	Cleared []Change `json:"cleared,omitempty"`
}

// Rescan scans every artifact that has a stored result again against the
// scanner's database and replaces the stored results. It returns the
// artifacts with unsuppressed vulnerabilities the previous results did not
// have. Without an Upstream it keeps the old upstream findings, and it keeps
// the stored SBOMs, since the tarballs have not changed. Each newly
// vulnerable artifact gets a ledger entry, and the rescan one more with the
// counts. Artifacts keep their state: whether a new finding should withdraw
// an approval is the evaluation stage's decision.
func Rescan(ctx context.Context, s *Scanner, db *state.DB, actor string) (*RescanSummary, error) {
	previous, err := LoadResults(db)
	if err != nil {
		return nil, err
	}
	sum := &RescanSummary{DB: dbRef(s.DB.Info)}
	var errs []error
	for _, old := range previous {
		a, err := db.Artifact(old.Artifact)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		var r *ScanResult
		if a.Ecosystem == state.EcosystemOCI {
			// NOTE: an image gets new SBOM documents on a rescan; only npm
			// results keep the stored ones.
			r, err = s.ScanImage(ctx, a)
		} else {
			subject := NPMTarball{Name: a.Name, Version: a.Version, TempDir: s.TempDir,
				Open: func() (*os.File, error) { return s.Blobs.Open(a.Digest) }}
			r, err = s.scanSubject(ctx, a, subject, old.SBOM)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("rescan %s: %w", a.Key(), err))
			continue
		}
		if s.Upstream == nil {
			r.Findings = append(r.Findings, upstreamFindings(old)...)
		}
		sum.Rescanned++
		fresh := newVulnerabilities(old, r)
		err = db.Update(func(tx *state.Tx) error {
			if err := SaveResult(tx, r); err != nil {
				return err
			}
			if len(fresh) == 0 {
				return nil
			}
			return tx.Append(state.Entry{Type: EntryNewlyVulnerable, Subject: a.Key(), Actor: actor,
				Evidence: changeEvidence(old, r, fresh)})
		})
		if err != nil {
			errs = append(errs, fmt.Errorf("store rescan of %s: %w", a.Key(), err))
			continue
		}
		if len(fresh) > 0 {
			sum.Changes = append(sum.Changes, Change{Artifact: a.Key(), PreviousDB: old.DB.ArchiveDigest,
				New: fresh})
		}
		if gone := newVulnerabilities(r, old); len(gone) > 0 {
			sum.Cleared = append(sum.Cleared, Change{Artifact: a.Key(), PreviousDB: old.DB.ArchiveDigest,
				New: gone})
		}
	}
	ev := dbEvidence(s.DB.Info)
	ev["rescanned"] = strconv.Itoa(sum.Rescanned)
	ev["newlyVulnerable"] = strconv.Itoa(len(sum.Changes))
	ev["cleared"] = strconv.Itoa(len(sum.Cleared))
	if err := db.Record(state.Entry{Type: EntryRescanned, Subject: vulndbSubject, Actor: actor,
		Evidence: ev}); err != nil {
		errs = append(errs, err)
	}
	return sum, errors.Join(errs...)
}

// upstreamFindings returns the findings of the checks that ask the
// upstream registry, which a rescan without registry access keeps.
func upstreamFindings(r *ScanResult) []Finding {
	var out []Finding
	for _, f := range r.Findings {
		if f.Kind == KindDependencyConfusion || f.Kind == KindReleaseAge {
			out = append(out, f)
		}
	}
	return out
}

// newVulnerabilities returns the unsuppressed vulnerability findings of
// fresh that old did not have, by package and ID.
func newVulnerabilities(old, fresh *ScanResult) []Finding {
	seen := map[string]bool{}
	for _, f := range old.Findings {
		if f.Kind == KindVulnerability && !f.Suppressed {
			seen[f.Package+"@"+f.PackageVersion+" "+f.ID] = true
		}
	}
	var out []Finding
	for _, f := range fresh.Findings {
		if f.Kind == KindVulnerability && !f.Suppressed && !seen[f.Package+"@"+f.PackageVersion+" "+f.ID] {
			out = append(out, f)
		}
	}
	return out
}

func changeEvidence(old, fresh *ScanResult, found []Finding) map[string]string {
	ids := make([]string, len(found))
	for i, f := range found {
		ids[i] = f.ID
	}
	slices.Sort(ids)
	return map[string]string{"vulnerabilities": strings.Join(ids, ","), "previousDB": old.DB.ArchiveDigest,
		"currentDB": fresh.DB.ArchiveDigest, "sbom.spdx": fresh.SBOM.SPDX}
}
