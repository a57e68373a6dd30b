package lockfile

import (
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"
)

// parsePNPM reads a pnpm-lock.yaml of lockfileVersion 6.x (pnpm 8) or 9.0
// (pnpm 9 and later). Both list each package once under packages:, keyed
// /name@version in 6.x and name@version in 9.0, with a flow mapping such as
// resolution: {integrity: sha512-…}. Version 9.0 moves the dependency
// graph into snapshots:, which Sluice does not need.
//
// pnpm leaves the tarball URL out when it is the configured registry's
// usual /<name>/-/<file>.tgz address, so most entries name no registry.
// A resolution with tarball: names its URL, which is what Rewrite changes.
func (p *parser) parsePNPM() error {
	roots, err := p.parseYAMLDocuments()
	if err != nil {
		return err
	}
	for _, root := range roots {
		if err := p.pnpmDocument(root); err != nil {
			return err
		}
	}
	return nil
}

// pnpmDocument reads one YAML document of a pnpm lockfile. pnpm 11 and
// later may write two, both lockfileVersion 9.0: first an env document with
// the config dependencies and pnpm's own packages, then the project's.
// Both list packages that pnpm installs, so both are read.
func (p *parser) pnpmDocument(root *yaml.Node) error {
	version, err := p.scalarValue(root, "lockfileVersion")
	if err != nil {
		return err
	}
	if version == nil {
		return p.errorf(root.Line, "pnpm lockfile without lockfileVersion")
	}
	var format Format
	switch major, _, _ := strings.Cut(version.Value, "."); major {
	case "6":
		format = PNPMV6
	case "9":
		format = PNPMV9
	default:
		return fmt.Errorf("%s:%d: pnpm lockfileVersion %s is %w: run pnpm install with "+
			"pnpm 8 or later, which writes version 6.0 or 9.0", p.lf.Path, version.Line,
			version.Value, ErrUnsupported)
	}
	if p.lf.Format != pnpmLock && p.lf.Format != format {
		return p.errorf(version.Line, "lockfileVersion %s differs from the first document's",
			version.Value)
	}
	p.lf.Format = format
	packages := mapValue(root, "packages")
	if packages == nil {
		return nil
	}
	if packages.Kind != yaml.MappingNode {
		return p.errorf(packages.Line, "packages is not a mapping")
	}
	for i := 0; i+1 < len(packages.Content); i += 2 {
		key, value := packages.Content[i], packages.Content[i+1]
		if value.Kind != yaml.MappingNode {
			return p.errorf(key.Line, "package %q is not a mapping of fields", key.Value)
		}
		if err := p.pnpmEntry(key, value); err != nil {
			return err
		}
	}
	return nil
}

// pnpmEntry adds the package with key and fields value.
func (p *parser) pnpmEntry(key, value *yaml.Node) error {
	e := Entry{Line: key.Line, Path: key.Value}
	id := key.Value
	if p.lf.Format == PNPMV6 {
		// Registry packages start with '/'; others, such as
		// file:vendor/x.tgz, carry name and version fields.
		id = strings.TrimPrefix(id, "/")
	}
	e.Name, e.Version = splitSpec(stripPeers(id))
	// A key that names a version, not a URL or path, is a package from a
	// registry, whatever the layout of its tarball URL.
	registryKey := !strings.ContainsAny(e.Version, ":/")
	if !strings.HasPrefix(key.Value, "/") && p.lf.Format == PNPMV6 {
		e.Name, e.Version, registryKey = "", "", false
	}
	fields := map[string]*string{"name": &e.Name, "version": &e.Version}
	for field, target := range fields {
		v, err := p.scalarValue(value, field)
		if err != nil {
			return err
		}
		if v != nil {
			*target = v.Value
		}
	}
	if e.Name == "" {
		return p.errorf(key.Line, "package %q has no name: expected name@version or a name "+
			"field", key.Value)
	}
	for field, target := range map[string]*bool{"dev": &e.Dev, "optional": &e.Optional} {
		if v := mapValue(value, field); v != nil && v.Value == "true" {
			*target = true
		}
	}

	resolution := mapValue(value, "resolution")
	if resolution == nil || resolution.Kind != yaml.MappingNode {
		return p.errorf(key.Line, "package %q has no resolution mapping: run pnpm install "+
			"to repair the lockfile", key.Value)
	}
	var values [5]*yaml.Node
	for i, field := range []string{"integrity", "tarball", "type", "repo", "commit"} {
		v, err := p.scalarValue(resolution, field)
		if err != nil {
			return err
		}
		if v == nil {
			v = &yaml.Node{}
		}
		values[i] = v
	}
	integrity, tarball, kind, repo, commit := values[0], values[1], values[2], values[3], values[4]
	e.Integrity = integrity.Value
	switch {
	case kind.Value == "git":
		e.Source, e.Resolved = SourceGit, repo.Value+"#"+commit.Value
	case kind.Value == "directory":
		e.Source = SourceFile
	case kind.Value != "":
		return p.errorf(resolution.Line, "package %q has resolution type %q, which Sluice "+
			"does not know", key.Value, kind.Value)
	case tarball.Value == "":
		e.Source = SourceRegistry
	case isHTTP(tarball.Value):
		e.Source, e.Resolved, e.Line = sourceOf(tarball.Value, ""), tarball.Value, tarball.Line
		if registryKey {
			e.Source = SourceRegistry
		}
	default:
		e.Source = sourceOf(tarball.Value, "")
	}
	p.lf.Entries = append(p.lf.Entries, e)
	if !isHTTP(tarball.Value) || kind.Value != "" {
		return nil
	}
	s, err := p.yamlSpan(tarball, resolution.Style&yaml.FlowStyle != 0)
	if err != nil {
		return err
	}
	s.entry = len(p.lf.Entries) - 1
	p.lf.spans = append(p.lf.spans, s)
	return nil
}

// stripPeers removes the peer dependency suffix of a pnpm package key, as
// in use-sync-external-store@1.2.0(react@18.2.0).
func stripPeers(id string) string {
	if i := strings.IndexByte(id, '('); i > 0 && strings.HasSuffix(id, ")") {
		return id[:i]
	}
	return id
}
