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

	"github.com/robfig/cron/v3"
	"gopkg.in/yaml.v3"

	"github.com/sluice-dev/sluice/manifests/internal/yamlnode"
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

// decoder walks a yaml.v3 node tree of one file and collects every problem
// with its position instead of stopping at the first.
type decoder struct {
	yamlnode.Decoder
	file string
	errs problems
}

func newDecoder(file string) *decoder {
	d := &decoder{file: file}
	d.Report = func(n *yaml.Node, field, message string) {
		d.errs.add(d.pos(n), field, "%s", message)
	}
	return d
}

func (d *decoder) pos(n *yaml.Node) Position {
	return Position{File: d.file, Line: n.Line, Column: n.Column}
}

// parse returns the manifest, filled in as far as it is valid, and its
// problems.
func parse(file string, data []byte) (*Manifest, problems) {
	d := newDecoder(file)
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
		if len(next.Content) == 1 && yamlnode.IsNull(next.Content[0]) && next.Content[0].Value == "" {
			continue
		}
		d.Errorf(&next, "", "more than one YAML document in the file: put each manifest "+
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
	f, ok := d.Mapping(root, "", "apiVersion", "kind", "metadata", "spec")
	if !ok {
		return
	}
	if v, ok := d.Required(f, root, "", "apiVersion", "set it to "+APIVersionV1); ok {
		if s, ok := d.String(v.Value, "apiVersion"); ok {
			m.APIVersion = s
			if s != APIVersionV1 {
				d.Errorf(v.Value, "apiVersion", "unsupported version %q: supported versions are %s",
					s, APIVersionV1)
			}
		}
	}
	if v, ok := d.Required(f, root, "", "kind", "set it to "+KindManifest); ok {
		if s, ok := d.String(v.Value, "kind"); ok {
			m.Kind = s
			if s != KindManifest {
				d.Errorf(v.Value, "kind", "unsupported kind %q: expected %s", s, KindManifest)
			}
		}
	}
	if v, ok := d.Required(f, root, "", "metadata", "add name, owner and dataClass"); ok {
		d.metadata(v, m)
	}
	if v, ok := d.Required(f, root, "", "spec", "add npm.packages, npm.lockfiles or images"); ok {
		d.spec(v, &m.Spec)
	}
}

func (d *decoder) metadata(v yamlnode.Member, m *Manifest) {
	md := &m.Metadata
	f, ok := d.Mapping(v.Value, "metadata", "name", "owner", "dataClass", "labels")
	if !ok {
		return
	}
	if name, ok := d.Required(f, v.Key, "metadata", "name", "name the manifest"); ok {
		md.Name, _ = d.String(name.Value, "metadata.name")
		m.namePos = d.pos(name.Value)
		d.checkManifestName(name.Value, md.Name)
	}
	if owner, ok := d.Required(f, v.Key, "metadata", "owner",
		"name the team answerable for what this manifest brings in"); ok {
		md.Owner = d.nonEmpty(owner.Value, "metadata.owner")
	}
	if class, ok := d.Required(f, v.Key, "metadata", "dataClass",
		"give the data class of the requesting team's system, such as internal"); ok {
		md.DataClass = d.nonEmpty(class.Value, "metadata.dataClass")
	}
	if labels, ok := f.Get("labels"); ok {
		md.Labels = d.labels(labels.Value)
	}
}

func (d *decoder) checkManifestName(n *yaml.Node, name string) {
	switch {
	case name == "":
		if yamlnode.Resolve(n).ShortTag() == "!!str" {
			d.Errorf(n, "metadata.name", "empty name: name the manifest")
		}
	case len(name) > 63:
		d.Errorf(n, "metadata.name", "name %q is %d characters long: use at most 63",
			name, len(name))
	case !manifestName.MatchString(name):
		d.Errorf(n, "metadata.name", "invalid name %q: use lowercase letters, digits and '-', "+
			"starting and ending with a letter or digit", name)
	}
}

// nonEmpty returns the string value of n and reports it when it is blank.
func (d *decoder) nonEmpty(n *yaml.Node, field string) string {
	s, ok := d.String(n, field)
	if ok && strings.TrimSpace(s) == "" {
		d.Errorf(n, field, "must not be blank")
	}
	return s
}

func (d *decoder) labels(n *yaml.Node) map[string]string {
	n = yamlnode.Resolve(n)
	if n.Kind != yaml.MappingNode {
		d.Errorf(n, "metadata.labels", "must be a mapping, not %s", yamlnode.Describe(n))
		return nil
	}
	labels := make(map[string]string, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		key := yamlnode.Resolve(n.Content[i])
		name, ok := d.String(key, "metadata.labels")
		if !ok {
			continue
		}
		field := "metadata.labels." + name
		if name == "" {
			d.Errorf(key, field, "empty label name")
			continue
		}
		if _, dup := labels[name]; dup {
			d.Errorf(key, field, "label set twice: remove one")
			continue
		}
		if value, ok := d.String(n.Content[i+1], field); ok {
			labels[name] = value
		}
	}
	return labels
}

func (d *decoder) spec(v yamlnode.Member, spec *Spec) {
	f, ok := d.Mapping(v.Value, "spec", "npm", "images", "schedule")
	if !ok {
		return
	}
	if sched, ok := f.Get("schedule"); ok {
		spec.Schedule = d.schedule(sched.Value)
	}
	npm, hasNPM := f.Get("npm")
	images, hasImages := f.Get("images")
	if !hasNPM && !hasImages {
		if !hasField(d.errs, "spec") {
			d.Errorf(v.Key, "spec", "nothing to ingest: add npm.packages, npm.lockfiles or images")
		}
		return
	}
	if hasNPM {
		spec.NPM = d.npm(npm)
	}
	if hasImages {
		spec.Images = d.images(images.Value)
	}
}

// schedule returns the cron expression of spec.schedule and reports it
// when robfig/cron's standard parser rejects it.
func (d *decoder) schedule(n *yaml.Node) string {
	s, ok := d.String(n, "spec.schedule")
	if !ok {
		return ""
	}
	if _, err := cron.ParseStandard(s); err != nil {
		d.Errorf(n, "spec.schedule", "invalid cron schedule %q: %v; use five fields such as "+
			"\"0 2 * * *\" or a descriptor such as @daily", s, err)
	}
	return s
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
