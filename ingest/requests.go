package ingest

import (
	"fmt"

	"github.com/sluice-dev/sluice/ingest/npm"
	"github.com/sluice-dev/sluice/manifests"
	"github.com/sluice-dev/sluice/manifests/lockfile"
)

// npmRequests turns the npm section of a manifest into resolver requests.
// Lockfile entries that are not registry packages (git, file, link and
// workspace entries) are returned as notes: Sluice does not ingest them.
func npmRequests(m *manifests.Manifest) (reqs []npm.Request, notes []string, err error) {
	spec := m.Spec.NPM
	if spec == nil {
		return nil, nil, nil
	}
	for _, p := range spec.Packages {
		reqs = append(reqs, npm.Request{Name: p.Name, Spec: p.Version, Latest: p.Latest,
			Prerelease: p.Prerelease, Origin: fmt.Sprintf("%s %s@%s", p.Pos, p.Name, specOrLatest(p)),
			Manifest: m.Metadata.Name})
	}
	for _, l := range spec.Lockfiles {
		lf, err := lockfile.Load(l.Path)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: lockfile: %w", l.Pos, err)
		}
		for _, e := range lf.Entries {
			origin := fmt.Sprintf("%s:%d %s@%s", lf.Path, e.Line, e.Name, e.Version)
			if e.Bundled {
				continue
			}
			if e.Source != lockfile.SourceRegistry {
				notes = append(notes, origin+": not a registry package; not ingested")
				continue
			}
			reqs = append(reqs, npm.Request{Name: e.Name, Spec: e.Version, Integrity: e.Integrity,
				NoDependencies: true, Origin: origin, Manifest: m.Metadata.Name})
		}
	}
	return reqs, notes, nil
}

func specOrLatest(p manifests.NPMPackage) string {
	s := p.Version
	if s == "" {
		s = "latest"
	}
	if p.Latest > 0 {
		s = fmt.Sprintf("%s (latest %d)", s, p.Latest)
	}
	return s
}
