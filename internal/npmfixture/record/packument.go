package main

import (
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"

	npm "github.com/aquasecurity/go-npm-version/pkg"
)

// neighbours is how many versions just older than each recorded version
// stay in a trimmed packument, and also the maximum number of prereleases
// just newer than it that stay.
const neighbours = 2

// packument is an abbreviated packument kept as raw JSON, so that trimming
// drops whole versions and changes no field of the versions it keeps.
type packument struct {
	name     string
	fields   map[string]json.RawMessage
	distTags map[string]string
	versions map[string]json.RawMessage
}

// versionMeta is the part of a version's metadata the recorder follows.
type versionMeta struct {
	Dependencies         map[string]string `json:"dependencies"`
	OptionalDependencies map[string]string `json:"optionalDependencies"`
	PeerDependencies     map[string]string `json:"peerDependencies"`
	Dist                 dist              `json:"dist"`
}

type dist struct {
	Tarball   string `json:"tarball"`
	Integrity string `json:"integrity"`
	Shasum    string `json:"shasum"`
}

func parsePackument(name string, body []byte) (*packument, error) {
	doc := &packument{name: name}
	if err := json.Unmarshal(body, &doc.fields); err != nil {
		return nil, fmt.Errorf("parse packument of %s: %w", name, err)
	}
	if err := json.Unmarshal(doc.fields["dist-tags"], &doc.distTags); err != nil {
		return nil, fmt.Errorf("parse dist-tags of %s: %w", name, err)
	}
	if err := json.Unmarshal(doc.fields["versions"], &doc.versions); err != nil {
		return nil, fmt.Errorf("parse versions of %s: %w", name, err)
	}
	return doc, nil
}

func (p *packument) meta(version string) (versionMeta, error) {
	raw, ok := p.versions[version]
	if !ok {
		return versionMeta{}, fmt.Errorf("%s@%s: version not found in the packument", p.name, version)
	}
	var meta versionMeta
	if err := json.Unmarshal(raw, &meta); err != nil {
		return versionMeta{}, fmt.Errorf("parse metadata of %s@%s: %w", p.name, version, err)
	}
	if meta.Dist.Tarball == "" {
		return versionMeta{}, fmt.Errorf("%s@%s: packument lists no dist.tarball", p.name, version)
	}
	return meta, nil
}

// hyphenRange matches npm's "A - B" form, which go-npm-version does not parse.
var hyphenRange = regexp.MustCompile(`^\s*(\S+)\s+-\s+(\S+)\s*$`)

// maxSatisfying returns the highest version that satisfies rangeText, or
// the version a dist-tag names when rangeText is a tag.
//
// NOTE: npm itself prefers the dist-tags.latest version when it satisfies
// the range, so it can pick a lower version than this. Pass npm's own
// lockfile with -lockfile to record exactly what npm picked.
func (p *packument) maxSatisfying(rangeText string) (string, error) {
	rangeText = strings.TrimSpace(rangeText)
	if version, ok := p.distTags[rangeText]; ok {
		return version, nil
	}
	if rangeText == "" || rangeText == "x" {
		rangeText = "*"
	}

	parts := strings.Split(rangeText, "||")
	for i, part := range parts {
		if m := hyphenRange.FindStringSubmatch(part); m != nil {
			parts[i] = ">=" + m[1] + " <=" + m[2]
		}
	}
	constraints, err := npm.NewConstraints(strings.Join(parts, "||"))
	if err != nil {
		return "", fmt.Errorf("unsupported range: %w", err)
	}

	var best npm.Version
	found := ""
	for version := range p.versions {
		v, err := npm.NewVersion(version)
		if err != nil || !constraints.Check(v) {
			continue
		}
		if found == "" || v.GreaterThan(best) {
			best, found = v, version
		}
	}
	if found == "" {
		return "", fmt.Errorf("no version of %s satisfies the range", p.name)
	}
	return found, nil
}

