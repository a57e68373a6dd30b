package techdocs

import (
	"regexp"
)

// cssReference finds url(...) values and the strings of @import rules.
// Group 2 is the URL in url(), group 4 the URL of @import "...".
var cssReference = regexp.MustCompile(`(?i)url\(\s*(['"]?)([^'")\s]+)(['"]?)\s*\)|@import\s+(?:"([^"]+)"|'([^']+)')`)

// rewriteCSS replaces every reference in CSS text with what replace
// returns for it; replace returns the reference unchanged to keep it.
func rewriteCSS(css string, replace func(ref string) string) string {
	return cssReference.ReplaceAllStringFunc(css, func(match string) string {
		m := cssReference.FindStringSubmatchIndex(match)
		for _, g := range []int{2, 4, 5} {
			start, end := m[2*g], m[2*g+1]
			if start >= 0 {
				return match[:start] + replace(match[start:end]) + match[end:]
			}
		}
		return match
	})
}
