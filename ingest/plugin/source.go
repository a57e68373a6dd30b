package plugin

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"

	"github.com/sluice-dev/sluice/ingest/npm"
)

// Source is the origin of a package's code as its package.json declares it.
type Source struct {
	// Repository is the repository URL, with a "git+" prefix and a ".git"
	// suffix kept as declared; empty when package.json declares none.
	Repository string `json:"repository,omitempty"`
	// Directory is the package's folder inside a monorepo, when declared.
	Directory string `json:"directory,omitempty"`
	Homepage  string `json:"homepage,omitempty"`
	// License is the license field as declared.
	License string `json:"license,omitempty"`
}

// ReadSource reads package.json from the top folder of a gzipped npm
// tarball and returns its repository, homepage and license fields.
func ReadSource(r io.Reader) (*Source, error) {
	data, err := npm.PackageJSON(r)
	if err != nil {
		return nil, err
	}
	return parseSource(bytes.NewReader(data))
}

// parseSource decodes the fields of package.json that Source keeps. npm
// allows repository as a string ("github:org/repo" or a URL) or as an
// object with type, url and directory.
func parseSource(r io.Reader) (*Source, error) {
	var doc struct {
		Repository json.RawMessage `json:"repository"`
		Homepage   string          `json:"homepage"`
		License    json.RawMessage `json:"license"`
	}
	if err := json.NewDecoder(r).Decode(&doc); err != nil {
		return nil, fmt.Errorf("invalid package.json: %w", err)
	}
	s := &Source{Homepage: doc.Homepage, License: stringOrType(doc.License)}
	if len(doc.Repository) == 0 {
		return s, nil
	}
	var repo struct {
		URL       string `json:"url"`
		Directory string `json:"directory"`
	}
	if err := json.Unmarshal(doc.Repository, &s.Repository); err == nil {
		return s, nil
	}
	if err := json.Unmarshal(doc.Repository, &repo); err != nil {
		return nil, fmt.Errorf("invalid package.json repository field: %w", err)
	}
	s.Repository, s.Directory = repo.URL, repo.Directory
	return s, nil
}

// stringOrType returns a license field given as a string, or the type of
// the legacy {"type": ..., "url": ...} form.
func stringOrType(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var obj struct {
		Type string `json:"type"`
	}
	if json.Unmarshal(raw, &obj) == nil {
		return obj.Type
	}
	return ""
}
