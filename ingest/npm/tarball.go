package npm

import (
	"archive/tar"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"strings"
)

// maxPackageJSON bounds the package.json read from a tarball.
const maxPackageJSON = 16 << 20

// PackageJSON returns the bytes of the package.json at the top of a
// gzipped npm tarball's single root folder, which npm pack names
// "package/" and some older packages name otherwise.
func PackageJSON(r io.Reader) ([]byte, error) {
	gz, err := gzip.NewReader(r)
	if err != nil {
		return nil, fmt.Errorf("tarball is not gzip: %w", err)
	}
	defer gz.Close()
	tr := tar.NewReader(gz)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil, errors.New("tarball has no package.json in its root folder")
		}
		if err != nil {
			return nil, fmt.Errorf("read tarball: %w", err)
		}
		parts := strings.Split(strings.TrimPrefix(h.Name, "./"), "/")
		if len(parts) != 2 || parts[1] != "package.json" || h.Typeflag != tar.TypeReg {
			continue
		}
		data, err := io.ReadAll(io.LimitReader(tr, maxPackageJSON+1))
		if err != nil {
			return nil, fmt.Errorf("read %s in tarball: %w", h.Name, err)
		}
		if len(data) > maxPackageJSON {
			return nil, fmt.Errorf("%s in tarball is larger than %d bytes", h.Name, maxPackageJSON)
		}
		return data, nil
	}
}
