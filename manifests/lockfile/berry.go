package lockfile

import (
	"net/url"
	"strings"

	"gopkg.in/yaml.v3"
)

// berryArchiveParam is the locator parameter in which yarn berry (4.18.1
// read) records a registry package's tarball URL when the packument's
// dist.tarball is not at the registry's usual /<name>/-/<file>.tgz
// address, as in lodash@npm:4.17.21::__archiveUrl=https%3A%2F%2F…
const berryArchiveParam = "__archiveUrl="

// parseBerry reads a yarn berry (yarn 2 and later) lockfile. It is YAML:
// a __metadata mapping, then one mapping per package keyed by the
// descriptors that resolve to it, such as "lodash@npm:^4.17.0,
// lodash@npm:^4.17.21". The package's locator is in its resolution field.
//
// Registry packages resolve to name@npm:version and carry no URL: yarn
// fetches them from the npmRegistryServer it is configured with. Their
// checksum is a hash of the zip archive yarn builds in its cache, not of
// the npm tarball, so it is kept in Checksum and never compared with a
// tarball's integrity.
func (p *parser) parseBerry() error {
	roots, err := p.parseYAMLDocuments()
	if err != nil {
		return err
	}
	if len(roots) > 1 {
		return p.errorf(roots[1].Line, "a yarn berry lockfile has one YAML document, this one "+
			"has %d", len(roots))
	}
	root := roots[0]
	meta := mapValue(root, "__metadata")
	if meta == nil || mapValue(meta, "version") == nil {
		return p.errorf(root.Line, "yarn berry lockfile without __metadata.version: "+
			"run yarn install to regenerate it")
	}
	for i := 0; i+1 < len(root.Content); i += 2 {
		key, value := root.Content[i], root.Content[i+1]
		if key.Value == "__metadata" {
			continue
		}
		if value.Kind != yaml.MappingNode {
			return p.errorf(key.Line, "entry %q is not a mapping of fields", key.Value)
		}
		if err := p.berryEntry(key, value); err != nil {
			return err
		}
	}
	return nil
}

// berryEntry adds the entry with descriptors key and fields value.
func (p *parser) berryEntry(key, value *yaml.Node) error {
	resolution, err := p.scalarValue(value, "resolution")
	if err != nil {
		return err
	}
	if resolution == nil {
		return p.errorf(key.Line, "entry %q has no resolution: run yarn install to repair "+
			"the lockfile", key.Value)
	}
	e := Entry{Line: resolution.Line}
	for _, descriptor := range strings.Split(key.Value, ",") {
		e.Selectors = append(e.Selectors, strings.TrimSpace(descriptor))
	}
	name, reference := splitSpec(resolution.Value)
	if name == "" || reference == "" {
		return p.errorf(resolution.Line, "resolution %q is not name@reference", resolution.Value)
	}
	e.Name = name
	for _, descriptor := range e.Selectors {
		if alias, _ := splitSpec(descriptor); alias != "" && alias != name {
			e.Alias = alias
			break
		}
	}
	for field, target := range map[string]*string{"version": &e.Version, "checksum": &e.Checksum} {
		v, err := p.scalarValue(value, field)
		if err != nil {
			return err
		}
		if v != nil {
			*target = v.Value
		}
	}

	// rewritable is the part of the resolution that holds a URL.
	var rewritable *span
	protocol, rest, _ := strings.Cut(reference, ":")
	switch protocol {
	case "npm":
		version, params, _ := strings.Cut(rest, "::")
		if e.Version == "" {
			e.Version = version
		}
		e.Source = SourceRegistry
		// The archive URL of an npm: locator is where that registry keeps
		// the tarball, whatever its layout.
		if archive, prefix, suffix, ok := berryArchiveURL(params); ok {
			e.Resolved = archive
			rewritable = &span{prefix: name + "@npm:" + version + "::" + prefix, suffix: suffix,
				escape: true}
		}
	case "workspace":
		e.Source = SourceWorkspace
	case "patch":
		e.Source = SourcePatch
	case "link", "portal":
		e.Source = SourceLink
	case "file", "exec":
		// exec: runs a script of the project that builds the package.
		e.Source = SourceFile
	default:
		e.Resolved = reference
		e.Source = berrySource(reference)
		rewritable = &span{prefix: name + "@"}
	}
	p.lf.Entries = append(p.lf.Entries, e)
	if rewritable == nil {
		return nil
	}
	s, err := p.yamlSpan(resolution, false)
	if err != nil {
		return err
	}
	s.entry = len(p.lf.Entries) - 1
	s.prefix, s.suffix, s.escape = rewritable.prefix, rewritable.suffix, rewritable.escape
	p.lf.spans = append(p.lf.spans, s)
	return nil
}

// berryArchiveURL finds the __archiveUrl parameter in the parameters of an
// npm: locator. It returns the decoded URL and the parameter text before
// and after the encoded value.
func berryArchiveURL(params string) (archive, prefix, suffix string, ok bool) {
	for start := 0; start <= len(params); {
		end := strings.IndexByte(params[start:], '&')
		if end < 0 {
			end = len(params)
		} else {
			end += start
		}
		if strings.HasPrefix(params[start:end], berryArchiveParam) {
			valueStart := start + len(berryArchiveParam)
			archive, err := url.QueryUnescape(params[valueStart:end])
			if err != nil || archive == "" {
				return "", "", "", false
			}
			return archive, params[:valueStart], params[end:], true
		}
		start = end + 1
	}
	return "", "", "", false
}

// berrySource classifies a berry locator reference that is neither npm:
// nor a local protocol: git repositories in any of the forms yarn writes,
// and tarball URLs.
func berrySource(reference string) Source {
	switch {
	case isGit(reference), strings.Contains(reference, "#commit="),
		strings.Contains(reference, ".git#"), strings.HasSuffix(reference, ".git"):
		return SourceGit
	case isHTTP(reference):
		return sourceOf(reference, "")
	}
	// A protocol that a yarn plugin adds; the internal network cannot
	// fetch it, so it is reported like any other non-registry tarball.
	return SourceTarball
}
