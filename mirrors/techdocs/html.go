package techdocs

import (
	"bytes"
	"slices"
	"strings"

	"golang.org/x/net/html"
)

// assetAttributes are the attributes that load a resource, per element.
var assetAttributes = map[string][]string{
	"link":   {"href"},
	"script": {"src"},
	"img":    {"src", "srcset"},
	"source": {"src", "srcset"},
	"video":  {"src", "poster"},
	"audio":  {"src"},
	"iframe": {"src"},
	"embed":  {"src"},
	"object": {"data"},
	"input":  {"src"},
}

// resourceHints are link relations that only open a connection.
var resourceHints = []string{"preconnect", "dns-prefetch"}

// loadingRelations are the link relations whose href the browser loads.
// Others, such as canonical or alternate, name pages and stay as they are.
var loadingRelations = []string{"stylesheet", "icon", "preload", "modulepreload", "prefetch", "manifest",
	"apple-touch-icon", "mask-icon"}

// page localizes an HTML page. Tokens it does not change are copied byte
// for byte, so the rest of the page stays as it was built.
func (l *localizer) page(file string, data []byte) []byte {
	z := html.NewTokenizer(bytes.NewReader(data))
	var out bytes.Buffer
	inStyle := false
	for {
		tt := z.Next()
		raw := z.Raw()
		if tt == html.ErrorToken {
			// At the end of input Raw holds what an unfinished tag left.
			out.Write(raw)
			return out.Bytes()
		}
		switch tt {
		case html.StartTagToken, html.SelfClosingTagToken:
			tok := z.Token()
			inStyle = tok.Data == "style" && tt == html.StartTagToken
			if rewritten, keep, changed := l.tag(file, tok); !keep {
				continue
			} else if changed {
				out.WriteString(rewritten.String())
				continue
			}
		case html.EndTagToken:
			inStyle = false
		case html.TextToken:
			if inStyle {
				out.WriteString(rewriteCSS(string(raw), func(ref string) string { return l.reference(file, nil, ref) }))
				continue
			}
		}
		out.Write(raw)
	}
}

// tag localizes the resource attributes and style attribute of one tag.
// It returns keep false for a resource hint to an external host, which
// is dropped.
func (l *localizer) tag(file string, tok html.Token) (html.Token, bool, bool) {
	if tok.Data == "link" && hasRel(tok, resourceHints) {
		if href := attr(tok, "href"); href != "" {
			if u, ok := external(href, nil); ok {
				l.report.Removed = append(l.report.Removed, Reference{File: file, URL: u.String()})
				return tok, false, false
			}
		}
	}
	names := assetAttributes[tok.Data]
	if tok.Data == "link" && !hasRel(tok, loadingRelations) {
		names = nil
	}
	changed, dropIntegrity := false, false
	for i, a := range tok.Attr {
		var value string
		switch {
		case a.Key == "style":
			value = rewriteCSS(a.Val, func(ref string) string { return l.reference(file, nil, ref) })
		case a.Key == "srcset" && slices.Contains(names, a.Key):
			value = l.srcset(file, a.Val)
		case slices.Contains(names, a.Key):
			value = l.reference(file, nil, a.Val)
			dropIntegrity = value != a.Val && l.copiedChanged(a.Val)
		default:
			continue
		}
		if value != a.Val {
			tok.Attr[i].Val = value
			changed = true
		}
	}
	if dropIntegrity {
		// The copy was localized, so its bytes no longer match the hash.
		tok.Attr = deleteAttr(tok.Attr, "integrity")
	}
	return tok, true, changed
}

// copiedChanged reports whether the mirrored copy of an external ref was
// rewritten when it was copied into the site.
func (l *localizer) copiedChanged(ref string) bool {
	u, ok := external(ref, nil)
	if !ok {
		return false
	}
	file, ok := l.opts.Mirror.Lookup(u)
	return ok && l.copied[file].changed
}

// srcset localizes each URL of a srcset list ("url 2x, url 640w") and
// returns value unchanged when no URL changed.
func (l *localizer) srcset(file, value string) string {
	parts := strings.Split(value, ",")
	changed := false
	for i, p := range parts {
		fields := strings.Fields(p)
		if len(fields) == 0 {
			continue
		}
		if to := l.reference(file, nil, fields[0]); to != fields[0] {
			fields[0] = to
			changed = true
		}
		parts[i] = strings.Join(fields, " ")
	}
	if !changed {
		return value
	}
	return strings.Join(parts, ", ")
}

func attr(tok html.Token, key string) string {
	for _, a := range tok.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

func hasRel(tok html.Token, rels []string) bool {
	for _, r := range strings.Fields(strings.ToLower(attr(tok, "rel"))) {
		if slices.Contains(rels, r) {
			return true
		}
	}
	return false
}

func deleteAttr(attrs []html.Attribute, key string) []html.Attribute {
	out := attrs[:0]
	for _, a := range attrs {
		if a.Key != key {
			out = append(out, a)
		}
	}
	return out
}
