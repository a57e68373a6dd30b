package manifests

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// manifestName matches a DNS label (RFC 1123) without the length limit,
// which is checked on its own for a clearer message.
var manifestName = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)

// yamlErrorLine extracts the line from yaml.v3 syntax errors, which have
// the form "yaml: line 3: message".
var yamlErrorLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// Parse parses and validates the manifest in data. file names the source in
// error messages and is the base for relative lockfile paths, which Parse
// turns into absolute paths without checking that they exist.
//
// Parse fills in defaults: dependency options absent from the YAML are true,
// and a package without a version gets "latest", or "*" when latest is set.
// All problems are returned at once as errors.Join of *Error.
func Parse(file string, data []byte) (*Manifest, error) {
	m, errs := parse(file, data)
	if err := errs.join(); err != nil {
		return nil, err
	}
	return m, nil
}

// parse returns the manifest, filled in as far as it is valid, and its
// problems.
func parse(file string, data []byte) (*Manifest, problems) {
	d := &decoder{file: file}
	root, ok := d.document(data)
	if !ok {
		return nil, d.errs
	}
	sum := sha256.Sum256(data)
	m := &Manifest{Path: file, Digest: "sha256:" + hex.EncodeToString(sum[:])}
	d.manifest(root, m)
	return m, d.errs
}

// document returns the top-level node of the only YAML document in data.
func (d *decoder) document(data []byte) (*yaml.Node, bool) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			d.errs.add(Position{File: d.file}, "", "empty manifest: expected apiVersion, kind, "+
				"metadata and spec")
		} else {
			d.yamlError(err)
		}
		return nil, false
	}
	for {
		var next yaml.Node
		err := dec.Decode(&next)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			d.yamlError(err)
			return nil, false
		}
		// A trailing "---" yields an empty document, which is harmless.
		if len(next.Content) == 1 && isNull(next.Content[0]) && next.Content[0].Value == "" {
			continue
		}
		d.errorf(&next, "", "more than one YAML document in the file: put each manifest "+
			"in a file of its own")
		return nil, false
	}
	return doc.Content[0], true
}

func (d *decoder) yamlError(err error) {
	pos := Position{File: d.file}
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	if m := yamlErrorLine.FindStringSubmatch(err.Error()); m != nil {
		pos.Line, _ = strconv.Atoi(m[1])
		msg = m[2]
	}
	// yaml.v3 prints 0-based lines for parser errors, the ones that name the
	// start of the enclosing block or flow collection, and omits line 0.
	if isYAMLParserError(msg) {
		pos.Line++
	}
	d.errs.add(pos, "", "invalid YAML: %s", msg)
}

// isYAMLParserError reports whether msg is one of the parser (as opposed
// to scanner) errors of gopkg.in/yaml.v3 v3.0.1.
func isYAMLParserError(msg string) bool {
	return strings.HasPrefix(msg, "did not find expected ") ||
		msg == "found undefined tag handle" ||
		msg == "found duplicate %YAML directive" ||
		msg == "found duplicate %TAG directive" ||
		msg == "found incompatible YAML document"
}

func (d *decoder) manifest(root *yaml.Node, m *Manifest) {
	f, ok := d.mapping(root, "", "apiVersion", "kind", "metadata", "spec")
	if !ok {
		return
	}
	if v, ok := d.required(f, root, "", "apiVersion", "set it to "+APIVersionV1); ok {
		if s, ok := d.str(v.value, "apiVersion"); ok {
			m.APIVersion = s
			if s != APIVersionV1 {
				d.errorf(v.value, "apiVersion", "unsupported version %q: supported versions are %s",
					s, APIVersionV1)
			}
		}
	}
	if v, ok := d.required(f, root, "", "kind", "set it to "+KindManifest); ok {
		if s, ok := d.str(v.value, "kind"); ok {
			m.Kind = s
			if s != KindManifest {
				d.errorf(v.value, "kind", "unsupported kind %q: expected %s", s, KindManifest)
			}
		}
	}
	if v, ok := d.required(f, root, "", "metadata", "add name, owner and dataClass"); ok {
		d.metadata(v, m)
	}
	if v, ok := d.required(f, root, "", "spec", "add npm.packages or npm.lockfiles"); ok {
		d.spec(v, &m.Spec)
	}
}

