package refs

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// yamlFile is a YAML stream with its documents decoded to nodes, whose
// line and column positions lead back to the bytes.
type yamlFile struct {
	data       []byte
	lineStarts []int
	docs       []*yaml.Node
}

func parseYAML(data []byte) (*yamlFile, error) {
	f := &yamlFile{data: data, lineStarts: []int{0}}
	for i, b := range data {
		if b == '\n' {
			f.lineStarts = append(f.lineStarts, i+1)
		}
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			return f, nil
		}
		if err != nil {
			return nil, fmt.Errorf("parse YAML: %w", err)
		}
		f.docs = append(f.docs, &doc)
	}
}

// offset converts a node's 1-based line and column, which yaml.v3 counts
// in characters, to a byte offset.
func (f *yamlFile) offset(n *yaml.Node) int {
	if n.Line < 1 || n.Line > len(f.lineStarts) {
		return -1
	}
	off := f.lineStarts[n.Line-1]
	for range n.Column - 1 {
		if off >= len(f.data) {
			return -1
		}
		_, size := utf8.DecodeRune(f.data[off:])
		off += size
	}
	return off
}

// valueSpan returns the byte range of a scalar's value, or why it cannot
// be edited in place.
func (f *yamlFile) valueSpan(n *yaml.Node) (start, end int, reason string) {
	start = f.offset(n)
	if start < 0 {
		return 0, 0, "position not found in the file"
	}
	// yaml.v3 places a node with an anchor (&name) or a tag (!!str) at
	// those, not at its value.
	for start < len(f.data) && (f.data[start] == '&' || f.data[start] == '!') {
		for start < len(f.data) && f.data[start] != ' ' && f.data[start] != '\t' {
			start++
		}
		for start < len(f.data) && (f.data[start] == ' ' || f.data[start] == '\t') {
			start++
		}
	}
	// Style is a bit set: a tagged value also has TaggedStyle.
	switch {
	case n.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0:
		return 0, 0, "written as a block scalar; write the reference on one line"
	case n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) != 0:
		start++
	}
	end = start + len(n.Value)
	if end > len(f.data) || string(f.data[start:end]) != n.Value {
		return 0, 0, "written with escapes or across lines; write the reference plainly on one line"
	}
	return start, end, ""
}

// isKubernetes reports whether a document of data has apiVersion and kind.
func isKubernetes(data []byte) bool {
	f, err := parseYAML(data)
	if err != nil {
		return false
	}
	for _, doc := range f.docs {
		if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
			continue
		}
		root := doc.Content[0]
		if mapValue(root, "apiVersion") != nil && mapValue(root, "kind") != nil {
			return true
		}
	}
	return false
}

// mapValue returns the scalar value under key in mapping m, or nil.
func mapValue(m *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key && m.Content[i+1].Kind == yaml.ScalarNode {
			return m.Content[i+1]
		}
	}
	return nil
}

// isImageKey reports whether values under key are image references.
// Kubernetes names the field image in every container list (containers,
// initContainers, ephemeralContainers) of every pod template. Helm charts
// and Backstage also use names such as dockerImage or sidecarImage.
func isImageKey(kind Kind, key string) bool {
	if kind == KindKubernetes {
		return key == "image"
	}
	return key == "image" || strings.HasSuffix(key, "Image")
}

// scanYAML finds image references in every document of a YAML stream.
func scanYAML(kind Kind, data []byte) ([]occurrence, error) {
	f, err := parseYAML(data)
	if err != nil {
		return nil, err
	}
	var occs []occurrence
	var walk func(n *yaml.Node)
	walk = func(n *yaml.Node) {
		if n.Kind == yaml.MappingNode {
			for i := 0; i+1 < len(n.Content); i += 2 {
				key, value := n.Content[i], n.Content[i+1]
				if !isImageKey(kind, key.Value) {
					continue
				}
				switch {
				case value.Kind == yaml.ScalarNode:
					if o, ok := f.scalarImage(kind, value); ok {
						occs = append(occs, o)
					}
				case value.Kind == yaml.MappingNode && kind != KindKubernetes:
					if o, ok := f.imageMap(key, value); ok {
						occs = append(occs, o)
					}
				}
			}
		}
		for _, c := range n.Content {
			walk(c)
		}
	}
	for _, doc := range f.docs {
		walk(doc)
	}
	return occs, nil
}

