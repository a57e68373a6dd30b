package npm

import (
	"archive/tar"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// maxPackageJSON bounds the package.json read from a tarball.
const maxPackageJSON = 16 << 20

// ReadPackageJSON returns the package.json at the top of an npm tarball's
// single root folder (usually "package/"), as a generic JSON object so that
// every field the author wrote is published unchanged.
func ReadPackageJSON(r io.Reader) (map[string]any, error) {
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
		var doc map[string]any
		if err := json.NewDecoder(io.LimitReader(tr, maxPackageJSON)).Decode(&doc); err != nil {
			return nil, fmt.Errorf("invalid %s in tarball: %w", h.Name, err)
		}
		return doc, nil
	}
}
