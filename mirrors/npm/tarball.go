package npm

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"

	ingestnpm "github.com/sluice-dev/sluice/ingest/npm"
)

// readPackageJSON returns the package.json at the top of an npm tarball's
// single root folder (usually "package/"), as a generic JSON object so that
// every field the author wrote is published unchanged.
func readPackageJSON(r io.Reader) (map[string]any, error) {
	data, err := ingestnpm.PackageJSON(r)
	if err != nil {
		return nil, err
	}
	var doc map[string]any
	if err := json.NewDecoder(bytes.NewReader(data)).Decode(&doc); err != nil {
		return nil, fmt.Errorf("invalid package.json in tarball: %w", err)
	}
	return doc, nil
}
