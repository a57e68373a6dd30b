package npmfixture

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha1"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// Package is a version that AddVersion makes appear upstream.
type Package struct {
	// Manifest is the package.json of the version. It must contain name and
	// version. Its abbreviated fields (dependencies, scripts-derived
	// hasInstallScript and so on) go into the packument.
	Manifest map[string]any
	// Files are further files of the built tarball, by path below package/.
	Files map[string][]byte
	// Tarball, when not nil, is served as is in place of a tarball built
	// from Manifest and Files; dist.integrity and dist.shasum describe it.
	Tarball []byte
	// Tags are the dist-tags set to this version. Nil means ["latest"].
	Tags []string
}

// addedPackage is a packument changed in memory, with its added tarballs.
type addedPackage struct {
	packument []byte
	tarballs  map[string][]byte
}

// packumentDoc is a packument with its versions decoded one level deep,
// so that fields this package does not know pass through unchanged.
type packumentDoc struct {
	Fields   map[string]json.RawMessage
	Versions map[string]map[string]json.RawMessage
}

func parsePackument(name string, data []byte) (*packumentDoc, error) {
	doc := &packumentDoc{}
	if err := json.Unmarshal(data, &doc.Fields); err != nil {
		return nil, fmt.Errorf("parse packument of %s: %w", name, err)
	}
	doc.Versions = map[string]map[string]json.RawMessage{}
	if raw, ok := doc.Fields["versions"]; ok {
		if err := json.Unmarshal(raw, &doc.Versions); err != nil {
			return nil, fmt.Errorf("parse versions in packument of %s: %w", name, err)
		}
	}
	return doc, nil
}

func (d *packumentDoc) encode() ([]byte, error) {
	versions, err := json.Marshal(d.Versions)
	if err != nil {
		return nil, err
	}
	fields := maps.Clone(d.Fields)
	fields["versions"] = versions
	return json.Marshal(fields)
}

// SetPackument replaces or adds the packument of name, as served before
// dist.tarball rewriting. Tarballs stay as they were: only those recorded
// or added with AddVersion are served.
func (h *Handler) SetPackument(name string, packument []byte) error {
	if !validName(name) {
		return fmt.Errorf("invalid package name %q", name)
	}
	if _, err := parsePackument(name, packument); err != nil {
		return err
	}
	h.addMu.Lock()
	defer h.addMu.Unlock()
	h.mu.Lock()
	defer h.mu.Unlock()
	added := h.added[name]
	if added == nil {
		added = &addedPackage{tarballs: map[string][]byte{}}
		h.added[name] = added
	}
	added.packument = bytes.Clone(packument)
	h.changed(name)
	return nil
}

