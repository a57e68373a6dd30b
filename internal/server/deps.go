package server

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"

	ingestnpm "github.com/sluice-dev/sluice/ingest/npm"
	"github.com/sluice-dev/sluice/ingest/state"
	"github.com/sluice-dev/sluice/internal/npmsemver"
)

// dependencyDiff compares an npm artifact's declared dependencies with
// those of the newest earlier version of the same package in the store.
type dependencyDiff struct {
	// Previous is the version compared with; empty when the store has no
	// earlier version, in which case every dependency is Added.
	Previous string
	Added    []depChange
	Removed  []depChange
	Changed  []depChange
}

type depChange struct {
	Name, From, To string
}

// dependencyDiff returns nil for artifacts that are not npm packages.
func (s *Server) dependencyDiff(key string) (*dependencyDiff, error) {
	a, err := s.db.Artifact(key)
	if err != nil || a.Ecosystem != state.EcosystemNPM || a.Digest == "" {
		return nil, err
	}
	cur, err := s.packageDependencies(a.Digest)
	if err != nil {
		return nil, fmt.Errorf("dependencies of %s: %w", key, err)
	}
	v, err := npmsemver.ParseVersion(a.Version)
	if err != nil {
		return nil, err
	}
	var prev *state.Artifact
	var prevVersion npmsemver.Version
	others, err := s.db.Artifacts(func(x *state.Artifact) bool {
		return x.Ecosystem == a.Ecosystem && x.Name == a.Name && x.Digest != "" && x.Version != a.Version
	})
	if err != nil {
		return nil, err
	}
	for _, o := range others {
		ov, err := npmsemver.ParseVersion(o.Version)
		if err != nil || !ov.LessThan(v) || (prev != nil && !ov.GreaterThan(prevVersion)) {
			continue
		}
		prev, prevVersion = o, ov
	}
	old := map[string]string{}
	d := &dependencyDiff{}
	if prev != nil {
		d.Previous = prev.Version
		if old, err = s.packageDependencies(prev.Digest); err != nil {
			return nil, fmt.Errorf("dependencies of %s: %w", prev.Key(), err)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(cur)) {
		from, ok := old[name]
		switch {
		case !ok:
			d.Added = append(d.Added, depChange{Name: name, To: cur[name]})
		case from != cur[name]:
			d.Changed = append(d.Changed, depChange{Name: name, From: from, To: cur[name]})
		}
	}
	for _, name := range slices.Sorted(maps.Keys(old)) {
		if _, ok := cur[name]; !ok {
			d.Removed = append(d.Removed, depChange{Name: name, From: old[name]})
		}
	}
	return d, nil
}

// packageDependencies reads the dependencies and optionalDependencies of
// the package.json in a stored npm tarball.
func (s *Server) packageDependencies(digest string) (map[string]string, error) {
	f, err := s.blobs.Open(digest)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := ingestnpm.PackageJSON(f)
	if err != nil {
		return nil, err
	}
	var pkg struct {
		Dependencies         map[string]string `json:"dependencies"`
		OptionalDependencies map[string]string `json:"optionalDependencies"`
	}
	if err := json.Unmarshal(data, &pkg); err != nil {
		return nil, fmt.Errorf("invalid package.json: %w", err)
	}
	out := map[string]string{}
	maps.Copy(out, pkg.Dependencies)
	maps.Copy(out, pkg.OptionalDependencies)
	return out, nil
}
