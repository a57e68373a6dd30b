package lockfile

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// yarnEntry is a yarn.lock entry while its fields are read.
type yarnEntry struct {
	entry    Entry
	resolved *span // entry is -1 until the entry is added
	seen     map[string]int
}

// parseYarn reads a yarn.lock v1 file, whose syntax resembles YAML. An
// entry starts with an unindented line of comma-separated selectors ending
// in ':'. Its fields follow, indented by two spaces, such as
// `resolved "https://…#sha1"`, and `dependencies:` opens a block of lines
// indented by four. Strings are either bare words or JSON-quoted.
func (p *parser) parseYarn() error {
	var cur *yarnEntry
	inBlock := false
	offset := 0
	if bytes.HasPrefix(p.data, []byte("\xef\xbb\xbf")) {
		offset = 3
	}
	for lineNo := 1; offset < len(p.data); lineNo++ {
		lineEnd := len(p.data)
		if i := bytes.IndexByte(p.data[offset:], '\n'); i >= 0 {
			lineEnd = offset + i
		}
		line := bytes.TrimSuffix(p.data[offset:lineEnd], []byte("\r"))
		lineStart := offset
		offset = lineEnd + 1

		text := bytes.TrimLeft(line, " ")
		if len(text) == 0 || text[0] == '#' {
			continue
		}
		indent := len(line) - len(text)
		switch {
		case text[0] == '\t':
			return p.errorf(lineNo, "tab in indentation: yarn.lock indents with spaces")
		case indent%2 != 0:
			return p.errorf(lineNo, "indentation of %d spaces: yarn.lock indents by two", indent)
		case indent == 0 && isConflictMarker(text):
			return p.errorf(lineNo, "unresolved merge conflict: resolve it, or run yarn "+
				"install, which merges yarn.lock conflicts")
		case indent == 0:
			if err := p.finishYarnEntry(cur); err != nil {
				return err
			}
			selectors, err := parseSelectors(text)
			if err != nil {
				return p.errorf(lineNo, "%v", err)
			}
			cur = &yarnEntry{
				entry: Entry{Selectors: selectors, Line: lineNo},
				seen:  make(map[string]int),
			}
			inBlock = false
		case indent == 2:
			if cur == nil {
				return p.errorf(lineNo, "indented line before the first entry")
			}
			block, err := p.yarnField(cur, text, lineStart+indent, lineNo)
			if err != nil {
				return err
			}
			inBlock = block
		case !inBlock:
			return p.errorf(lineNo, "unexpected indentation of %d spaces outside a block such "+
				"as dependencies:", indent)
		}
	}
	return p.finishYarnEntry(cur)
}

// yarnField reads one field line of an entry; start is the offset of text
// in the file. It returns true when the line opens a block.
func (p *parser) yarnField(cur *yarnEntry, text []byte, start, lineNo int) (bool, error) {
	key, n, err := yarnToken(text, true)
	if err != nil {
		return false, p.errorf(lineNo, "%v", err)
	}

	afterKey := text[n:]
	if string(bytes.TrimRight(afterKey, " ")) == ":" {
		return true, nil
	}
	if first, dup := cur.seen[key]; dup {
		return false, p.errorf(lineNo, "field %s set twice in one entry, first on line %d",
			key, first)
	}
	cur.seen[key] = lineNo

	valueOffset := n + len(afterKey) - len(bytes.TrimLeft(afterKey, " "))
	valueText := text[valueOffset:]
	if valueOffset == n || len(bytes.TrimRight(valueText, " ")) == 0 {
		return false, p.errorf(lineNo, "field %s has no value: expected `%s \"value\"` or "+
			"`%s:` opening a block", key, key, key)
	}
	value, m, err := yarnToken(valueText, false)
	if err != nil {
		return false, p.errorf(lineNo, "%v", err)
	}
	if len(bytes.TrimSpace(valueText[m:])) > 0 {
		return false, p.errorf(lineNo, "unexpected text after the value of %s", key)
	}

	switch key {
	case "version":
		cur.entry.Version = value
	case "integrity":
		cur.entry.Integrity = value
	case "resolved":
		valueStart := start + valueOffset
		cur.resolved = &span{
			entry:  -1,
			start:  valueStart,
			end:    valueStart + m,
			raw:    string(valueText[:m]),
			value:  value,
			quoted: valueText[0] == '"',
		}
		cur.entry.Line = lineNo
	}
	return false, nil
}

