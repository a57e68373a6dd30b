package policy

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/sluice-dev/sluice/manifests"
)

// decoder walks the yaml.v3 node tree of one policy file and collects every
// problem with its position instead of stopping at the first.
type decoder struct {
	file string
	errs []*manifests.Error
}

// member is one key and value of a YAML mapping.
type member struct {
	key, value *yaml.Node
}

// fields holds the known keys of a YAML mapping.
type fields map[string]member

// get returns the member for key unless it is absent or null, which
// policies treat alike.
func (f fields) get(key string) (member, bool) {
	m, ok := f[key]
	if !ok || isNull(m.value) {
		return member{}, false
	}
	return m, true
}

func (d *decoder) pos(n *yaml.Node) manifests.Position {
	return manifests.Position{File: d.file, Line: n.Line, Column: n.Column}
}

func (d *decoder) errorf(n *yaml.Node, field, format string, args ...any) {
	d.errs = append(d.errs, &manifests.Error{File: d.file, Line: n.Line, Column: n.Column,
		Field: field, Message: fmt.Sprintf(format, args...)})
}

// join sorts the problems by position and joins them, or returns nil.
func (d *decoder) join() error {
	if len(d.errs) == 0 {
		return nil
	}
	sorted := slices.Clone(d.errs)
	slices.SortStableFunc(sorted, func(a, b *manifests.Error) int {
		return cmp.Or(cmp.Compare(a.Line, b.Line), cmp.Compare(a.Column, b.Column))
	})
	errs := make([]error, len(sorted))
	for i, e := range sorted {
		errs[i] = e
	}
	return errors.Join(errs...)
}

// yamlErrorLine extracts the line from yaml.v3 syntax errors, which have
// the form "yaml: line 3: message".
var yamlErrorLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// document returns the top-level node of the only YAML document in data.
func (d *decoder) document(data []byte) (*yaml.Node, bool) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			d.errs = append(d.errs, &manifests.Error{File: d.file,
				Message: "empty policy: expected apiVersion, kind, metadata, tiers and default"})
		} else {
			d.yamlError(err)
		}
		return nil, false
	}
	var next yaml.Node
	err := dec.Decode(&next)
	switch {
	case errors.Is(err, io.EOF):
	case err != nil:
		d.yamlError(err)
		return nil, false
	case len(next.Content) == 1 && isNull(next.Content[0]) && next.Content[0].Value == "":
		// A trailing "---" yields an empty document, which is harmless.
	default:
		d.errorf(&next, "", "more than one YAML document in the file: keep one policy per file")
		return nil, false
	}
	return doc.Content[0], true
}

func (d *decoder) yamlError(err error) {
	e := &manifests.Error{File: d.file, Message: "invalid YAML: " + strings.TrimPrefix(err.Error(), "yaml: ")}
	if m := yamlErrorLine.FindStringSubmatch(err.Error()); m != nil {
		e.Line, _ = strconv.Atoi(m[1])
		e.Message = "invalid YAML: " + m[2]
		// yaml.v3 v3.0.1 prints 0-based lines for the parser errors that
		// name the start of the enclosing block.
		if strings.HasPrefix(m[2], "did not find expected ") {
			e.Line++
		}
	}
	d.errs = append(d.errs, e)
}

// mapping returns the members of the mapping node n by key. It reports a
// node that is not a mapping, keys outside known and keys given twice.
func (d *decoder) mapping(n *yaml.Node, field string, known ...string) (fields, bool) {
	n = resolve(n)
	if n.Kind != yaml.MappingNode {
		d.errorf(n, field, "must be a mapping, not %s", describe(n))
		return nil, false
	}
	f := make(fields)
	for i := 0; i+1 < len(n.Content); i += 2 {
		key, value := resolve(n.Content[i]), n.Content[i+1]
		if key.Kind != yaml.ScalarNode {
			d.errorf(key, field, "mapping keys must be strings, not %s", describe(key))
			continue
		}
		if known != nil && !slices.Contains(known, key.Value) {
			d.errorf(key, field, "unknown field %q: %s", key.Value, suggest(key.Value, known))
			continue
		}
		if first, ok := f[key.Value]; ok {
			d.errorf(key, joinField(field, key.Value),
				"field set twice, first on line %d: remove one", first.key.Line)
			continue
		}
		f[key.Value] = member{key: key, value: value}
	}
	return f, true
}

// keys returns the keys of a mapping in the order the file lists them.
func (f fields) keys() []string {
	out := make([]string, 0, len(f))
	for k := range f {
		out = append(out, k)
	}
	slices.SortFunc(out, func(a, b string) int {
		return cmp.Or(cmp.Compare(f[a].key.Line, f[b].key.Line),
			cmp.Compare(f[a].key.Column, f[b].key.Column))
	})
	return out
}

// required returns the member key of f or reports it missing at parent.
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

func (d *decoder) sequence(n *yaml.Node, field string) ([]*yaml.Node, bool) {
	n = resolve(n)
	if n.Kind != yaml.SequenceNode {
		d.errorf(n, field, "must be a list, not %s", describe(n))
		return nil, false
	}
	return n.Content, true
}

