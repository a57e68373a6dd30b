package scanners

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/anchore/grype/grype"
	v6 "github.com/anchore/grype/grype/db/v6"
	"github.com/anchore/grype/grype/match"
	"github.com/anchore/grype/grype/matcher"
	grypepkg "github.com/anchore/grype/grype/pkg"
	"github.com/anchore/grype/grype/vulnerability"
	"github.com/anchore/syft/syft/format/syftjson"
	"github.com/anchore/syft/syft/sbom"
	"github.com/spf13/afero"
)

// VulnDB is an opened vulnerability database, meant to be opened once per
// process and shared by every scan. It is safe for concurrent use.
//
// Loading never reaches the network: Open reads the files Import wrote
// with grype's v6 reader directly. It constructs no grype distribution
// client and no curator, the grype components that download or update a
// database, and the matchers run with their network lookup (the Java
// matcher's Maven Central search) off.
type VulnDB struct {
	Info     *DBInfo
	provider vulnerability.Provider
}

// Open loads the current database after checking that vulnerability.db
// still has the digest grype's import.json recorded at import.
func (s *VulnDBStore) Open() (*VulnDB, error) {
	dir := s.current()
	info, err := readInfo(dir)
	if err != nil {
		return nil, err
	}
	if info == nil {
		return nil, fmt.Errorf("%w in %s: run 'sluice db import ARCHIVE' first", ErrNoDB, s.dir)
	}
	fs := afero.NewOsFs()
	meta, err := v6.ReadImportMetadata(fs, dir)
	if err != nil {
		return nil, fmt.Errorf("vulnerability database in %s: %w", dir, err)
	}
	actual, err := v6.CalculateDBDigest(fs, filepath.Join(dir, v6.VulnerabilityDBFileName))
	if err != nil {
		return nil, err
	}
	if actual != meta.Digest {
		return nil, fmt.Errorf("%w: %s has %s, recorded at import as %s: the file changed on disk; import "+
			"the archive again", ErrChecksum, filepath.Join(dir, v6.VulnerabilityDBFileName), actual, meta.Digest)
	}
	reader, err := v6.NewReader(v6.Config{DBDirPath: dir})
	if err != nil {
		return nil, fmt.Errorf("open vulnerability database in %s: %w", dir, err)
	}
	return &VulnDB{Info: info, provider: v6.NewVulnerabilityProvider(reader)}, nil
}

// Close releases the database.
func (d *VulnDB) Close() error { return d.provider.Close() }

// Match finds the vulnerabilities of the packages in an SBOM. It returns
// one finding per package and advisory, sorted by package and ID.
func (d *VulnDB) Match(ctx context.Context, s *sbom.SBOM) ([]Finding, error) {
	// The SBOM goes through grype's SBOM input, as 'grype sbom:FILE' reads
	// it: that path sets each package's distro and drops packages that an
	// OS package owns, which grype's exported package constructors do not.
	var buf bytes.Buffer
	if err := syftjson.NewFormatEncoder().Encode(&buf, *s); err != nil {
		return nil, fmt.Errorf("encode SBOM for matching: %w", err)
	}
	pkgs, pctx, _, err := grypepkg.ProvideFromReader(bytes.NewReader(buf.Bytes()), grypepkg.ProviderConfig{})
	if err != nil {
		return nil, fmt.Errorf("read SBOM for matching: %w", err)
	}
	// A matcher per call, because FindMatchesContext records state in the
	// matcher and scans run in parallel. The zero matcher.Config keeps the
	// network lookups off.
	m := &grype.VulnerabilityMatcher{VulnerabilityProvider: d.provider,
		Matchers: matcher.NewDefaultMatchers(matcher.Config{})}
	matches, _, err := m.FindMatchesContext(ctx, pkgs, pctx)
	if err != nil {
		return nil, fmt.Errorf("match against vulnerability database: %w", err)
	}
	var out []Finding
	for _, m := range matches.Sorted() {
		out = append(out, d.finding(m))
	}
	slices.SortFunc(out, func(a, b Finding) int {
		return strings.Compare(a.Package+"@"+a.PackageVersion+" "+a.ID, b.Package+"@"+b.PackageVersion+" "+b.ID)
	})
	return slices.CompactFunc(out, func(a, b Finding) bool {
		return a.ID == b.ID && a.Package == b.Package && a.PackageVersion == b.PackageVersion
	}), nil
}

func (d *VulnDB) finding(m match.Match) Finding {
	v := m.Vulnerability
	f := Finding{Kind: KindVulnerability, ID: v.ID, Package: m.Package.Name, PackageVersion: m.Package.Version,
		Severity: SeverityUnknown}
	if v.Fix.State == vulnerability.FixStateFixed {
		f.FixedIn = slices.Clone(v.Fix.Versions)
	}
	metas := []*vulnerability.Metadata{v.Metadata}
	for _, rel := range v.RelatedVulnerabilities {
		if rel.ID != v.ID && !slices.Contains(f.Aliases, rel.ID) {
			f.Aliases = append(f.Aliases, rel.ID)
		}
		// The related record (usually NVD's) carries what the advisory may
		// lack: a CVSS score, EPSS and KEV.
		if meta, err := d.provider.VulnerabilityMetadata(rel); err == nil {
			metas = append(metas, meta)
		}
	}
	slices.Sort(f.Aliases)
	for i, meta := range metas {
		if meta == nil {
			continue
		}
		if i == 0 || f.Severity == SeverityUnknown {
			if sev := parseSeverity(meta.Severity); sev != SeverityUnknown {
				f.Severity = sev
			}
		}
		if f.Detail == "" {
			f.Detail = meta.Description
		}
		for _, c := range meta.Cvss {
			f.CVSS = max(f.CVSS, c.Metrics.BaseScore)
		}
		for _, e := range meta.EPSS {
			f.EPSS = max(f.EPSS, e.EPSS)
		}
		f.KEV = f.KEV || len(meta.KnownExploited) > 0
	}
	return f
}

func parseSeverity(s string) Severity {
	switch sev := Severity(strings.ToLower(strings.TrimSpace(s))); sev {
	case SeverityNegligible, SeverityLow, SeverityMedium, SeverityHigh, SeverityCritical:
		return sev
	}
	return SeverityUnknown
}
