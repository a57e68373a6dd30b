package lockfile

import (
	"bytes"
	"fmt"
	neturl "net/url"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Rewrite returns data with resolved URLs replaced and every other byte
// unchanged. data must be the bytes that lf was parsed from. Rewrite calls
// url once for each entry whose URL is written in the lockfile, whatever
// its Source. url returns the new URL, or false to keep the entry as it is.
//
// Replacements keep the file's quoting: package-lock values stay JSON
// strings, and yarn.lock and pnpm-lock.yaml values stay quoted or bare
// unless the new URL needs quotes. yarn.lock's #<sha1> fragment is kept
// after the new URL, so url must return a URL without a fragment for those
// entries. In yarn berry lockfiles the URL is replaced inside the
// resolution, such as "left-pad@https://host/left-pad-1.3.0.tgz" or the
// __archiveUrl parameter of an npm: resolution. A value whose
// URL does not change keeps its original bytes, so rewriting with the
// identity function returns data, and rewriting the output again with the
// same function returns the same bytes.
//
// In package-lock v2 files an entry's resolved value appears twice, in
// "packages" and in "dependencies"; both get the new URL.
//
// Entries without a URL are not touched: npm, yarn and pnpm fetch them
// from the registry that the client is configured with. That covers almost
// every registry entry of yarn berry and pnpm lockfiles.
func Rewrite(lf *Lockfile, data []byte, url func(Entry) (string, bool)) ([]byte, error) {
	if len(data) != lf.size {
		return nil, fmt.Errorf("rewrite %s: the data is %d bytes, but %d were parsed: parse "+
			"the current content first", lf.Path, len(data), lf.size)
	}
	spans := slices.Clone(lf.spans)
	slices.SortFunc(spans, func(a, b span) int { return a.start - b.start })

	type replacement struct {
		url string
		ok  bool
	}
	urls := make(map[int]replacement)
	var out bytes.Buffer
	out.Grow(len(data))
	last := 0
	for _, s := range spans {
		if s.start < last || string(data[s.start:s.end]) != s.raw {
			return nil, fmt.Errorf("rewrite %s: the data differs from what was parsed: parse "+
				"the current content first", lf.Path)
		}
		e := lf.Entries[s.entry]
		r, done := urls[s.entry]
		if !done {
			r.url, r.ok = url(e)
			urls[s.entry] = r
		}
		if !r.ok {
			continue
		}
		raw, err := replaceValue(lf.Format, e, s, r.url)
		if err != nil {
			return nil, fmt.Errorf("rewrite %s:%d: %s@%s: %w", lf.Path, e.Line, e.Name, e.Version,
				err)
		}
		out.Write(data[last:s.start])
		out.WriteString(raw)
		last = s.end
	}
	out.Write(data[last:])
	return out.Bytes(), nil
}

// replaceValue returns the text that replaces span s so that it holds url.
func replaceValue(format Format, e Entry, s span, url string) (string, error) {
	switch {
	case url == e.Resolved:
		// v2 lockfiles may disagree between their two copies of a value;
		// an unchanged entry keeps both as they are.
		return s.raw, nil
	case url == "":
		return "", fmt.Errorf("empty replacement URL")
	case !utf8.ValidString(url):
		return "", fmt.Errorf("replacement URL %q is not valid UTF-8", url)
	}
	value := url
	if format == YarnV1 && e.ResolvedHash != "" {
		if strings.Contains(url, "#") {
			return "", fmt.Errorf("replacement URL %q has a fragment, but yarn.lock keeps its "+
				"own #%s: return the URL without it", url, e.ResolvedHash)
		}
		value = url + "#" + e.ResolvedHash
	}
	if s.escape {
		value = neturl.QueryEscape(value)
	}
	value = s.prefix + value + s.suffix
	if value == s.value {
		return s.raw, nil
	}
	switch {
	case s.single:
		return quoteSingle(value), nil
	case s.quoted:
		return quoteJSON(value), nil
	case format == YarnV1 && yarnNeedsQuotes(value),
		format == YarnBerry && yamlNeedsQuotes(value, false):
		return quoteJSON(value), nil
	case (format == PNPMV6 || format == PNPMV9) && yamlNeedsQuotes(value, true):
		return quoteSingle(value), nil
	}
	return value, nil
}

// quoteJSON quotes s as JavaScript's JSON.stringify does, which is how npm
// and yarn write strings: only quotes, backslashes and control characters
// are escaped.
func quoteJSON(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\b':
			b.WriteString(`\b`)
		case r == '\f':
			b.WriteString(`\f`)
		case r < 0x20:
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// yarnNeedsQuotes reports whether yarn 1.x would quote s as a value: when
// it starts with true, false or a digit, does not start with a letter, or
// holds a colon, whitespace, quote, backslash, comma or bracket.
func yarnNeedsQuotes(s string) bool {
	if strings.HasPrefix(s, "true") || strings.HasPrefix(s, "false") || s == "" {
		return true
	}
	c := s[0]
	if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') {
		return true
	}
	return strings.ContainsAny(s, ":\\\",[]") || strings.ContainsFunc(s, unicode.IsSpace)
}