// dynamicValue returns why a value is only known when the file is used,
// or "" when it is not.
func dynamicValue(v string) string {
	switch {
	case strings.Contains(v, "{{"):
		return "a template; pin the value it renders"
	case strings.Contains(v, "$"):
		return "set from an environment variable; pin the image where the variable is set"
	}
	return ""
}

// scalarImage makes the occurrence for "image: REF".
func (f *yamlFile) scalarImage(kind Kind, n *yaml.Node) (occurrence, bool) {
	if n.Tag != "!!str" || n.Value == "" {
		return occurrence{}, false
	}
	o := occurrence{line: n.Line, ref: n.Value, unresolved: dynamicValue(n.Value)}
	if o.unresolved != "" {
		return o, true
	}
	// Backstage names many unrelated settings *Image, so only values
	// that parse as references count there.
	if _, err := Normalize(n.Value); err != nil && kind == KindBackstage {
		return occurrence{}, false
	}
	start, end, reason := f.valueSpan(n)
	if reason != "" {
		o.invalid = reason
		return o, true
	}
	o.edits = func(pinned Reference) []edit {
		return []edit{{start, end, pinned.String()}}
	}
	return o, true
}

// composeRef joins the fields of a Helm image map the way charts do.
func composeRef(registry, repository, tag, digest *yaml.Node) string {
	ref := repository.Value
	if registry != nil && registry.Value != "" {
		ref = registry.Value + "/" + ref
	}
	if tag != nil && tag.Value != "" {
		ref += ":" + tag.Value
	}
	if digest != nil && digest.Value != "" {
		ref += "@" + digest.Value
	}
	return ref
}

// imageMap makes the occurrence for a Helm image map,
// "image: {registry, repository, tag, digest}". The chart composes
// registry/repository:tag, or @digest when it supports digest.
func (f *yamlFile) imageMap(key, m *yaml.Node) (occurrence, bool) {
	repository := mapValue(m, "repository")
	if repository == nil || repository.Value == "" {
		return occurrence{}, false
	}
	registry, tag, digest := mapValue(m, "registry"), mapValue(m, "tag"), mapValue(m, "digest")
	ref := composeRef(registry, repository, tag, digest)
	o := occurrence{line: key.Line, ref: ref, unresolved: dynamicValue(ref)}
	switch {
	case o.unresolved != "":
		return o, true
	case (tag == nil || tag.Value == "") && (digest == nil || digest.Value == ""):
		o.unresolved = "no tag or digest, so the chart picks the tag (often its appVersion); set one"
		return o, true
	}
	// An empty plain value (registry:) has no bytes to edit, so it counts
	// as absent.
	editable := func(n *yaml.Node) bool {
		return n != nil && (n.Value != "" || n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) != 0)
	}
	type field struct {
		node *yaml.Node
		text func(Reference) string
	}
	var fields []field
	if editable(registry) {
		fields = append(fields,
			field{registry, func(p Reference) string { return p.Registry }},
			field{repository, func(p Reference) string { return p.Repository }})
	} else {
		fields = append(fields, field{repository, func(p Reference) string {
			return p.Registry + "/" + p.Repository
		}})
	}
	if editable(digest) {
		// The tag stays for charts that print it next to the digest.
		fields = append(fields, field{digest, func(p Reference) string { return p.Digest }})
	} else {
		// Without a digest field, tag@digest makes charts that compose
		// repository:tag pull by digest.
		fields = append(fields, field{tag, func(p Reference) string {
			t, _, _ := strings.Cut(tag.Value, "@")
			return t + "@" + p.Digest
		}})
	}
	type fieldSpan struct{ start, end int }
	spans := make([]fieldSpan, len(fields))
	for i, fl := range fields {
		start, end, reason := f.valueSpan(fl.node)
		if reason != "" {
			o.invalid = fmt.Sprintf("%s at line %d: %s", fl.node.Value, fl.node.Line, reason)
			return o, true
		}
		spans[i] = fieldSpan{start, end}
	}
	o.edits = func(pinned Reference) []edit {
		edits := make([]edit, len(fields))
		for i, fl := range fields {
			edits[i] = edit{spans[i].start, spans[i].end, fl.text(pinned)}
		}
		return edits
	}
	return o, true
}
