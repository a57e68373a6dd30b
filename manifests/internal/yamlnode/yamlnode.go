// Package yamlnode reads typed values from a yaml.v3 node tree for the
// manifest and policy parsers. It passes every problem to the caller with
// the node it is about and the path of the field, so each error can name
// its line and column. Decoding goes on after a problem, so a file reports
// all of them at once.
package yamlnode

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// Decoder reads the values of one YAML file and reports every problem
// instead of stopping at the first.
type Decoder struct {
	// Report receives each problem: the node it is about, the path of the
	// field, such as spec.npm.packages[2].version, and the message. It must
	// be set before the first read.
	Report func(n *yaml.Node, field, message string)
}

// Member is one key and value of a YAML mapping.
type Member struct {
	Key, Value *yaml.Node
}

// Fields holds the known keys of a YAML mapping.
type Fields map[string]Member

// Get returns the member for key unless it is absent or its value is null,
// which manifests and policies treat alike.
func (f Fields) Get(key string) (Member, bool) {
	m, ok := f[key]
	if !ok || IsNull(m.Value) {
		return Member{}, false
	}
	return m, true
}

// Keys returns the keys of a mapping in the order the file lists them.
func (f Fields) Keys() []string {
	out := make([]string, 0, len(f))
	for k := range f {
		out = append(out, k)
	}
	slices.SortFunc(out, func(a, b string) int {
		return cmp.Or(cmp.Compare(f[a].Key.Line, f[b].Key.Line),
			cmp.Compare(f[a].Key.Column, f[b].Key.Column))
	})
	return out
}

// Errorf reports a problem at node n and field.
func (d *Decoder) Errorf(n *yaml.Node, field, format string, args ...any) {
	d.Report(n, field, fmt.Sprintf(format, args...))
}

// Mapping returns the members of the mapping node n by key. It reports a
// node that is not a mapping, keys outside known and keys given twice.
// With no known keys, every key is accepted. field is the path of n, used
// in the messages.
func (d *Decoder) Mapping(n *yaml.Node, field string, known ...string) (Fields, bool) {
	n = Resolve(n)
	if n.Kind != yaml.MappingNode {
		d.Errorf(n, field, "must be a mapping, not %s", Describe(n))
		return nil, false
	}
	f := make(Fields)
	for i := 0; i+1 < len(n.Content); i += 2 {
		key, value := Resolve(n.Content[i]), n.Content[i+1]
		if key.Kind != yaml.ScalarNode {
			d.Errorf(key, field, "mapping keys must be strings, not %s", Describe(key))
			continue
		}
		if known != nil && !slices.Contains(known, key.Value) {
			d.Errorf(key, field, "unknown field %q: %s", key.Value, suggest(key.Value, known))
			continue
		}
		if first, ok := f[key.Value]; ok {
			d.Errorf(key, JoinField(field, key.Value),
				"field set twice, first on line %d: remove one", first.Key.Line)
			continue
		}
		f[key.Value] = Member{Key: key, Value: value}
	}
	return f, true
}

// Required returns the member key of f or reports it missing. A missing
// field has no position of its own, so it is reported at parent, the key
// of the enclosing mapping or the document root, unless the key is there
// with a null value.
func (d *Decoder) Required(f Fields, parent *yaml.Node, field, key, hint string) (Member, bool) {
	if v, ok := f.Get(key); ok {
		return v, true
	}
	at := parent
	if v, ok := f[key]; ok {
		at = v.Key
	}
	d.Errorf(at, JoinField(field, key), "missing: %s", hint)
	return Member{}, false
}

// Sequence returns the items of the sequence node n.
func (d *Decoder) Sequence(n *yaml.Node, field string) ([]*yaml.Node, bool) {
	n = Resolve(n)
	if n.Kind != yaml.SequenceNode {
		d.Errorf(n, field, "must be a list, not %s", Describe(n))
		return nil, false
	}
	return n.Content, true
}

// String returns the string value of n and reports any other kind of value,
// suggesting quotes for numbers and booleans that were meant as text.
func (d *Decoder) String(n *yaml.Node, field string) (string, bool) {
	n = Resolve(n)
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!str" {
		return n.Value, true
	}
	if n.Kind == yaml.ScalarNode && !IsNull(n) {
		d.Errorf(n, field, "must be a string, not %s: quote it, as in \"%s\"", Describe(n), n.Value)
		return "", false
	}
	d.Errorf(n, field, "must be a string, not %s", Describe(n))
	return "", false
}

// Boolean returns the value of n when it is true or false.
func (d *Decoder) Boolean(n *yaml.Node, field string) (bool, bool) {
	n = Resolve(n)
	var b bool
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!bool" || n.Decode(&b) != nil {
		d.Errorf(n, field, "must be true or false, not %s", Describe(n))
		return false, false
	}
	return b, true
}

// Integer returns the value of n when it is a whole number that fits an int.
func (d *Decoder) Integer(n *yaml.Node, field string) (int, bool) {
	n = Resolve(n)
	var i int
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" || n.Decode(&i) != nil {
		d.Errorf(n, field, "must be a whole number, not %s", Describe(n))
		return 0, false
	}
	return i, true
}

// Resolve follows YAML aliases to the node they refer to.
func Resolve(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

// IsNull reports whether n, after aliases, is a null scalar.
func IsNull(n *yaml.Node) bool {
	n = Resolve(n)
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// Describe names the kind of value n holds for error messages.
func Describe(n *yaml.Node) string {
	n = Resolve(n)
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

// JoinField appends key to the field path parent.
func JoinField(parent, key string) string {
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
