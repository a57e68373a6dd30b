package scanners

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	v6 "github.com/anchore/grype/grype/db/v6"
	"github.com/anchore/grype/grype/db/v6/distribution"
	"github.com/spf13/afero"
)

// DefaultMaxDBAge is the maximum age of a vulnerability database at
// import, counted from its build time. Grype uses the same default.
const DefaultMaxDBAge = 5 * 24 * time.Hour

// Errors that callers branch on.
var (
	// ErrStaleDB is returned when a database is older than the allowed age.
	ErrStaleDB = errors.New("vulnerability database is stale")
	// ErrChecksum is returned when an archive or database does not match
	// its checksum.
	ErrChecksum = errors.New("checksum mismatch")
	// ErrNoDB is returned when no database was imported.
	ErrNoDB = errors.New("no vulnerability database imported")
	// ErrOlderDB is returned by Import for a database built before the
	// current one, which would hide advisories the current one has.
	ErrOlderDB = errors.New("vulnerability database is older than the current one")
	// ErrNoPreviousDB is returned by Rollback when there is nothing to go
	// back to.
	ErrNoPreviousDB = errors.New("no previous vulnerability database to roll back to")
)

// infoFileName is Sluice's record of an import, kept beside grype's files.
const infoFileName = "sluice-import.json"

// DBInfo describes an imported vulnerability database.
type DBInfo struct {
	// SchemaVersion is grype's schema version of the database
	// ("v6.1.10").
	SchemaVersion string    `json:"schemaVersion"`
	Built         time.Time `json:"built"`
	// Archive is the imported file's name and ArchiveDigest its sha256.
	Archive       string `json:"archive"`
	ArchiveDigest string `json:"archiveDigest"`
	// ChecksumSource names what ArchiveDigest was checked against: grype's
	// "latest.json" listing or a "--checksum" the operator gave.
	ChecksumSource string `json:"checksumSource"`
	// Checksum is the xxh64 digest of vulnerability.db as the archive
	// shipped it, which grype's import.json in the archive states.
	Checksum string    `json:"checksum"`
	Imported time.Time `json:"imported"`
	// Stale is set when the database was older than the allowed age and
	// imported (or rolled back to) anyway with AllowStale.
	Stale bool `json:"stale,omitempty"`
	// Older is set when the database was built before the one it replaced
	// and imported anyway with AllowOlder.
	Older bool `json:"older,omitempty"`
}

// ID identifies the database in scan results: its archive digest.
func (i *DBInfo) ID() string { return i.ArchiveDigest }

// VulnDBStore keeps the current and the previous vulnerability database in
// a folder of the data directory: current/ and previous/, each holding
// vulnerability.db, grype's import.json and Sluice's record.
type VulnDBStore struct {
	dir string
	now func() time.Time
}

// NewVulnDBStore returns the store in dir (usually <data-dir>/vulndb).
func NewVulnDBStore(dir string) *VulnDBStore {
	return &VulnDBStore{dir: dir, now: func() time.Time { return time.Now().UTC() }}
}

func (s *VulnDBStore) current() string  { return filepath.Join(s.dir, "current") }
func (s *VulnDBStore) previous() string { return filepath.Join(s.dir, "previous") }

// ImportOptions control the checks of Import.
type ImportOptions struct {
	// MaxAge is the oldest build time accepted (default DefaultMaxDBAge).
	MaxAge time.Duration
	// AllowStale imports a database older than MaxAge; the import is then
	// marked stale. Rollback applies the same age check.
	AllowStale bool
	// AllowOlder imports a database built before the current one; the
	// import is then marked older.
	AllowOlder bool
	// Checksum is the archive's expected "sha256:<hex>". When empty,
	// grype's latest.json next to the archive must list it.
	Checksum string
}

