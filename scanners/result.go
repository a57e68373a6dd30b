package scanners

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/sluice-dev/sluice/ingest/state"
)

// ResultsBucket is the state store bucket that keeps the latest
// ScanResult of each artifact, under the artifact's key.
const ResultsBucket = "scan-results"

// Ledger entry types the scanners write.
const (
	EntryDBImported      = "vulndb.imported"
	EntryDBRolledBack    = "vulndb.rolled-back"
	EntryRescanned       = "vulndb.rescanned"
	EntryNewlyVulnerable = "artifact.newly-vulnerable"
)

// DBRef identifies the vulnerability database a scan used.
type DBRef struct {
	SchemaVersion string    `json:"schemaVersion"`
	Built         time.Time `json:"built"`
	Checksum      string    `json:"checksum"`
	ArchiveDigest string    `json:"archiveDigest"`
}

func dbRef(i *DBInfo) DBRef {
	return DBRef{SchemaVersion: i.SchemaVersion, Built: i.Built, Checksum: i.Checksum,
		ArchiveDigest: i.ArchiveDigest}
}

// ScanResult is the record of one scan of one artifact.
type ScanResult struct {
	Artifact string      `json:"artifact"`
	Digest   string      `json:"digest"`
	Scanned  time.Time   `json:"scanned"`
	SBOM     SBOMDigests `json:"sbom"`
	// Platforms holds the SBOM of each platform's image of a
	// multi-platform container image, keyed by os/architecture[/variant].
	Platforms map[string]SBOMDigests `json:"platforms,omitempty"`
	DB        DBRef                  `json:"db"`
	Findings  []Finding              `json:"findings"`
	// ExpiredExceptions name exceptions that matched a finding but had
	// expired, so the finding counts again.
	ExpiredExceptions []string `json:"expiredExceptions,omitempty"`
}

// Counts are a result's findings counted by kind and, for
// vulnerabilities, by severity. Suppressed findings count only as
// suppressed.
type Counts struct {
	Vulnerabilities map[Severity]int `json:"vulnerabilities"`
	Kinds           map[Kind]int     `json:"kinds"`
	Suppressed      int              `json:"suppressed"`
}

// Count counts the result's findings.
func (r *ScanResult) Count() Counts {
	c := Counts{Vulnerabilities: map[Severity]int{}, Kinds: map[Kind]int{}}
	for _, f := range r.Findings {
		if f.Suppressed {
			c.Suppressed++
			continue
		}
		c.Kinds[f.Kind]++
		if f.Kind == KindVulnerability {
			c.Vulnerabilities[f.Severity]++
		}
	}
	return c
}

// Evidence returns the ledger evidence of a scan: SBOM digests, the
// database and the finding counts.
func (r *ScanResult) Evidence() map[string]string {
	c := r.Count()
	ev := map[string]string{
		"sbom.spdx":           r.SBOM.SPDX,
		"sbom.cyclonedx":      r.SBOM.CycloneDX,
		"vulndb.checksum":     r.DB.Checksum,
		"vulndb.archive":      r.DB.ArchiveDigest,
		"vulndb.built":        r.DB.Built.Format(time.RFC3339),
		"findings.suppressed": strconv.Itoa(c.Suppressed),
	}
	for _, sev := range []Severity{SeverityCritical, SeverityHigh, SeverityMedium, SeverityLow,
		SeverityNegligible, SeverityUnknown} {
		ev["vulnerabilities."+string(sev)] = strconv.Itoa(c.Vulnerabilities[sev])
	}
	for platform, d := range r.Platforms {
		ev["sbom."+platform+".spdx"] = d.SPDX
		ev["sbom."+platform+".cyclonedx"] = d.CycloneDX
	}
	for kind, n := range c.Kinds {
		if kind != KindVulnerability {
			ev["findings."+string(kind)] = strconv.Itoa(n)
		}
	}
	return ev
}

// SaveResult stores r as the artifact's latest result.
func SaveResult(tx *state.Tx, r *ScanResult) error {
	return tx.Put(ResultsBucket, r.Artifact, r)
}

// LoadResult returns the latest result of an artifact, or nil.
func LoadResult(db *state.DB, key string) (*ScanResult, error) {
	var r ScanResult
	var ok bool
	err := db.View(func(tx *state.Tx) error {
		var err error
		ok, err = tx.Get(ResultsBucket, key, &r)
		return err
	})
	if err != nil || !ok {
		return nil, err
	}
	return &r, nil
}

// LoadResults returns every stored result, in artifact key order.
func LoadResults(db *state.DB) ([]*ScanResult, error) {
	var out []*ScanResult
	err := db.View(func(tx *state.Tx) error {
		return tx.ForEach(ResultsBucket, func(key string, value []byte) error {
			r := new(ScanResult)
			if err := json.Unmarshal(value, r); err != nil {
				return fmt.Errorf("scan result of %s: %w", key, err)
			}
			out = append(out, r)
			return nil
		})
	})
	return out, err
}
