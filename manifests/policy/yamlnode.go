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
	"github.com/sluice-dev/sluice/manifests/internal/yamlnode"
)

// decoder walks the yaml.v3 node tree of one policy file and collects every
// problem with its position instead of stopping at the first.
type decoder struct {
	yamlnode.Decoder
	file string
	errs []*manifests.Error
}

func newDecoder(file string) *decoder {
	d := &decoder{file: file}
	d.Report = func(n *yaml.Node, field, message string) {
		d.errs = append(d.errs, &manifests.Error{File: d.file, Line: n.Line, Column: n.Column,
			Field: field, Message: message})
	}
	return d
}

func (d *decoder) pos(n *yaml.Node) manifests.Position {
	return manifests.Position{File: d.file, Line: n.Line, Column: n.Column}
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
	case len(next.Content) == 1 && yamlnode.IsNull(next.Content[0]) && next.Content[0].Value == "":
		// A trailing "---" yields an empty document, which is harmless.
	default:
		d.Errorf(&next, "", "more than one YAML document in the file: keep one policy per file")
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

// oneOf returns the string value of n when it is one of allowed.
func (d *decoder) oneOf(n *yaml.Node, field string, allowed []string) (string, bool) {
	s, ok := d.String(n, field)
	if !ok {
		return "", false
	}
	if !slices.Contains(allowed, s) {
		d.Errorf(n, field, "invalid value %q: use one of %s", s, strings.Join(allowed, ", "))
		return "", false
	}
	return s, true
}

// stringList returns a list of strings, accepting a single string as a
// list of one. With allowed set, every item must be one of them; with
// patterns set, every item must be a valid path.Match pattern.
func (d *decoder) stringList(n *yaml.Node, field string, allowed []string, patterns bool) StringList {
	n = yamlnode.Resolve(n)
	items := []*yaml.Node{n}
	if n.Kind == yaml.SequenceNode {
		items = n.Content
		if len(items) == 0 {
			d.Errorf(n, field, "empty list: list at least one value or leave the field out")
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
		} else if s, ok = d.String(item, itemField); ok && patterns {
			ok = d.checkPattern(item, itemField, s)
		} else if ok && strings.TrimSpace(s) == "" {
			d.Errorf(item, itemField, "must not be blank")
			ok = false
		}
		if ok {
			out = append(out, s)
		}
	}
	return out
}

// number returns a number within [lo, hi].
func (d *decoder) number(n *yaml.Node, field string, lo, hi float64) (float64, bool) {
	n = yamlnode.Resolve(n)
	var f float64
	tag := n.ShortTag()
	if n.Kind != yaml.ScalarNode || (tag != "!!int" && tag != "!!float") || n.Decode(&f) != nil {
		d.Errorf(n, field, "must be a number, not %s", yamlnode.Describe(n))
		return 0, false
	}
	if f < lo || f > hi {
		d.Errorf(n, field, "must be between %g and %g, not %g", lo, hi, f)
		return 0, false
	}
	return f, true
}

// duration returns a positive Go duration such as 72h.
func (d *decoder) duration(n *yaml.Node, field string) (Duration, bool) {
	s, ok := d.String(n, field)
	if !ok {
		return 0, false
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		d.Errorf(n, field, "invalid duration %q: write hours, minutes or seconds, such as "+
			"168h for seven days", s)
		return 0, false
	}
	if v <= 0 {
		d.Errorf(n, field, "must be longer than zero, not %s", s)
		return 0, false
	}
	return Duration(v), true
}
