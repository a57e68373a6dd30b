package lockfile

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// parseYAMLDocuments parses a YAML lockfile and returns the top-level
// mapping of each of its documents, in file order.
func (p *parser) parseYAMLDocuments() ([]*yaml.Node, error) {
	var roots []*yaml.Node
	decoder := yaml.NewDecoder(bytes.NewReader(p.data))
	for {
		var doc yaml.Node
		err := decoder.Decode(&doc)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, p.errorf(0, "invalid YAML: %v", strings.TrimPrefix(err.Error(), "yaml: "))
		}
		if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 ||
			doc.Content[0].Kind != yaml.MappingNode {
			return nil, p.errorf(doc.Line, "expected a YAML mapping at the top level")
		}
		roots = append(roots, doc.Content[0])
	}
	if len(roots) == 0 {
		return nil, p.errorf(0, "empty lockfile")
	}
	return roots, nil
}

// mapValue returns the value of key in mapping m, or nil.
func mapValue(m *yaml.Node, key string) *yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

// scalarValue returns the value of key in mapping m when it is a scalar.
func (p *parser) scalarValue(m *yaml.Node, key string) (*yaml.Node, error) {
	v := mapValue(m, key)
	if v == nil {
		return nil, nil
	}
	if v.Kind != yaml.ScalarNode {
		return nil, p.errorf(v.Line, "%s is not a single value", key)
	}
	return v, nil
}

// yamlSpan locates the text of scalar node n in the file, so that Rewrite
// can replace it. flow is true inside a {...} mapping, where a plain
// scalar ends at ',' or '}'. Values that span lines, or whose text decodes
// to something other than n.Value (escapes other than JSON's), are
// rejected: Sluice could not rewrite them without changing other bytes.
func (p *parser) yamlSpan(n *yaml.Node, flow bool) (span, error) {
	start, ok := p.offset(n.Line, n.Column)
	if !ok {
		return span{}, p.errorf(n.Line, "value %q: column %d is past the end of the line",
			n.Value, n.Column)
	}
	lineEnd := len(p.data)
	if i := bytes.IndexByte(p.data[start:], '\n'); i >= 0 {
		lineEnd = start + i
	}
	text := string(bytes.TrimSuffix(p.data[start:lineEnd], []byte("\r")))
	s := span{entry: -1, start: start, value: n.Value}
	var value string
	switch n.Style {
	case yaml.DoubleQuotedStyle:
		raw, ok := closeQuote(text, '"')
		if !ok || json.Unmarshal([]byte(raw), &value) != nil {
			return span{}, p.errorf(n.Line, "quoted value %q spans lines or uses YAML-only "+
				"escapes; write it on one line as a JSON string", n.Value)
		}
		s.raw, s.quoted = raw, true
	case yaml.SingleQuotedStyle:
		raw, ok := closeQuote(text, '\'')
		if !ok {
			return span{}, p.errorf(n.Line, "quoted value %q spans lines; write it on one line",
				n.Value)
		}
		value = strings.ReplaceAll(raw[1:len(raw)-1], "''", "'")
		s.raw, s.quoted, s.single = raw, true, true
	case 0:
		s.raw = plainText(text, flow)
		value = s.raw
	default:
		return span{}, p.errorf(n.Line, "value %q is a block scalar; write it on one line", n.Value)
	}
	if value != n.Value {
		return span{}, p.errorf(n.Line, "value %q spans lines; write it on one line", n.Value)
	}
	s.end = start + len(s.raw)
	return s, nil
}

// offset returns the byte offset of a 1-based line and column, where
// yaml.v3 counts columns in characters.
func (p *parser) offset(line, column int) (int, bool) {
	start := 0
	if line > 1 {
		if line-2 >= len(p.lines) {
			return 0, false
		}
		start = p.lines[line-2] + 1
	}
	for i := 1; i < column; i++ {
		if start >= len(p.data) || p.data[start] == '\n' {
			return 0, false
		}
		_, size := utf8.DecodeRune(p.data[start:])
		start += size
	}
	return start, start <= len(p.data)
}

// closeQuote returns the quoted string at the start of text, quotes
// included, or false when it does not end on this line.
func closeQuote(text string, quote byte) (string, bool) {
	for i := 1; i < len(text); i++ {
		switch {
		case quote == '"' && text[i] == '\\':
			i++
		case text[i] == quote && quote == '\'' && i+1 < len(text) && text[i+1] == '\'':
			i++
		case text[i] == quote:
			return text[:i+1], true
		}
	}
	return "", false
}

// plainText returns the plain scalar at the start of text: up to a comment
// or the end of the line, and in flow context up to ',', '}' or ']'.
func plainText(text string, flow bool) string {
	end := len(text)
	if i := strings.Index(text, " #"); i >= 0 {
		end = i
	}
	if flow {
		if i := strings.IndexAny(text[:end], ",}]"); i >= 0 {
			end = i
		}
	}
	return strings.TrimRight(text[:end], " \t")
}

// yamlNeedsQuotes reports whether s must be quoted to stay one plain YAML
// scalar, in flow context when flow is true.
func yamlNeedsQuotes(s string, flow bool) bool {
	if s == "" || strings.ContainsAny(s[:1], "!&*-?:,[]{}#|>@`\"'% \t") {
		return true
	}
	if strings.Contains(s, ": ") || strings.Contains(s, " #") || strings.HasSuffix(s, ":") ||
		strings.ContainsAny(s, "\n\r\t") || strings.HasSuffix(s, " ") {
		return true
	}
	return flow && strings.ContainsAny(s, ",[]{}")
}

// quoteSingle quotes s as a single-quoted YAML scalar.
func quoteSingle(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}
