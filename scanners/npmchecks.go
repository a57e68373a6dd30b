package scanners

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/anchore/syft/syft/sbom"
	"github.com/google/licensecheck"
)

// installScripts are the package.json scripts npm runs when it installs a
// package.
var installScripts = []string{"preinstall", "install", "postinstall"}

// minLicenseCoverage is the share of a license file (in percent) that
// licensecheck must recognise as one license text for it to count as
// detected.
const minLicenseCoverage = 75

// packageJSON is the part of an npm package.json the checks read.
type packageJSON struct {
	Name    string            `json:"name"`
	Version string            `json:"version"`
	License json.RawMessage   `json:"license"`
	Scripts map[string]string `json:"scripts"`
	Gypfile bool              `json:"gypfile"`
}

func readPackageJSON(dir string) (*packageJSON, error) {
	data, err := os.ReadFile(filepath.Join(dir, "package.json"))
	if err != nil {
		return nil, err
	}
	p := new(packageJSON)
	if err := json.Unmarshal(data, p); err != nil {
		return nil, fmt.Errorf("invalid package.json: %w", err)
	}
	return p, nil
}

// npmPackageFindings returns the install-script and native-build findings
// of an unpacked npm package.
func npmPackageFindings(dir string) ([]Finding, error) {
	p, err := readPackageJSON(dir)
	if err != nil {
		return nil, err
	}
	var out []Finding
	for _, name := range installScripts {
		if cmd, ok := p.Scripts[name]; ok {
			out = append(out, Finding{Kind: KindInstallScript, ID: name, Package: p.Name,
				PackageVersion: p.Version, Detail: cmd})
		}
	}
	_, gypErr := os.Stat(filepath.Join(dir, "binding.gyp"))
	hasGyp := gypErr == nil
	if hasGyp {
		detail := "binding.gyp present: npm compiles a native addon with node-gyp at install"
		if p.Scripts["install"] == "" && p.Scripts["preinstall"] == "" {
			detail = "binding.gyp present and no install script: npm runs 'node-gyp rebuild' at install"
		}
		out = append(out, Finding{Kind: KindNativeBuild, ID: "binding.gyp", Package: p.Name,
			PackageVersion: p.Version, Detail: detail})
	}
	if p.Gypfile {
		out = append(out, Finding{Kind: KindNativeBuild, ID: "gypfile", Package: p.Name,
			PackageVersion: p.Version, Detail: `package.json sets "gypfile": true`})
	}
	return out, nil
}

// License sources a license finding's Detail names.
const (
	licenseDeclared = "declared in the package metadata"
	licenseDetected = "detected in the package's license file"
)

// licenseFindings returns one finding per package and license: the
// licenses syft read from package metadata (declared) and, for the
// unpacked npm package, the licenses licensecheck recognises in its license
// files (detected). A package with neither gets a finding with ID
// "NOASSERTION", the SPDX value for an unknown license.
func licenseFindings(s *sbom.SBOM, pkgDir string) ([]Finding, error) {
	var detected []string
	var root *packageJSON
	if pkgDir != "" {
		var err error
		if root, err = readPackageJSON(pkgDir); err != nil {
			return nil, err
		}
		if detected, err = detectLicenses(pkgDir); err != nil {
			return nil, err
		}
	}
	var out []Finding
	for _, p := range s.Artifacts.Packages.Sorted() {
		sources := map[string][]string{}
		for _, l := range p.Licenses.ToSlice() {
			id := l.SPDXExpression
			if id == "" {
				id = "LicenseRef-" + strings.ReplaceAll(strings.TrimSpace(l.Value), " ", "-")
			}
			if !slices.Contains(sources[id], licenseDeclared) {
				sources[id] = append(sources[id], licenseDeclared)
			}
		}
		if root != nil && p.Name == root.Name && p.Version == root.Version {
			for _, id := range detected {
				sources[id] = append(sources[id], licenseDetected)
			}
			if len(sources) == 0 {
				sources["NOASSERTION"] = []string{"no license declared in package.json and no license file recognised"}
			}
		}
		ids := make([]string, 0, len(sources))
		for id := range sources {
			ids = append(ids, id)
		}
		slices.Sort(ids)
		for _, id := range ids {
			out = append(out, Finding{Kind: KindLicense, ID: id, Package: p.Name, PackageVersion: p.Version,
				Detail: strings.Join(sources[id], " and ")})
		}
	}
	return out, nil
}

// detectLicenses scans the license files at the top of a package folder.
func detectLicenses(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	set := map[string]bool{}
	for _, e := range entries {
		upper := strings.ToUpper(e.Name())
		if e.IsDir() || !(strings.HasPrefix(upper, "LICENSE") || strings.HasPrefix(upper, "LICENCE") ||
			strings.HasPrefix(upper, "COPYING")) {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		cov := licensecheck.Scan(data)
		if cov.Percent < minLicenseCoverage {
			continue
		}
		for _, m := range cov.Match {
			set[m.ID] = true
		}
	}
	out := make([]string, 0, len(set))
	for id := range set {
		out = append(out, id)
	}
	sort.Strings(out)
	return out, nil
}
