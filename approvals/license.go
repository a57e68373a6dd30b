package approvals

import (
	"path"
	"slices"
	"strings"

	"github.com/sluice-dev/sluice/manifests/policy"
)

// License statuses under a policy's licenses lists, from best to worst.
const (
	LicenseAllowed  = "allowed"
	LicenseUnlisted = "unlisted"
	LicenseUnknown  = "unknown"
	LicenseDenied   = "denied"
)

var licenseBadness = []string{LicenseAllowed, LicenseUnlisted, LicenseUnknown, LicenseDenied}

// unknownLicenseIDs are values that scanners and package metadata use for
// "no license information".
var unknownLicenseIDs = []string{"NOASSERTION", "NONE", "UNKNOWN", "UNLICENSED"}

// LicenseStatus classifies an SPDX license expression under l. Under OR the
// licensee may pick, so the best alternative counts; under AND every part
// binds, so the worst counts. A deny pattern wins over an allow pattern. An
// ID with an exception ("GPL-2.0-only WITH Classpath-exception-2.0") is
// looked up whole first, then by its license ID. A malformed expression is
// unknown.
func LicenseStatus(l policy.Licenses, expr string) string {
	p := &spdxParser{tokens: spdxTokens(expr), licenses: l}
	status, ok := p.or()
	if !ok || p.pos != len(p.tokens) {
		return LicenseUnknown
	}
	return status
}

// LicenseIDs returns the license IDs an SPDX expression names, without
// operators and exceptions.
func LicenseIDs(expr string) []string {
	var ids []string
	tokens := spdxTokens(expr)
	for i, t := range tokens {
		upper := strings.ToUpper(t)
		if t == "(" || t == ")" || upper == "AND" || upper == "OR" || upper == "WITH" {
			continue
		}
		if i > 0 && strings.EqualFold(tokens[i-1], "WITH") {
			continue
		}
		ids = append(ids, t)
	}
	return ids
}

func spdxTokens(expr string) []string {
	expr = strings.NewReplacer("(", " ( ", ")", " ) ").Replace(expr)
	return strings.Fields(expr)
}

// spdxParser evaluates a license expression by recursive descent:
// or := and {OR and}; and := term {AND term}; term := ( or ) | ID [WITH ID].
type spdxParser struct {
	tokens   []string
	pos      int
	licenses policy.Licenses
}

func (p *spdxParser) peek(word string) bool {
	return p.pos < len(p.tokens) && strings.EqualFold(p.tokens[p.pos], word)
}

func (p *spdxParser) or() (string, bool) {
	best, ok := p.and()
	for ok && p.peek("OR") {
		p.pos++
		var next string
		next, ok = p.and()
		if ok && rank(next) < rank(best) {
			best = next
		}
	}
	return best, ok
}

func (p *spdxParser) and() (string, bool) {
	worst, ok := p.term()
	for ok && p.peek("AND") {
		p.pos++
		var next string
		next, ok = p.term()
		if ok && rank(next) > rank(worst) {
			worst = next
		}
	}
	return worst, ok
}

func (p *spdxParser) term() (string, bool) {
	if p.pos >= len(p.tokens) {
		return "", false
	}
	t := p.tokens[p.pos]
	p.pos++
	if t == "(" {
		s, ok := p.or()
		if !ok || !p.peek(")") {
			return "", false
		}
		p.pos++
		return s, true
	}
	if t == ")" || p.peek("(") {
		return "", false
	}
	if p.peek("WITH") {
		p.pos++
		if p.pos >= len(p.tokens) {
			return "", false
		}
		exception := p.tokens[p.pos]
		p.pos++
		if s := idStatus(p.licenses, t+" WITH "+exception); s != LicenseUnlisted {
			return s, true
		}
	}
	return idStatus(p.licenses, t), true
}

func rank(status string) int { return slices.Index(licenseBadness, status) }

// idStatus classifies one license ID. NOASSERTION and its kin mean that
// no license was found; npm's UNLICENSED means no license is granted.
func idStatus(l policy.Licenses, id string) string {
	switch {
	case slices.Contains(unknownLicenseIDs, strings.ToUpper(id)):
		return LicenseUnknown
	case matchAny(l.Deny, id):
		return LicenseDenied
	case matchAny(l.Allow, id):
		return LicenseAllowed
	case strings.HasPrefix(strings.ToUpper(id), "LICENSEREF-"):
		// A custom license that no list names needs someone to read it.
		return LicenseUnknown
	}
	return LicenseUnlisted
}

// matchAny reports whether s matches one of patterns (path.Match syntax).
// The policy parser rejects invalid patterns, so a match error counts as
// no match.
func matchAny(patterns []string, s string) bool {
	for _, p := range patterns {
		if ok, _ := path.Match(p, s); ok {
			return true
		}
	}
	return false
}
