package manifests

import (
	"fmt"
	"path/filepath"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/sluice-dev/sluice/manifests/internal/yamlnode"
)

func (d *decoder) npm(v yamlnode.Member) *NPMSpec {
	spec := &NPMSpec{Dependencies: DependencyOptions{Optional: true, Peer: true}}
	f, ok := d.Mapping(v.Value, "spec.npm", "dependencies", "packages", "lockfiles")
	if !ok {
		return spec
	}
	if deps, ok := f.Get("dependencies"); ok {
		d.dependencyOptions(deps.Value, &spec.Dependencies)
	}
	if packages, ok := f.Get("packages"); ok {
		spec.Packages = d.npmPackages(packages.Value)
	}
	if lockfiles, ok := f.Get("lockfiles"); ok {
		spec.Lockfiles = d.npmLockfiles(lockfiles.Value)
	}
	if len(spec.Packages) == 0 && len(spec.Lockfiles) == 0 && !hasField(d.errs, "spec.npm") {
		d.Errorf(v.Key, "spec.npm", "nothing to ingest: list packages or lockfiles")
	}
	return spec
}

func (d *decoder) dependencyOptions(n *yaml.Node, opts *DependencyOptions) {
	const field = "spec.npm.dependencies"
	f, ok := d.Mapping(n, field, "optional", "peer")
	if !ok {
		return
	}
	if v, ok := f.Get("optional"); ok {
		if b, ok := d.Boolean(v.Value, field+".optional"); ok {
			opts.Optional = b
		}
	}
	if v, ok := f.Get("peer"); ok {
		if b, ok := d.Boolean(v.Value, field+".peer"); ok {
			opts.Peer = b
		}
	}
}

func (d *decoder) npmPackages(n *yaml.Node) []NPMPackage {
	items, ok := d.Sequence(n, "spec.npm.packages")
	if !ok {
		return nil
	}
	var packages []NPMPackage
	first := make(map[string]int) // name@version -> index of the first entry
	for i, item := range items {
		field := fmt.Sprintf("spec.npm.packages[%d]", i)
		p, ok := d.npmPackage(item, field)
		if !ok {
			continue
		}
		key := p.Name + "@" + p.Version
		if j, dup := first[key]; dup {
			d.Errorf(item, field, "duplicate of spec.npm.packages[%d] on line %d (%s): remove one",
				j, items[j].Line, key)
			continue
		}
		first[key] = i
		packages = append(packages, p)
	}
	return packages
}

// npmPackage decodes one package entry, either the shorthand "name@spec"
// or a mapping, and validates it.
func (d *decoder) npmPackage(item *yaml.Node, field string) (NPMPackage, bool) {
	p := NPMPackage{Pos: d.pos(item)}
	item = yamlnode.Resolve(item)
	before := len(d.errs)
	switch {
	case item.Kind == yaml.ScalarNode && item.ShortTag() == "!!str":
		p.Name, p.Version = splitPackageSpec(item.Value)
		if strings.HasSuffix(item.Value, "@") && p.Name != "" {
			d.Errorf(item, field, "empty version after '@' in %q: write name@version or "+
				"leave out the '@'", item.Value)
		}
		d.checkPackage(item, item, field, field, &p)
	case item.Kind == yaml.MappingNode:
		d.npmPackageMapping(item, field, &p)
	default:
		d.Errorf(item, field, "must be \"name@version\" or a mapping with name and version, "+
			"not %s", yamlnode.Describe(item))
	}
	return p, len(d.errs) == before
}

func (d *decoder) npmPackageMapping(item *yaml.Node, field string, p *NPMPackage) {
	f, ok := d.Mapping(item, field, "name", "version", "latest", "prerelease")
	if !ok {
		return
	}
	name, ok := d.Required(f, item, field, "name", "give the npm package name")
	if !ok {
		return
	}
	if p.Name, ok = d.String(name.Value, field+".name"); !ok {
		return
	}
	versionNode := name.Value
	versionField := field + ".name"
	if v, ok := f.Get("version"); ok {
		versionNode, versionField = v.Value, field+".version"
		if p.Version, ok = d.String(v.Value, versionField); !ok {
			return
		}
		if p.Version == "" {
			d.Errorf(v.Value, versionField, "empty version: leave the field out for the "+
				"latest version")
			return
		}
	}
	if v, ok := f.Get("latest"); ok {
		if p.Latest, ok = d.Integer(v.Value, field+".latest"); ok && p.Latest < 1 {
			d.Errorf(v.Value, field+".latest", "must be at least 1, not %d", p.Latest)
		}
	}
	if v, ok := f.Get("prerelease"); ok {
		p.Prerelease, _ = d.Boolean(v.Value, field+".prerelease")
	}
	d.checkPackage(name.Value, versionNode, field+".name", versionField, p)
}

// checkPackage validates the name and version of p, fills in the default
// version, and reports problems at the given nodes and fields.
func (d *decoder) checkPackage(nameNode, versionNode *yaml.Node, nameField, versionField string,
	p *NPMPackage) {
	if problem := checkPackageName(p.Name); problem != "" {
		d.Errorf(nameNode, nameField, "invalid npm package name %q: %s", p.Name, problem)
	}
	if p.Version == "" {
		p.Version = "latest"
		if p.Latest > 0 {
			p.Version = "*"
		}
		return
	}
	kind := ClassifyVersion(p.Version)
	switch {
	case kind == VersionInvalid:
		d.Errorf(versionNode, versionField, "%s", versionProblem(p.Version))
	case kind == VersionTag && p.Latest > 0:
		d.Errorf(versionNode, versionField, "latest needs a version range, but %q is a dist-tag "+
			"that names one version: use a range such as ^1.2.0 or leave version out", p.Version)
	case kind == VersionExact && p.Latest > 1:
		d.Errorf(versionNode, versionField, "latest: %d needs a version range, but %q is one "+
			"exact version: use a range such as ^%s", p.Latest, p.Version, p.Version)
	}
}

func (d *decoder) npmLockfiles(n *yaml.Node) []NPMLockfile {
	items, ok := d.Sequence(n, "spec.npm.lockfiles")
	if !ok {
		return nil
	}
	var lockfiles []NPMLockfile
	first := make(map[string]int) // absolute path -> index of the first entry
	for i, item := range items {
		field := fmt.Sprintf("spec.npm.lockfiles[%d]", i)
		f, ok := d.Mapping(item, field, "path")
		if !ok {
			continue
		}
		v, ok := d.Required(f, item, field, "path",
			"give the lockfile path relative to the manifest's folder")
		if !ok {
			continue
		}
		path, ok := d.String(v.Value, field+".path")
		if !ok {
			continue
		}
		if strings.TrimSpace(path) == "" {
			d.Errorf(v.Value, field+".path", "empty path: give the lockfile path relative "+
				"to the manifest's folder")
			continue
		}
		if filepath.IsAbs(path) || strings.HasPrefix(path, "/") {
			d.Errorf(v.Value, field+".path", "absolute path %q: write it relative to the "+
				"manifest's folder so the manifest works in every checkout", path)
			continue
		}
		abs := filepath.Join(manifestDir(d.file), filepath.FromSlash(path))
		if j, dup := first[abs]; dup {
			d.Errorf(v.Value, field+".path", "same lockfile as spec.npm.lockfiles[%d] on line %d: "+
				"remove one", j, yamlnode.Resolve(items[j]).Line)
			continue
		}
		first[abs] = i
		lockfiles = append(lockfiles, NPMLockfile{Path: abs, Pos: d.pos(v.Value)})
	}
	return lockfiles
}
