package lockfile

import (
	"errors"
	"fmt"
	"strings"
)

// parsePackageLock reads package-lock.json and npm-shrinkwrap.json. v2 files
// hold the packages twice, in "packages" for npm 7 and later and in
// "dependencies" for npm 6. Entries come from "packages", and the resolved
// values in "dependencies" are attached to the entry with the same path so
// that Rewrite changes both copies.
func (p *parser) parsePackageLock() error {
	root, err := parseJSON(p.data)
	if err != nil {
		var se *jsonSyntaxError
		if errors.As(err, &se) {
			return p.errorf(p.lines.line(se.offset), "invalid JSON: %s", se.msg)
		}
		return p.errorf(0, "invalid JSON: %v", err)
	}
	if root.kind != jsonObject {
		return p.errorf(1, "a package-lock.json must be a JSON object, not %s", root.kind)
	}
	version := root.get("lockfileVersion")
	if version == nil {
		return p.errorf(1, "no lockfileVersion field: not a package-lock.json, or written by "+
			"an npm older than 5")
	}
	switch version.number {
	case "1":
		p.lf.Format = PackageLockV1
	case "2":
		p.lf.Format = PackageLockV2
	case "3":
		p.lf.Format = PackageLockV3
	default:
		return p.errorf(p.lines.line(version.end), "unsupported lockfileVersion %s: Sluice reads "+
			"versions 1, 2 and 3", jsonText(p.data, version))
	}

	if p.lf.Format != PackageLockV1 {
		packages := root.get("packages")
		if packages == nil {
			return p.errorf(1, "lockfileVersion %s without a packages field", version.number)
		}
		if err := p.packages(packages); err != nil {
			return err
		}
	}
	if p.lf.Format != PackageLockV3 {
		if deps := root.get("dependencies"); deps != nil {
			byPath := make(map[string]int, len(p.lf.Entries))
			for i, e := range p.lf.Entries {
				byPath[e.Path] = i
			}
			return p.legacyDependencies(deps, "", byPath)
		}
	}
	return nil
}

// packages reads the "packages" object of v2 and v3 lockfiles.
func (p *parser) packages(packages *jsonValue) error {
	if packages.kind != jsonObject {
		return p.errorf(p.lines.line(packages.end), "packages must be an object, not %s",
			packages.kind)
	}
	for _, m := range packages.members {
		if m.key == "" {
			continue // the project itself
		}
		if err := p.packageEntry(m); err != nil {
			return err
		}
	}
	return nil
}

func (p *parser) packageEntry(m jsonMember) error {
	keyLine := p.lines.line(m.keyStart)
	field := fmt.Sprintf("packages[%q]", m.key)
	if m.value.kind != jsonObject {
		return p.errorf(keyLine, "%s must be an object, not %s", field, m.value.kind)
	}
	f := entryFields{p: p, obj: m.value, field: field}
	e := Entry{Path: m.key, Line: keyLine}
	e.Version = f.str("version")
	e.Integrity = f.str("integrity")
	e.Dev = f.boolean("dev")
	e.Optional = f.boolean("optional")
	e.DevOptional = f.boolean("devOptional")
	e.Peer = f.boolean("peer")
	e.Bundled = f.boolean("inBundle")
	link := f.boolean("link")
	name := f.str("name")
	resolved := f.resolved()
	if f.err != nil {
		return f.err
	}

	e.Name = nameFromPath(m.key)
	switch {
	case e.Name == "":
		// Keys without node_modules/ are workspace folders of the project.
		e.Name, e.Source = name, SourceWorkspace
	case name != "" && name != e.Name:
		e.Alias, e.Name = e.Name, name
	}
	if resolved != nil {
		e.Resolved = resolved.str
		e.Line = p.lines.line(resolved.start)
	}
	switch {
	case link:
		e.Source = SourceLink
	case e.Source == "":
		e.Source = sourceOf(e.Resolved, e.Version)
	}
	p.addEntry(e, resolved)
	return nil
}

