// Package grypetest builds small but real grype vulnerability databases
// (schema v6) for tests and demos with grype's own v6 store writer. It
// packages them the way grype distributes them: a tar.zst archive holding
// vulnerability.db and import.json, next to a latest.json listing with the
// archive's sha256 checksum.
//
// The database holds real advisories: GHSA-35jh-r3h4-6jhm (CVE-2021-23337,
// lodash before 4.17.21, high), GHSA-xvch-5gv4-984h (CVE-2021-44906,
// minimist before 1.2.6, critical) and Debian 12's glibc entry for
// CVE-2023-4911 (fixed in 2.36-9+deb12u3, on CISA's KEV catalog).
package grypetest

import (
	"archive/tar"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	v6 "github.com/anchore/grype/grype/db/v6"
	"github.com/anchore/grype/grype/db/v6/distribution"
	"github.com/klauspost/compress/zstd"
	"github.com/spf13/afero"
)

// advisory is one vulnerability record and the packages it affects.
type advisory struct {
	vuln     v6.VulnerabilityHandle
	packages []affected
}

// affected is one affected package range of an advisory.
type affected struct {
	ecosystem, name, constraint, fixed, format string
	os                                         *v6.OperatingSystem
}

// Options change what BuildDB writes.
type Options struct {
	// Built is the build time recorded in the database (default: now).
	// A time in the past makes a stale database.
	Built time.Time
	// WithoutLodash leaves the lodash advisory out, to build a database that
	// an update later extends.
	WithoutLodash bool
}

// BuildDB writes a hydrated vulnerability.db and its import.json into dir.
func BuildDB(dir string, opts Options) error {
	built := opts.Built
	if built.IsZero() {
		built = time.Now().UTC()
	}
	built = built.UTC().Round(time.Second)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := write(dir, built, opts); err != nil {
		return fmt.Errorf("write grype database in %s: %w", dir, err)
	}
	if err := setBuildTime(dir, built); err != nil {
		return err
	}
	if err := v6.Hydrater()(dir); err != nil {
		return fmt.Errorf("hydrate grype database in %s: %w", dir, err)
	}
	if _, err := v6.WriteImportMetadata(afero.NewOsFs(), dir, "sluice grypetest"); err != nil {
		return fmt.Errorf("write import metadata in %s: %w", dir, err)
	}
	return nil
}

func write(dir string, built time.Time, opts Options) error {
	w, err := v6.NewWriter(v6.Config{DBDirPath: dir})
	if err != nil {
		return err
	}
	defer w.Close()
	if err := w.SetDBMetadata(); err != nil {
		return err
	}
	github := &v6.Provider{ID: "github", Version: "1", Processor: "sluice-grypetest", DateCaptured: &built}
	debian := &v6.Provider{ID: "debian", Version: "1", Processor: "sluice-grypetest", DateCaptured: &built}
	nvd := &v6.Provider{ID: "nvd", Version: "1", Processor: "sluice-grypetest", DateCaptured: &built}
	var all []advisory
	for _, a := range githubAdvisories(github) {
		if opts.WithoutLodash && a.vuln.Name == LodashGHSA {
			continue
		}
		all = append(all, a)
	}
	all = append(all, debianAdvisories(debian)...)
	all = append(all, nvdRecords(nvd)...)
	for i := range all {
		if err := addAdvisory(w, &all[i]); err != nil {
			return err
		}
	}
	if err := w.AddKnownExploitedVulnerabilities(kevEntries()...); err != nil {
		return err
	}
	return w.AddEpss(epssScores()...)
}

func addAdvisory(w v6.ReadWriter, a *advisory) error {
	if err := w.AddVulnerabilities(&a.vuln); err != nil {
		return fmt.Errorf("add %s: %w", a.vuln.Name, err)
	}
	for _, p := range a.packages {
		h := &v6.AffectedPackageHandle{
			VulnerabilityID: a.vuln.ID,
			OperatingSystem: p.os,
			Package:         &v6.Package{Ecosystem: p.ecosystem, Name: p.name},
			BlobValue: &v6.PackageBlob{
				CVEs: a.vuln.BlobValue.Aliases,
				Ranges: []v6.Range{{
					Version: v6.Version{Type: p.format, Constraint: p.constraint},
					Fix:     &v6.Fix{Version: p.fixed, State: v6.FixedStatus},
				}},
			},
		}
		if err := w.AddAffectedPackages(h); err != nil {
			return fmt.Errorf("add %s affected package %s: %w", a.vuln.Name, p.name, err)
		}
	}
	return nil
}

// setBuildTime replaces the build time the writer recorded, which is
// always the current time.
func setBuildTime(dir string, built time.Time) error {
	db, err := v6.NewLowLevelDB(filepath.Join(dir, v6.VulnerabilityDBFileName), false, true, false)
	if err != nil {
		return fmt.Errorf("open grype database in %s: %w", dir, err)
	}
	if err := db.Model(&v6.DBMetadata{}).Where("true").Update("build_timestamp", built).Error; err != nil {
		return fmt.Errorf("set build time of grype database in %s: %w", dir, err)
	}
	sqlDB, err := db.DB()
	if err != nil {
		return err
	}
	return sqlDB.Close()
}

// BuildArchive builds a database as BuildDB does and packages it into
// outDir as grype's distribution does: a tar.zst archive named after the
// schema version and build time, and latest.json. It returns the archive's
// path.
func BuildArchive(outDir string, opts Options) (string, error) {
	work, err := os.MkdirTemp("", "grypetest-*")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(work)
	if err := BuildDB(work, opts); err != nil {
		return "", err
	}
	desc, err := v6.ReadDescription(filepath.Join(work, v6.VulnerabilityDBFileName))
	if err != nil {
		return "", err
	}

	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return "", err
	}
	name := fmt.Sprintf("vulnerability-db_%s_%s.tar.zst", desc.SchemaVersion, desc.Built.Format(time.RFC3339))
	archive := filepath.Join(outDir, name)
	if err := writeTarZst(archive, work, v6.VulnerabilityDBFileName, v6.ImportMetadataFileName); err != nil {
		return "", err
	}
	listing, err := distribution.NewArchive(archive, desc.Built.Time, desc.SchemaVersion.Model,
		desc.SchemaVersion.Revision, desc.SchemaVersion.Addition)
	if err != nil {
		return "", err
	}
	f, err := os.Create(filepath.Join(outDir, distribution.LatestFileName))
	if err != nil {
		return "", err
	}
	defer f.Close()
	if err := distribution.NewLatestDocument(*listing).Write(f); err != nil {
		return "", err
	}
	return archive, f.Close()
}

func writeTarZst(archive, dir string, names ...string) (err error) {
	f, err := os.Create(archive)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}()
	zw, err := zstd.NewWriter(f)
	if err != nil {
		return err
	}
	tw := tar.NewWriter(zw)
	for _, name := range names {
		if err := addFile(tw, dir, name); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return zw.Close()
}

func addFile(tw *tar.Writer, dir, name string) error {
	src, err := os.Open(filepath.Join(dir, name))
	if err != nil {
		return err
	}
	defer src.Close()
	info, err := src.Stat()
	if err != nil {
		return err
	}
	hdr := &tar.Header{Name: name, Mode: 0o644, Size: info.Size(), ModTime: info.ModTime(),
		Typeflag: tar.TypeReg}
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	_, err = io.Copy(tw, src)
	return err
}