// trim returns the packument reduced to the recorded versions and their
// neighbours, indented for review. A tag whose version is trimmed away is
// dropped, except latest, which moves to the highest recorded release.
func (p *packument) trim(recorded map[string]bool) ([]byte, error) {
	ordered := p.sortedVersions()
	keep := map[string]bool{}
	for i, version := range ordered {
		if !recorded[version] {
			continue
		}
		keep[version] = true
		for back := 1; back <= neighbours && i-back >= 0; back++ {
			keep[ordered[i-back]] = true
		}
		for ahead := 1; ahead <= neighbours && i+ahead < len(ordered); ahead++ {
			v, _ := npm.NewVersion(ordered[i+ahead])
			if !v.IsPreRelease() {
				break
			}
			keep[ordered[i+ahead]] = true
		}
	}

	versions := map[string]json.RawMessage{}
	for version := range keep {
		versions[version] = p.versions[version]
	}
	tags := map[string]string{}
	for tag, version := range p.distTags {
		if keep[version] {
			tags[tag] = version
		}
	}
	if _, ok := tags["latest"]; !ok {
		tags["latest"] = highestRelease(ordered, recorded)
	}

	fields := map[string]any{}
	for key, value := range p.fields {
		fields[key] = value
	}
	fields["versions"] = versions
	fields["dist-tags"] = tags
	out, err := json.MarshalIndent(fields, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode trimmed packument of %s: %w", p.name, err)
	}
	return append(out, '\n'), nil
}

// sortedVersions returns the versions in ascending semver order. Versions
// that do not parse as semver are left out.
func (p *packument) sortedVersions() []string {
	type parsed struct {
		text    string
		version npm.Version
	}
	var list []parsed
	for text := range p.versions {
		v, err := npm.NewVersion(text)
		if err != nil {
			continue
		}
		list = append(list, parsed{text, v})
	}
	sort.Slice(list, func(i, j int) bool { return list[i].version.LessThan(list[j].version) })
	out := make([]string, len(list))
	for i, item := range list {
		out[i] = item.text
	}
	return out
}

// highestRelease returns the highest recorded version that is not a
// prerelease, or the highest recorded version when all are prereleases.
func highestRelease(ordered []string, recorded map[string]bool) string {
	highest, highestAny := "", ""
	for _, version := range ordered {
		if !recorded[version] {
			continue
		}
		highestAny = version
		if v, _ := npm.NewVersion(version); !v.IsPreRelease() {
			highest = version
		}
	}
	if highest == "" {
		return highestAny
	}
	return highest
}

// abbreviatedVersionFields are the version fields of npm's abbreviated
// packument: the list in npm/registry docs/responses/package-metadata.md,
// plus deprecated, peerDependenciesMeta, cpu, os and hasInstallScript,
// which registry.npmjs.org also serves in that form.
var abbreviatedVersionFields = []string{
	"name", "version", "deprecated", "dependencies", "optionalDependencies",
	"devDependencies", "bundleDependencies", "peerDependencies", "peerDependenciesMeta",
	"bin", "directories", "dist", "engines", "cpu", "os", "_hasShrinkwrap",
	"hasInstallScript",
}

// abbreviate reduces a full packument to the abbreviated form. The top
// level keeps name, dist-tags and versions, plus modified when the full
// document's time map has it. hasInstallScript is derived from the
// preinstall, install and postinstall scripts, as the npm registry does.
func (p *packument) abbreviate() error {
	modified := ""
	if raw, ok := p.fields["time"]; ok {
		var times map[string]json.RawMessage
		if err := json.Unmarshal(raw, &times); err == nil && times["modified"] != nil {
			_ = json.Unmarshal(times["modified"], &modified)
		}
	}
	top := map[string]json.RawMessage{
		"name":      p.fields["name"],
		"dist-tags": p.fields["dist-tags"],
	}
	if modified != "" {
		top["modified"], _ = json.Marshal(modified)
	}

	for version, raw := range p.versions {
		var full map[string]json.RawMessage
		if err := json.Unmarshal(raw, &full); err != nil {
			return fmt.Errorf("parse metadata of %s@%s: %w", p.name, version, err)
		}
		short := map[string]json.RawMessage{}
		for _, field := range abbreviatedVersionFields {
			if value, ok := full[field]; ok {
				short[field] = value
			}
		}
		if _, ok := short["hasInstallScript"]; !ok && hasInstallScript(full["scripts"]) {
			short["hasInstallScript"] = json.RawMessage("true")
		}
		encoded, err := json.Marshal(short)
		if err != nil {
			return err
		}
		p.versions[version] = encoded
	}
	p.fields = top
	return nil
}

func hasInstallScript(raw json.RawMessage) bool {
	var scripts map[string]any
	if json.Unmarshal(raw, &scripts) != nil {
		return false
	}
	for _, hook := range []string{"preinstall", "install", "postinstall"} {
		if _, ok := scripts[hook]; ok {
			return true
		}
	}
	return false
}
