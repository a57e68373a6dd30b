package scanners

import (
	"context"
	"fmt"

	"github.com/anchore/syft/syft"
	"github.com/anchore/syft/syft/cataloging"
	"github.com/anchore/syft/syft/cataloging/pkgcataloging"
	"github.com/anchore/syft/syft/source"
)

// OCILayout is a container image kept as an OCI image layout folder
// (oci-layout, index.json, blobs/sha256), as images will be kept in the
// blob store. It is read with syft's oci-dir source only: syft's default
// source list would also try the Docker, Podman and containerd daemons and
// a registry pull.
type OCILayout struct {
	// Name and Version label the SBOM document: the image's repository
	// and its manifest digest.
	Name, Version string
	Dir           string
}

// Describe returns the image's name and version labels.
func (o OCILayout) Describe() (string, string) { return o.Name, o.Version }

// Prepare opens the layout with syft's image catalogers: operating system
// packages (dpkg, apk, rpm) and language packages installed in the image.
func (o OCILayout) Prepare(ctx context.Context) (*Prepared, error) {
	cfg := syft.DefaultGetSourceConfig().WithSources("oci-dir").
		WithAlias(source.Alias{Name: o.Name, Version: o.Version})
	src, err := syft.GetSource(ctx, o.Dir, cfg)
	if err != nil {
		return nil, fmt.Errorf("open image layout %s: %w", o.Dir, err)
	}
	sel := cataloging.NewSelectionRequest().WithDefaults(pkgcataloging.ImageTag)
	return &Prepared{Source: src, Selection: sel}, nil
}
