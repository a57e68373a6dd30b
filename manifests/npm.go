package manifests

import (
	"fmt"
	"path/filepath"
	"strings"

	"gopkg.in/yaml.v3"
)

func (d *decoder) npm(v member) *NPMSpec {
	spec := &NPMSpec{Dependencies: DependencyOptions{Optional: true, Peer: true}}
	f, ok := d.mapping(v.value, "spec.npm", "dependencies", "packages", "lockfiles")
	if !ok {
		return spec
	}
	if deps, ok := f.get("dependencies"); ok {
		d.dependencyOptions(deps.value, &spec.Dependencies)
	}
	if packages, ok := f.get("packages"); ok {
		spec.Packages = d.npmPackages(packages.value)
	}
	if lockfiles, ok := f.get("lockfiles"); ok {
		spec.Lockfiles = d.npmLockfiles(lockfiles.value)
	}
	if len(spec.Packages) == 0 && len(spec.Lockfiles) == 0 && !hasField(d.errs, "spec.npm") {
		d.errorf(v.key, "spec.npm", "nothing to ingest: list packages or lockfiles")
	}
	return spec
}

func (d *decoder) dependencyOptions(n *yaml.Node, opts *DependencyOptions) {
	const field = "spec.npm.dependencies"
	f, ok := d.mapping(n, field, "optional", "peer")
	if !ok {
		return
	}
	if v, ok := f.get("optional"); ok {
		if b, ok := d.boolean(v.value, field+".optional"); ok {
			opts.Optional = b
		}
	}
	if v, ok := f.get("peer"); ok {
		if b, ok := d.boolean(v.value, field+".peer"); ok {
			opts.Peer = b
		}
	}
}

func (d *decoder) npmPackages(n *yaml.Node) []NPMPackage {
	items, ok := d.sequence(n, "spec.npm.packages")
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
			d.errorf(item, field, "duplicate of spec.npm.packages[%d] on line %d (%s): remove one",
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
	item = resolve(item)
	before := len(d.errs)
	switch {
	case item.Kind == yaml.ScalarNode && item.ShortTag() == "!!str":
		p.Name, p.Version = splitPackageSpec(item.Value)
		if strings.HasSuffix(item.Value, "@") && p.Name != "" {
			d.errorf(item, field, "empty version after '@' in %q: write name@version or "+
				"leave out the '@'", item.Value)
		}
		d.checkPackage(item, item, field, field, &p)
	case item.Kind == yaml.MappingNode:
		d.npmPackageMapping(item, field, &p)
	default:
		d.errorf(item, field, "must be \"name@version\" or a mapping with name and version, "+
			"not %s", describe(item))
	}
	return p, len(d.errs) == before
}

func (d *decoder) npmPackageMapping(item *yaml.Node, field string, p *NPMPackage) {
	f, ok := d.mapping(item, field, "name", "version", "latest", "prerelease")
	if !ok {
		return
	}
	name, ok := d.required(f, item, field, "name", "give the npm package name")
	if !ok {
		return
	}
	if p.Name, ok = d.str(name.value, field+".name"); !ok {
		return
	}
	versionNode := name.value
	versionField := field + ".name"
	if v, ok := f.get("version"); ok {
		versionNode, versionField = v.value, field+".version"
		if p.Version, ok = d.str(v.value, versionField); !ok {
			return
		}
		if p.Version == "" {
			d.errorf(v.value, versionField, "empty version: leave the field out for the "+
				"latest version")
			return
		}
	}
	if v, ok := f.get("latest"); ok {
		if p.Latest, ok = d.integer(v.value, field+".latest"); ok && p.Latest < 1 {
			d.errorf(v.value, field+".latest", "must be at least 1, not %d", p.Latest)
		}
	}
	if v, ok := f.get("prerelease"); ok {
		p.Prerelease, _ = d.boolean(v.value, field+".prerelease")
	}
	d.checkPackage(name.value, versionNode, field+".name", versionField, p)
}

// checkPackage validates the name and version of p, fills in the default
// version, and reports problems at the given nodes and fields.
func (d *decoder) checkPackage(nameNode, versionNode *yaml.Node, nameField, versionField string,
	p *NPMPackage) {
	if problem := checkPackageName(p.Name); problem != "" {
		d.errorf(nameNode, nameField, "invalid npm package name %q: %s", p.Name, problem)
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
		d.errorf(versionNode, versionField, "%s", versionProblem(p.Version))
	case kind == VersionTag && p.Latest > 0:
		d.errorf(versionNode, versionField, "latest needs a version range, but %q is a dist-tag "+
			"that names one version: use a range such as ^1.2.0 or leave version out", p.Version)
	case kind == VersionExact && p.Latest > 1:
		d.errorf(versionNode, versionField, "latest: %d needs a version range, but %q is one "+
			"exact version: use a range such as ^%s", p.Latest, p.Version, p.Version)
	}
}

func (d *decoder) npmLockfiles(n *yaml.Node) []NPMLockfile {
	items, ok := d.sequence(n, "spec.npm.lockfiles")
	if !ok {
		return nil
	}
	var lockfiles []NPMLockfile
	first := make(map[string]int) // absolute path -> index of the first entry
	for i, item := range items {
		field := fmt.Sprintf("spec.npm.lockfiles[%d]", i)
		f, ok := d.mapping(item, field, "path")
		if !ok {
			continue
		}
		v, ok := d.required(f, item, field, "path",
			"give the lockfile path relative to the manifest's folder")
		if !ok {
			continue
		}
		path, ok := d.str(v.value, field+".path")
		if !ok {
			continue
		}
		if strings.TrimSpace(path) == "" {
			d.errorf(v.value, field+".path", "empty path: give the lockfile path relative "+
				"to the manifest's folder")
			continue
		}
		if filepath.IsAbs(path) || strings.HasPrefix(path, "/") {
			d.errorf(v.value, field+".path", "absolute path %q: write it relative to the "+
				"manifest's folder so the manifest works in every checkout", path)
			continue
		}
		abs := filepath.Join(manifestDir(d.file), filepath.FromSlash(path))
		if j, dup := first[abs]; dup {
			d.errorf(v.value, field+".path", "same lockfile as spec.npm.lockfiles[%d] on line %d: "+
				"remove one", j, resolve(items[j]).Line)
			continue
		}
		first[abs] = i
		lockfiles = append(lockfiles, NPMLockfile{Path: abs, Pos: d.pos(v.value)})
	}
	return lockfiles
}