// finishYarnEntry derives name, alias and source of an entry from its
// first selector and adds it.
func (p *parser) finishYarnEntry(cur *yarnEntry) error {
	if cur == nil {
		return nil
	}
	e := cur.entry
	name, spec := splitSpec(e.Selectors[0])
	if realName, realSpec, ok := unalias(spec); ok {
		name, spec = realName, realSpec
	}
	e.Name = name
	for _, selector := range e.Selectors {
		alias, aliasSpec := splitSpec(selector)
		if _, _, ok := unalias(aliasSpec); ok && alias != name {
			e.Alias = alias
			break
		}
	}
	if name == "" {
		return p.errorf(e.Line, "entry %q has no package name", e.Selectors[0])
	}
	value := ""
	if cur.resolved != nil {
		value = cur.resolved.value
	}
	e.Source = yarnSource(spec, value, e.Version)
	e.Resolved = value
	if e.Source != SourceGit {
		e.Resolved, e.ResolvedHash, _ = strings.Cut(value, "#")
	}
	p.lf.Entries = append(p.lf.Entries, e)
	if cur.resolved != nil {
		cur.resolved.entry = len(p.lf.Entries) - 1
		p.lf.spans = append(p.lf.spans, *cur.resolved)
	}
	return nil
}

// yarnSource classifies a yarn.lock entry by the spec of its selector, and
// for plain version ranges and registry tarball URLs by the resolved URL.
func yarnSource(spec, resolved, version string) Source {
	switch {
	case strings.HasPrefix(spec, "file:"):
		return SourceFile
	case strings.HasPrefix(spec, "link:"):
		return SourceLink
	case strings.HasPrefix(spec, "workspace:"):
		return SourceWorkspace
	case isHTTP(spec) && !isRegistryTarball(spec):
		return SourceTarball
	case isGit(spec):
		return SourceGit
	}
	url, _, _ := strings.Cut(resolved, "#")
	if isGit(resolved) {
		url = resolved
	}
	return sourceOf(url, version)
}

// parseSelectors splits the key line of an entry, without leading spaces,
// into its selectors.
func parseSelectors(text []byte) ([]string, error) {
	if text[len(text)-1] != ':' {
		return nil, errors.New("entry line does not end with ':'")
	}
	text = text[:len(text)-1]
	var selectors []string
	for {
		text = bytes.TrimLeft(text, " ")
		if len(text) == 0 {
			return nil, errors.New("empty selector in the entry line")
		}
		var selector string
		if text[0] == '"' {
			s, n, err := yarnToken(text, false)
			if err != nil {
				return nil, err
			}
			selector, text = s, text[n:]
		} else {
			end := bytes.IndexByte(text, ',')
			if end < 0 {
				end = len(text)
			}
			selector, text = string(bytes.TrimRight(text[:end], " ")), text[end:]
		}
		selectors = append(selectors, selector)
		text = bytes.TrimLeft(text, " ")
		if len(text) == 0 {
			return selectors, nil
		}
		if text[0] != ',' {
			return nil, errors.New("expected ',' between selectors")
		}
		text = text[1:]
	}
}

// yarnToken reads the bare or JSON-quoted string at the start of text and
// returns it with the number of bytes it takes. A bare key ends at ' ' or
// ':', a bare value at ' '.
func yarnToken(text []byte, key bool) (string, int, error) {
	if len(text) == 0 {
		return "", 0, errors.New("expected a string")
	}
	if text[0] != '"' {
		end := len(text)
		for i, c := range text {
			if c == ' ' || (key && c == ':') {
				end = i
				break
			}
		}
		if end == 0 {
			return "", 0, errors.New("expected a string")
		}
		return string(text[:end]), end, nil
	}
	for i := 1; i < len(text); i++ {
		switch text[i] {
		case '\\':
			i++
		case '"':
			var s string
			if err := json.Unmarshal(text[:i+1], &s); err != nil {
				return "", 0, fmt.Errorf("invalid quoted string %s", text[:i+1])
			}
			return s, i + 1, nil
		}
	}
	return "", 0, errors.New("unterminated quoted string")
}

// isConflictMarker reports whether a line is one of git's merge conflict
// markers.
func isConflictMarker(line []byte) bool {
	for _, marker := range []string{"<<<<<<<", "=======", ">>>>>>>"} {
		if bytes.HasPrefix(line, []byte(marker)) {
			return true
		}
	}
	return false
}