// legacyDependencies reads the nested "dependencies" objects of v1 and v2
// lockfiles; parent is the path of the enclosing package, ending in '/'.
// In v2 files it only attaches resolved values to the entries read from
// "packages", and adds entries that are missing there.
func (p *parser) legacyDependencies(deps *jsonValue, parent string, byPath map[string]int) error {
	if deps.kind != jsonObject {
		return p.errorf(p.lines.line(deps.end), "dependencies of %q must be an object, not %s",
			strings.TrimSuffix(parent, "/"), deps.kind)
	}
	for _, m := range deps.members {
		path := parent + "node_modules/" + m.key
		keyLine := p.lines.line(m.keyStart)
		field := fmt.Sprintf("dependencies[%q]", m.key)
		if m.value.kind != jsonObject {
			return p.errorf(keyLine, "%s must be an object, not %s", field, m.value.kind)
		}
		f := entryFields{p: p, obj: m.value, field: field}
		e := Entry{Name: m.key, Path: path, Line: keyLine}
		e.Version = f.str("version")
		e.Integrity = f.str("integrity")
		e.Dev = f.boolean("dev")
		e.Optional = f.boolean("optional")
		e.Bundled = f.boolean("bundled")
		resolved := f.resolved()
		if f.err != nil {
			return f.err
		}

		if i, ok := byPath[path]; ok {
			if resolved != nil {
				p.addSpan(i, resolved)
			}
		} else {
			if name, version, ok := unalias(e.Version); ok {
				e.Alias, e.Name, e.Version = e.Name, name, version
			}
			if resolved != nil {
				e.Resolved = resolved.str
				e.Line = p.lines.line(resolved.start)
			}
			e.Source = sourceOf(e.Resolved, e.Version)
			p.addEntry(e, resolved)
		}

		if nested := m.value.get("dependencies"); nested != nil {
			if err := p.legacyDependencies(nested, path+"/", byPath); err != nil {
				return err
			}
		}
	}
	return nil
}

// addEntry appends e and, when resolved is not nil, the span of its value.
func (p *parser) addEntry(e Entry, resolved *jsonValue) {
	p.lf.Entries = append(p.lf.Entries, e)
	if resolved != nil {
		p.addSpan(len(p.lf.Entries)-1, resolved)
	}
}

func (p *parser) addSpan(entry int, v *jsonValue) {
	p.lf.spans = append(p.lf.spans, span{
		entry:  entry,
		start:  v.start,
		end:    v.end,
		raw:    string(p.data[v.start:v.end]),
		value:  v.str,
		quoted: true,
	})
}

// entryFields reads typed fields of one lockfile entry and keeps the first
// type error.
type entryFields struct {
	p     *parser
	obj   *jsonValue
	field string
	err   error
}

func (f *entryFields) get(key string, kind jsonKind) *jsonValue {
	v := f.obj.get(key)
	if v == nil || f.err != nil {
		return nil
	}
	if v.kind != kind {
		f.err = f.p.errorf(f.p.lines.line(v.end), "%s.%s must be %s, not %s",
			f.field, key, kind, v.kind)
		return nil
	}
	return v
}

func (f *entryFields) str(key string) string {
	if v := f.get(key, jsonString); v != nil {
		return v.str
	}
	return ""
}

func (f *entryFields) boolean(key string) bool {
	v := f.get(key, jsonBool)
	return v != nil && v.boolean
}

// resolved returns the resolved value, or nil when there is none or it is
// empty, which npm treats alike.
func (f *entryFields) resolved() *jsonValue {
	v := f.get("resolved", jsonString)
	if v == nil || v.str == "" {
		return nil
	}
	return v
}

// jsonText returns the source text of a scalar value for messages.
func jsonText(data []byte, v *jsonValue) string {
	switch v.kind {
	case jsonNumber:
		return v.number.String()
	case jsonString:
		return string(data[v.start:v.end])
	}
	return v.kind.String()
}