// required returns the member key of f or reports it missing. A missing
// field has no position of its own, so it is reported at parent, the key
// of the enclosing mapping or the document root, unless the key is there
// with a null value.
func (d *decoder) required(f fields, parent *yaml.Node, field, key, hint string) (member, bool) {
	if v, ok := f.get(key); ok {
		return v, true
	}
	at := parent
	if v, ok := f[key]; ok {
		at = v.key
	}
	d.errorf(at, joinField(field, key), "missing: %s", hint)
	return member{}, false
}

func (d *decoder) metadata(v member, m *Manifest) {
	md := &m.Metadata
	f, ok := d.mapping(v.value, "metadata", "name", "owner", "dataClass", "labels")
	if !ok {
		return
	}
	if name, ok := d.required(f, v.key, "metadata", "name", "name the manifest"); ok {
		md.Name, _ = d.str(name.value, "metadata.name")
		m.namePos = d.pos(name.value)
		d.checkManifestName(name.value, md.Name)
	}
	if owner, ok := d.required(f, v.key, "metadata", "owner",
		"name the team answerable for what this manifest brings in"); ok {
		md.Owner = d.nonEmpty(owner.value, "metadata.owner")
	}
	if class, ok := d.required(f, v.key, "metadata", "dataClass",
		"give the data class of the requesting team's system, such as internal"); ok {
		md.DataClass = d.nonEmpty(class.value, "metadata.dataClass")
	}
	if labels, ok := f.get("labels"); ok {
		md.Labels = d.labels(labels.value)
	}
}

func (d *decoder) checkManifestName(n *yaml.Node, name string) {
	switch {
	case name == "":
		if resolve(n).ShortTag() == "!!str" {
			d.errorf(n, "metadata.name", "empty name: name the manifest")
		}
	case len(name) > 63:
		d.errorf(n, "metadata.name", "name %q is %d characters long: use at most 63",
			name, len(name))
	case !manifestName.MatchString(name):
		d.errorf(n, "metadata.name", "invalid name %q: use lowercase letters, digits and '-', "+
			"starting and ending with a letter or digit", name)
	}
}

// nonEmpty returns the string value of n and reports it when it is blank.
func (d *decoder) nonEmpty(n *yaml.Node, field string) string {
	s, ok := d.str(n, field)
	if ok && strings.TrimSpace(s) == "" {
		d.errorf(n, field, "must not be blank")
	}
	return s
}

func (d *decoder) labels(n *yaml.Node) map[string]string {
	n = resolve(n)
	if n.Kind != yaml.MappingNode {
		d.errorf(n, "metadata.labels", "must be a mapping, not %s", describe(n))
		return nil
	}
	labels := make(map[string]string, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		key := resolve(n.Content[i])
		name, ok := d.str(key, "metadata.labels")
		if !ok {
			continue
		}
		field := "metadata.labels." + name
		if name == "" {
			d.errorf(key, field, "empty label name")
			continue
		}
		if _, dup := labels[name]; dup {
			d.errorf(key, field, "label set twice: remove one")
			continue
		}
		if value, ok := d.str(n.Content[i+1], field); ok {
			labels[name] = value
		}
	}
	return labels
}

func (d *decoder) spec(v member, spec *Spec) {
	f, ok := d.mapping(v.value, "spec", "npm")
	if !ok {
		return
	}
	npm, ok := f.get("npm")
	if !ok {
		if !hasField(d.errs, "spec") {
			d.errorf(v.key, "spec", "nothing to ingest: add npm.packages or npm.lockfiles")
		}
		return
	}
	spec.NPM = d.npm(npm)
}

// hasField reports whether a problem was already reported at field or
// below it, to avoid a second message about the same lines.
func hasField(errs problems, field string) bool {
	for _, e := range errs {
		if e.Field == field || strings.HasPrefix(e.Field, field+".") {
			return true
		}
	}
	return false
}

// manifestDir returns the absolute folder of a manifest file, the base of
// its relative lockfile paths.
func manifestDir(file string) string {
	dir := filepath.Dir(file)
	if abs, err := filepath.Abs(dir); err == nil {
		return abs
	}
	return dir
}

// String returns the position as file:line:column.
func (p Position) String() string {
	return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Column)
}
