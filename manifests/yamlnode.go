package manifests

import (
	"fmt"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// decoder walks a yaml.v3 node tree of one file and collects every problem
// with its position instead of stopping at the first.
type decoder struct {
	file string
	errs problems
}

// member is one key and value of a YAML mapping.
type member struct {
	key, value *yaml.Node
}

// fields holds the known keys of a YAML mapping.
type fields map[string]member

// get returns the member for key unless it is absent or its value is null,
// which manifests treat alike.
func (f fields) get(key string) (member, bool) {
	m, ok := f[key]
	if !ok || isNull(m.value) {
		return member{}, false
	}
	return m, true
}

func (d *decoder) pos(n *yaml.Node) Position {
	return Position{File: d.file, Line: n.Line, Column: n.Column}
}

func (d *decoder) errorf(n *yaml.Node, field, format string, args ...any) {
	d.errs.add(d.pos(n), field, format, args...)
}

// mapping returns the members of the mapping node n by key. It reports a
// node that is not a mapping, keys outside known and keys given twice.
// field is the path of n, used in the messages.
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
		if !slices.Contains(known, key.Value) {
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

// sequence returns the items of the sequence node n.
func (d *decoder) sequence(n *yaml.Node, field string) ([]*yaml.Node, bool) {
	n = resolve(n)
	if n.Kind != yaml.SequenceNode {
		d.errorf(n, field, "must be a list, not %s", describe(n))
		return nil, false
	}
	return n.Content, true
}

// str returns the string value of n and reports any other kind of value,
// suggesting quotes for numbers and booleans that were meant as text.
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

// joinField appends key to the field path parent.
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
