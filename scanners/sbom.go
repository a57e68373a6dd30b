package scanners

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/anchore/syft/syft"
	"github.com/anchore/syft/syft/cataloging"
	"github.com/anchore/syft/syft/cataloging/pkgcataloging"
	"github.com/anchore/syft/syft/format/cyclonedxjson"
	"github.com/anchore/syft/syft/format/spdxjson"
	"github.com/anchore/syft/syft/pkg/cataloger/javascript"
	"github.com/anchore/syft/syft/sbom"
	"github.com/anchore/syft/syft/source"
	"github.com/anchore/syft/syft/source/directorysource"

	"github.com/sluice-dev/sluice/ingest/blobs"
)

// SBOM format versions Sluice writes.
const (
	SPDXVersion      = "2.3"
	CycloneDXVersion = "1.6"
)

// Subject is something syft can catalog: an npm tarball from the blob
// store, and later an image kept as an OCI layout in the blob store.
type Subject interface {
	// Describe returns the name and version the SBOM document carries.
	Describe() (name, version string)
	// Prepare makes the subject readable by syft. The caller closes the
	// result.
	Prepare(ctx context.Context) (*Prepared, error)
}

// Prepared is a subject made ready for syft.
type Prepared struct {
	Source source.Source
	// Selection picks syft's catalogers for this kind of subject.
	Selection cataloging.SelectionRequest
	// PackageDir is the unpacked package folder that the npm checks read;
	// empty for subjects that are not npm packages.
	PackageDir string
	cleanup    func() error
}

// Close releases the source and removes temporary files.
func (p *Prepared) Close() error {
	err := p.Source.Close()
	if p.cleanup != nil {
		if cerr := p.cleanup(); err == nil {
			err = cerr
		}
	}
	return err
}

// NPMTarball is an npm package version whose tarball the blob store holds.
type NPMTarball struct {
	Name, Version string
	// Open opens the gzipped tarball.
	Open func() (*os.File, error)
	// TempDir is the folder the tarball is unpacked in (default: os.TempDir()).
	TempDir string
}

// Describe returns the package name and version.
func (t NPMTarball) Describe() (string, string) { return t.Name, t.Version }

// Prepare unpacks the tarball into a temporary folder and opens it as a
// syft directory source, cataloged with the JavaScript package.json
// cataloger, which also finds bundled dependencies under node_modules.
func (t NPMTarball) Prepare(_ context.Context) (*Prepared, error) {
	dir, err := os.MkdirTemp(t.TempDir, "sluice-npm-*")
	if err != nil {
		return nil, fmt.Errorf("create unpack folder: %w", err)
	}
	cleanup := func() error { return os.RemoveAll(dir) }
	f, err := t.Open()
	if err != nil {
		cleanup()
		return nil, fmt.Errorf("open tarball of %s@%s: %w", t.Name, t.Version, err)
	}
	pkgRoot, err := unpackNPM(f, dir)
	f.Close()
	if err != nil {
		cleanup()
		return nil, fmt.Errorf("unpack tarball of %s@%s: %w", t.Name, t.Version, err)
	}
	src, err := directorysource.New(directorysource.Config{Path: dir, Base: dir,
		Alias: source.Alias{Name: t.Name, Version: t.Version}})
	if err != nil {
		cleanup()
		return nil, fmt.Errorf("open unpacked %s@%s for syft: %w", t.Name, t.Version, err)
	}
	sel := cataloging.NewSelectionRequest().WithDefaults(pkgcataloging.InstalledTag).
		WithSubSelections("javascript")
	return &Prepared{Source: src, Selection: sel, PackageDir: filepath.Join(dir, pkgRoot),
		cleanup: cleanup}, nil
}

// licenseContext carries syft's license scanner. Building the scanner
// takes about two seconds (measured on this project's 2-core machine), and
// syft builds a new one for every SBOM unless the context has one, so it
// is built once per process and shared: it is read-only after
// construction.
var licenseContext = sync.OnceValues(func() (context.Context, error) {
	return syft.SetContextLicenseScanner(context.Background(), cataloging.DefaultLicenseConfig())
})

// valuesFrom is a context that is cancelled with its embedded context and
// looks values up there first, then in values.
type valuesFrom struct {
	context.Context
	values context.Context
}

func (c valuesFrom) Value(key any) any {
	if v := c.Context.Value(key); v != nil {
		return v
	}
	return c.values.Value(key)
}

// GenerateSBOM catalogs a prepared subject with syft. Cataloging reads only
// local files: the remote license lookup of syft's JavaScript catalogers
// stays off.
func GenerateSBOM(ctx context.Context, p *Prepared) (*sbom.SBOM, error) {
	lctx, err := licenseContext()
	if err != nil {
		return nil, fmt.Errorf("build license scanner: %w", err)
	}
	ctx = valuesFrom{Context: ctx, values: lctx}
	js := javascript.DefaultCatalogerConfig().WithSearchRemoteLicenses(false)
	cfg := syft.DefaultCreateSBOMConfig().
		WithCatalogerSelection(p.Selection).
		WithPackagesConfig(pkgcataloging.DefaultConfig().WithJavascriptConfig(js)).
		WithoutFiles().
		WithParallelism(1)
	s, err := syft.CreateSBOM(ctx, p.Source, cfg)
	if err != nil {
		return nil, fmt.Errorf("generate SBOM: %w", err)
	}
	return s, nil
}

// SBOMDocuments are one SBOM encoded as SPDX 2.3 JSON and CycloneDX 1.6
// JSON.
type SBOMDocuments struct {
	SPDX      []byte
	CycloneDX []byte
}

// EncodeSBOM encodes s in both formats.
func EncodeSBOM(s *sbom.SBOM) (SBOMDocuments, error) {
	spdx, err := spdxjson.NewFormatEncoderWithConfig(spdxjson.EncoderConfig{Version: SPDXVersion, Pretty: true})
	if err != nil {
		return SBOMDocuments{}, fmt.Errorf("SPDX %s encoder: %w", SPDXVersion, err)
	}
	cdx, err := cyclonedxjson.NewFormatEncoderWithConfig(cyclonedxjson.EncoderConfig{Version: CycloneDXVersion,
		Pretty: true})
	if err != nil {
		return SBOMDocuments{}, fmt.Errorf("CycloneDX %s encoder: %w", CycloneDXVersion, err)
	}
	var docs SBOMDocuments
	var buf bytes.Buffer
	if err := spdx.Encode(&buf, *s); err != nil {
		return docs, fmt.Errorf("encode SPDX: %w", err)
	}
	docs.SPDX = bytes.Clone(buf.Bytes())
	buf.Reset()
	if err := cdx.Encode(&buf, *s); err != nil {
		return docs, fmt.Errorf("encode CycloneDX: %w", err)
	}
	docs.CycloneDX = bytes.Clone(buf.Bytes())
	return docs, nil
}

// SBOMDigests name the stored SBOM documents in the blob store.
type SBOMDigests struct {
	SPDX      string `json:"spdx"`
	CycloneDX string `json:"cyclonedx"`
}

// Store writes both documents to the blob store.
func (d SBOMDocuments) Store(b *blobs.Store) (SBOMDigests, error) {
	spdx, err := b.Put(d.SPDX)
	if err != nil {
		return SBOMDigests{}, fmt.Errorf("store SPDX SBOM: %w", err)
	}
	cdx, err := b.Put(d.CycloneDX)
	if err != nil {
		return SBOMDigests{}, fmt.Errorf("store CycloneDX SBOM: %w", err)
	}
	return SBOMDigests{SPDX: spdx, CycloneDX: cdx}, nil
}
