package npm

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/sluice-dev/sluice/internal/npmsemver"
)

// ErrNoMatch is returned when no published version satisfies a spec.
var ErrNoMatch = errors.New("no version matches")

// ErrUnsupportedSpec is returned for dependency specs that do not name a
// registry package: git URLs, tarball URLs, file: and link: paths,
// workspace: references.
var ErrUnsupportedSpec = errors.New("unsupported dependency spec")

// splitAlias turns an "npm:real-name@range" dependency spec into the real
// package name and range. Other specs come back unchanged.
func splitAlias(name, spec string) (string, string) {
	rest, ok := strings.CutPrefix(spec, "npm:")
	if !ok {
		return name, spec
	}
	at := strings.LastIndex(rest, "@")
	if at <= 0 {
		return rest, ""
	}
	return rest[:at], rest[at+1:]
}

func checkSpec(spec string) error {
	for _, prefix := range []string{"git+", "git:", "github:", "gitlab:", "bitbucket:",
		"http:", "https:", "file:", "link:", "workspace:", "portal:", "patch:"} {
		if strings.HasPrefix(spec, prefix) {
			return fmt.Errorf("%w %q: Sluice ingests registry packages only", ErrUnsupportedSpec, spec)
		}
	}
	if strings.Contains(spec, "/") && !strings.ContainsAny(spec, "<>=^~| ") {
		return fmt.Errorf("%w %q: looks like a GitHub shorthand; Sluice ingests registry packages only",
			ErrUnsupportedSpec, spec)
	}
	return nil
}

// candidate is a published version parsed for comparison.
type candidate struct {
	raw string
	v   npmsemver.Version
}

func sortedVersions(p *Packument) []candidate {
	out := make([]candidate, 0, len(p.Versions))
	for raw := range p.Versions {
		v, err := npmsemver.ParseVersion(raw)
		if err != nil {
			continue
		}
		out = append(out, candidate{raw, v})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].v.GreaterThan(out[j].v) })
	return out
}

// Pick chooses the version of p that npm would install for spec. A
// dist-tag gives its version and an exact version gives itself. For a
// range it is the version tagged latest when that satisfies the range,
// else the highest satisfying version that is not deprecated, else the
// highest satisfying one.
func Pick(p *Packument, spec string, prerelease bool) (string, error) {
	spec = strings.TrimSpace(spec)
	if v, ok := p.DistTags[spec]; ok {
		if _, ok := p.Versions[v]; !ok {
			return "", fmt.Errorf("dist-tag %q points at %s, which the packument does not list", spec, v)
		}
		return v, nil
	}
	if npmsemver.IsExact(spec) {
		want, err := npmsemver.ParseVersion(spec)
		if err != nil {
			return "", fmt.Errorf("invalid version %q", spec)
		}
		for _, c := range sortedVersions(p) {
			if c.v.Equal(want) {
				return c.raw, nil
			}
		}
		return "", fmt.Errorf("%w; %s", ErrNoMatch, p.describeLatest())
	}
	r, err := npmsemver.ParseRange(spec, prerelease)
	if err != nil {
		if spec != "" && !strings.ContainsAny(spec, "<>=^~|* ") {
			return "", fmt.Errorf("no dist-tag %q; the tags are %s", spec, p.describeTags())
		}
		return "", err
	}
	if latest, ok := p.DistTags["latest"]; ok {
		if v, err := npmsemver.ParseVersion(latest); err == nil && r.Check(v) {
			return latest, nil
		}
	}
	var fallback string
	for _, c := range sortedVersions(p) {
		if !r.Check(c.v) {
			continue
		}
		if !p.Versions[c.raw].IsDeprecated() {
			return c.raw, nil
		}
		if fallback == "" {
			fallback = c.raw
		}
	}
	if fallback != "" {
		return fallback, nil
	}
	return "", fmt.Errorf("%w; %s", ErrNoMatch, p.describeLatest())
}

// PickLatest returns the n highest versions that satisfy spec, highest
// first. Prereleases count only when prerelease is true.
func PickLatest(p *Packument, spec string, n int, prerelease bool) ([]string, error) {
	r, err := npmsemver.ParseRange(spec, prerelease)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, c := range sortedVersions(p) {
		if len(out) == n {
			break
		}
		if (prerelease || !c.v.IsPreRelease()) && r.Check(c.v) {
			out = append(out, c.raw)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w; %s", ErrNoMatch, p.describeLatest())
	}
	return out, nil
}

func (p *Packument) describeLatest() string {
	if v, ok := p.DistTags["latest"]; ok {
		return "the latest version is " + v
	}
	return fmt.Sprintf("the registry lists %d versions", len(p.Versions))
}

func (p *Packument) describeTags() string {
	tags := make([]string, 0, len(p.DistTags))
	for t, v := range p.DistTags {
		tags = append(tags, t+"="+v)
	}
	sort.Strings(tags)
	return strings.Join(tags, ", ")
}

// tagsOf returns the dist-tags that point at version, sorted.
func (p *Packument) tagsOf(version string) []string {
	var out []string
	for t, v := range p.DistTags {
		if v == version {
			out = append(out, t)
		}
	}
	sort.Strings(out)
	return out
}