// Import checks a grype database archive and makes it the current
// database; the database it replaces becomes the previous one. It checks,
// in order: the archive's sha256 against opts.Checksum or latest.json, the
// database file against the xxh64 digest in the archive's import.json, the
// schema (model 6, a revision this grype reads) and the build time.
func (s *VulnDBStore) Import(archive string, opts ImportOptions) (*DBInfo, error) {
	if opts.MaxAge <= 0 {
		opts.MaxAge = DefaultMaxDBAge
	}
	info := &DBInfo{Archive: filepath.Base(archive), Imported: s.now()}
	listing, err := s.checkArchive(archive, opts.Checksum, info)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(s.dir, 0o755); err != nil {
		return nil, fmt.Errorf("create vulnerability database folder: %w", err)
	}
	tmp, err := os.MkdirTemp(s.dir, "import-*")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	if err := extractDBArchive(archive, tmp); err != nil {
		return nil, err
	}

	if err := checkDBDigest(tmp, archive, info); err != nil {
		return nil, err
	}
	if err := s.checkDescription(tmp, archive, listing, opts, info); err != nil {
		return nil, err
	}
	if cur, err := readInfo(s.current()); err != nil {
		return nil, err
	} else if cur != nil && info.Built.Before(cur.Built) {
		if !opts.AllowOlder {
			return nil, fmt.Errorf("%w: %s was built %s, the current database %s; import a newer "+
				"archive, or pass --allow-older to replace it anyway (recorded in the ledger)", ErrOlderDB,
				archive, info.Built.Format(time.RFC3339), cur.Built.Format(time.RFC3339))
		}
		info.Older = true
	}
	// Hydration builds the indexes grype queries with, as grype's own
	// import does; it changes the file, so import.json is written anew.
	if err := v6.Hydrater()(tmp); err != nil {
		return nil, fmt.Errorf("index %s: %w", archive, err)
	}
	if _, err := v6.WriteImportMetadata(afero.NewOsFs(), tmp, "sluice db import "+info.Archive); err != nil {
		return nil, fmt.Errorf("write import metadata: %w", err)
	}
	if err := writeInfo(tmp, info); err != nil {
		return nil, err
	}
	return info, s.activate(tmp)
}

// checkArchive verifies the archive's sha256 and returns grype's listing
// when one was used.
func (s *VulnDBStore) checkArchive(archive, expected string,
	info *DBInfo) (*distribution.LatestDocument, error) {
	digest, err := fileSHA256(archive)
	if err != nil {
		return nil, fmt.Errorf("read database archive: %w", err)
	}
	info.ArchiveDigest = digest
	if expected != "" {
		info.ChecksumSource = "--checksum"
		if !strings.EqualFold(expected, digest) {
			return nil, fmt.Errorf("%w: %s has %s, expected %s: the archive is damaged or not the one "+
				"that was published", ErrChecksum, archive, digest, expected)
		}
		return nil, nil
	}
	listingPath := filepath.Join(filepath.Dir(archive), distribution.LatestFileName)
	listing, err := distribution.NewLatestFromFile(afero.NewOsFs(), listingPath)
	if err != nil || listing == nil {
		return nil, fmt.Errorf("no checksum for %s: copy grype's %s next to the archive or pass "+
			"--checksum sha256:<hex>", archive, distribution.LatestFileName)
	}
	info.ChecksumSource = distribution.LatestFileName
	if listing.Path != filepath.Base(archive) {
		return nil, fmt.Errorf("%s lists %s, not %s: copy the listing that came with this archive",
			listingPath, listing.Path, filepath.Base(archive))
	}
	if !strings.EqualFold(listing.Checksum, digest) {
		return nil, fmt.Errorf("%w: %s has %s, but %s lists %s: the archive is damaged or not the one "+
			"that was published", ErrChecksum, archive, digest, listingPath, listing.Checksum)
	}
	return listing, nil
}

// checkDBDigest compares vulnerability.db with the digest in the
// archive's import.json.
func checkDBDigest(dir, archive string, info *DBInfo) error {
	fs := afero.NewOsFs()
	meta, err := v6.ReadImportMetadata(fs, dir)
	if err != nil {
		return fmt.Errorf("%s carries no valid import.json with the database checksum: %w", archive, err)
	}
	actual, err := v6.CalculateDBDigest(fs, filepath.Join(dir, v6.VulnerabilityDBFileName))
	if err != nil {
		return fmt.Errorf("%s: %w", archive, err)
	}
	if actual != meta.Digest {
		return fmt.Errorf("%w: vulnerability.db in %s has %s, its import.json states %s", ErrChecksum,
			archive, actual, meta.Digest)
	}
	info.Checksum = actual
	return nil
}