// AddVersion adds a version to the packument of its package, creating the
// packument when the package is new, and serves its tarball. It models a
// version being published upstream.
func (h *Handler) AddVersion(pkg Package) error {
	name, _ := pkg.Manifest["name"].(string)
	version, _ := pkg.Manifest["version"].(string)
	if !validName(name) || version == "" {
		return fmt.Errorf("add version: manifest needs a valid name and a version, got %q@%q",
			name, version)
	}
	h.addMu.Lock()
	defer h.addMu.Unlock()
	tarball := pkg.Tarball
	if tarball == nil {
		built, err := BuildTarball(pkg.Manifest, pkg.Files)
		if err != nil {
			return fmt.Errorf("add version %s@%s: %w", name, version, err)
		}
		tarball = built
	}

	doc, err := h.packument(name)
	if errors.Is(err, ErrNotFound) {
		doc = &packumentDoc{
			Fields:   map[string]json.RawMessage{"name": mustJSON(name)},
			Versions: map[string]map[string]json.RawMessage{},
		}
	} else if err != nil {
		return err
	}

	file := unscoped(name) + "-" + version + ".tgz"
	meta, err := abbreviatedMeta(pkg.Manifest, tarballPath(name, file), tarball)
	if err != nil {
		return fmt.Errorf("add version %s@%s: %w", name, version, err)
	}
	doc.Versions[version] = meta

	tags := map[string]string{}
	if raw, ok := doc.Fields["dist-tags"]; ok {
		if err := json.Unmarshal(raw, &tags); err != nil {
			return fmt.Errorf("parse dist-tags in packument of %s: %w", name, err)
		}
	}
	tagNames := pkg.Tags
	if tagNames == nil {
		tagNames = []string{"latest"}
	}
	for _, tag := range tagNames {
		tags[tag] = version
	}
	doc.Fields["dist-tags"] = mustJSON(tags)
	doc.Fields["modified"] = mustJSON(time.Now().UTC().Format(time.RFC3339Nano))

	encoded, err := doc.encode()
	if err != nil {
		return err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	added := h.added[name]
	if added == nil {
		added = &addedPackage{tarballs: map[string][]byte{}}
		h.added[name] = added
	}
	added.packument = encoded
	added.tarballs[file] = tarball
	h.changed(name)
	return nil
}

// changed drops cached packuments of name. The caller holds h.mu.
func (h *Handler) changed(name string) {
	delete(h.packuments, name)
	h.generation++
}

// abbreviatedManifestFields are the package.json fields that npm's
// abbreviated packument keeps for a version.
var abbreviatedManifestFields = []string{
	"name", "version", "deprecated", "dependencies", "optionalDependencies",
	"devDependencies", "bundleDependencies", "peerDependencies", "peerDependenciesMeta",
	"bin", "directories", "engines", "cpu", "os",
}

func abbreviatedMeta(manifest map[string]any, tarballURL string, tarball []byte,
) (map[string]json.RawMessage, error) {
	meta := map[string]json.RawMessage{}
	for _, field := range abbreviatedManifestFields {
		if value, ok := manifest[field]; ok {
			encoded, err := json.Marshal(value)
			if err != nil {
				return nil, fmt.Errorf("encode manifest field %s: %w", field, err)
			}
			meta[field] = encoded
		}
	}
	// Scripts may be any map type, so read them back through JSON.
	var scripts map[string]any
	if raw, err := json.Marshal(manifest["scripts"]); err == nil {
		_ = json.Unmarshal(raw, &scripts)
	}
	for _, hook := range []string{"preinstall", "install", "postinstall"} {
		if _, ok := scripts[hook]; ok {
			meta["hasInstallScript"] = json.RawMessage("true")
		}
	}
	sha512Sum := sha512.Sum512(tarball)
	sha1Sum := sha1.Sum(tarball)
	meta["dist"] = mustJSON(map[string]string{
		"tarball":   tarballURL,
		"integrity": "sha512-" + base64.StdEncoding.EncodeToString(sha512Sum[:]),
		"shasum":    hex.EncodeToString(sha1Sum[:]),
	})
	return meta, nil
}

// BuildTarball returns an npm package tarball (gzip-compressed tar, every
// entry below package/) holding manifest as package/package.json plus
// files. Entries are sorted and carry a fixed time, so equal input gives
// equal bytes.
func BuildTarball(manifest map[string]any, files map[string][]byte) ([]byte, error) {
	packageJSON, err := json.MarshalIndent(manifest, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode package.json: %w", err)
	}
	all := maps.Clone(files)
	if all == nil {
		all = map[string][]byte{}
	}
	all["package.json"] = append(packageJSON, '\n')

	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	// npm packs every entry with this fixed time, 1985-10-26T08:15:00Z.
	modTime := time.Date(1985, 10, 26, 8, 15, 0, 0, time.UTC)
	for _, name := range slices.Sorted(maps.Keys(all)) {
		header := &tar.Header{
			Name:    "package/" + name,
			Mode:    0o644,
			Size:    int64(len(all[name])),
			ModTime: modTime,
			Format:  tar.FormatPAX,
		}
		if err := tw.WriteHeader(header); err != nil {
			return nil, fmt.Errorf("write tar entry %s: %w", name, err)
		}
		if _, err := tw.Write(all[name]); err != nil {
			return nil, fmt.Errorf("write tar entry %s: %w", name, err)
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	if err := gz.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// unscoped returns the part of a package name after its scope.
func unscoped(name string) string {
	return name[strings.LastIndex(name, "/")+1:]
}

func mustJSON(value any) json.RawMessage {
	encoded, err := json.Marshal(value)
	if err != nil {
		panic(fmt.Sprintf("npmfixture: encode %T: %v", value, err))
	}
	return encoded
}