// str returns the string value of n and reports any other kind of value.
func (d *decoder) str(n *yaml.Node, field string) (string, bool) {
	n = resolve(n)
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!str" {
		return n.Value, true
	}
	if n.Kind == yaml.ScalarNode && !isNull(n) {
		d.errorf(n, field, "must be a string, not %s: quote it, as in \"%s\"", describe(n), n.Value)
		return "", false
	}
	d.errorf(n, field, "must be a string, not %s", describe(n))
	return "", false
}

// oneOf returns the string value of n when it is one of allowed.
func (d *decoder) oneOf(n *yaml.Node, field string, allowed []string) (string, bool) {
	s, ok := d.str(n, field)
	if !ok {
		return "", false
	}
	if !slices.Contains(allowed, s) {
		d.errorf(n, field, "invalid value %q: use one of %s", s, strings.Join(allowed, ", "))
		return "", false
	}
	return s, true
}

// stringList returns a list of strings, accepting a single string as a
// list of one. With allowed set, every item must be one of them; with
// patterns set, every item must be a valid path.Match pattern.
func (d *decoder) stringList(n *yaml.Node, field string, allowed []string, patterns bool) StringList {
	n = resolve(n)
	items := []*yaml.Node{n}
	if n.Kind == yaml.SequenceNode {
		items = n.Content
		if len(items) == 0 {
			d.errorf(n, field, "empty list: list at least one value or leave the field out")
			return nil
		}
	}
	var out StringList
	for i, item := range items {
		itemField := field
		if n.Kind == yaml.SequenceNode {
			itemField = fmt.Sprintf("%s[%d]", field, i)
		}
		var s string
		var ok bool
		if allowed != nil {
			s, ok = d.oneOf(item, itemField, allowed)
		} else if s, ok = d.str(item, itemField); ok && patterns {
			ok = d.checkPattern(item, itemField, s)
		} else if ok && strings.TrimSpace(s) == "" {
			d.errorf(item, itemField, "must not be blank")
			ok = false
		}
		if ok {
			out = append(out, s)
		}
	}
	return out
}

func (d *decoder) boolean(n *yaml.Node, field string) (bool, bool) {
	n = resolve(n)
	var b bool
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!bool" || n.Decode(&b) != nil {
		d.errorf(n, field, "must be true or false, not %s", describe(n))
		return false, false
	}
	return b, true
}

func (d *decoder) integer(n *yaml.Node, field string) (int, bool) {
	n = resolve(n)
	var i int
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" || n.Decode(&i) != nil {
		d.errorf(n, field, "must be a whole number, not %s", describe(n))
		return 0, false
	}
	return i, true
}

// number returns a number within [lo, hi].
func (d *decoder) number(n *yaml.Node, field string, lo, hi float64) (float64, bool) {
	n = resolve(n)
	var f float64
	tag := n.ShortTag()
	if n.Kind != yaml.ScalarNode || (tag != "!!int" && tag != "!!float") || n.Decode(&f) != nil {
		d.errorf(n, field, "must be a number, not %s", describe(n))
		return 0, false
	}
	if f < lo || f > hi {
		d.errorf(n, field, "must be between %g and %g, not %g", lo, hi, f)
		return 0, false
	}
	return f, true
}

// duration returns a positive Go duration such as 72h.
func (d *decoder) duration(n *yaml.Node, field string) (Duration, bool) {
	s, ok := d.str(n, field)
	if !ok {
		return 0, false
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		d.errorf(n, field, "invalid duration %q: write hours, minutes or seconds, such as "+
			"168h for seven days", s)
		return 0, false
	}
	if v <= 0 {
		d.errorf(n, field, "must be longer than zero, not %s", s)
		return 0, false
	}
	return Duration(v), true
}

// resolve follows YAML aliases to the node they refer to.
func resolve(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	n = resolve(n)
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// describe names the kind of value n holds for error messages.
func describe(n *yaml.Node) string {
	n = resolve(n)
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!null":
			return "null"
		case "!!bool":
			return "the boolean " + n.Value
		case "!!int", "!!float":
			return "the number " + n.Value
		case "!!str":
			return fmt.Sprintf("the string %q", n.Value)
		}
		return fmt.Sprintf("a %s value", n.ShortTag())
	}
	return "an empty document"
}

func joinField(parent, key string) string {
	if parent == "" {
		return key
	}
	return parent + "." + key
}

// suggest names the known field closest to an unknown one, or lists them
// all when none is close.
func suggest(unknown string, known []string) string {
	best, bestDistance := "", 3
	for _, k := range known {
		if dist := editDistance(strings.ToLower(unknown), strings.ToLower(k)); dist < bestDistance {
			best, bestDistance = k, dist
		}
	}
	if best != "" {
		return fmt.Sprintf("did you mean %q?", best)
	}
	return "expected one of " + strings.Join(known, ", ")
}

// editDistance returns the Levenshtein distance between a and b in bytes.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	curr := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		curr[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			curr[j] = min(prev[j]+1, curr[j-1]+1, prev[j-1]+cost)
		}
		prev, curr = curr, prev
	}
	return prev[len(b)]
}