func (s *VulnDBStore) checkDescription(dir, archive string, listing *distribution.LatestDocument,
	opts ImportOptions, info *DBInfo) error {
	desc, err := v6.ReadDescription(filepath.Join(dir, v6.VulnerabilityDBFileName))
	if err != nil {
		return fmt.Errorf("%s: %w", archive, err)
	}
	sv := desc.SchemaVersion
	info.SchemaVersion, info.Built = sv.String(), desc.Built.UTC()
	if sv.Model != v6.ModelVersion || sv.Revision > v6.Revision {
		return fmt.Errorf("%s has schema %s, but this sluice reads schema %d up to revision %d.%d: use an "+
			"archive for schema v%d", archive, sv, v6.ModelVersion, v6.ModelVersion, v6.Revision, v6.ModelVersion)
	}
	if listing != nil && (listing.SchemaVersion != sv || !listing.Built.Equal(desc.Built.Time)) {
		return fmt.Errorf("%s describes schema %s built %s, but its listing states schema %s built %s",
			archive, sv, desc.Built, listing.SchemaVersion, listing.Built)
	}
	age := info.Imported.Sub(info.Built)
	if age < -time.Hour {
		return fmt.Errorf("%s was built %s, in the future: check this machine's clock", archive,
			info.Built.Format(time.RFC3339))
	}
	if age > opts.MaxAge {
		if !opts.AllowStale {
			return fmt.Errorf("%w: %s was built %s, %s ago, older than the allowed %s: import a newer "+
				"archive, or pass --allow-stale to import it anyway (recorded in the ledger)", ErrStaleDB,
				archive, info.Built.Format(time.RFC3339), roundAge(age), roundAge(opts.MaxAge))
		}
		info.Stale = true
	}
	return nil
}

func roundAge(d time.Duration) string {
	if d >= 48*time.Hour {
		return fmt.Sprintf("%.1f days", d.Hours()/24)
	}
	return d.Round(time.Minute).String()
}

// activate moves current to previous and dir to current.
func (s *VulnDBStore) activate(dir string) error {
	if err := os.RemoveAll(s.previous()); err != nil {
		return fmt.Errorf("remove previous vulnerability database: %w", err)
	}
	if err := os.Rename(s.current(), s.previous()); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("keep current vulnerability database as previous: %w", err)
	}
	if err := os.Rename(dir, s.current()); err != nil {
		return fmt.Errorf("activate vulnerability database: %w", err)
	}
	return nil
}

// Status returns the current and previous databases; either is nil when
// absent.
func (s *VulnDBStore) Status() (current, previous *DBInfo, err error) {
	current, err = readInfo(s.current())
	if err != nil {
		return nil, nil, err
	}
	previous, err = readInfo(s.previous())
	return current, previous, err
}

// Rollback makes the previous database current again. The database rolled
// back from becomes the previous one, so a second Rollback undoes the
// first. A previous database older than opts.MaxAge is refused unless
// opts.AllowStale, as on import.
func (s *VulnDBStore) Rollback(opts ImportOptions) (*DBInfo, error) {
	if opts.MaxAge <= 0 {
		opts.MaxAge = DefaultMaxDBAge
	}
	prev, err := readInfo(s.previous())
	if err != nil {
		return nil, err
	}
	if prev == nil {
		return nil, ErrNoPreviousDB
	}
	prev.Stale = false
	if age := s.now().Sub(prev.Built); age > opts.MaxAge {
		if !opts.AllowStale {
			return nil, fmt.Errorf("%w: the previous database was built %s, %s ago, more than %s; "+
				"pass --allow-stale to roll back to it anyway (recorded in the ledger)", ErrStaleDB,
				prev.Built.Format(time.RFC3339), roundAge(age), roundAge(opts.MaxAge))
		}
		prev.Stale = true
	}
	swap := s.current() + ".swap"
	if err := os.Rename(s.current(), swap); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("roll back vulnerability database: %w", err)
	}
	if err := os.Rename(s.previous(), s.current()); err != nil {
		return nil, fmt.Errorf("roll back vulnerability database: %w", err)
	}
	if err := os.Rename(swap, s.previous()); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("keep rolled-back vulnerability database: %w", err)
	}
	return prev, nil
}

func writeInfo(dir string, info *DBInfo) error {
	data, err := json.MarshalIndent(info, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, infoFileName), append(data, '\n'), 0o644)
}

func readInfo(dir string) (*DBInfo, error) {
	data, err := os.ReadFile(filepath.Join(dir, infoFileName))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	info := new(DBInfo)
	if err := json.Unmarshal(data, info); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, infoFileName), err)
	}
	return info, nil
}
