// Package plugin computes what a Backstage plugin adds to an existing
// Backstage app. The plugin's dependency closure is resolved the way sync
// resolves a manifest entry. Every version that the app's lockfile locks
// already is left out, so only the packages new to the app need review.
//
// The package also reads the plugin's package.json from its stored
// tarball, for the repository URL it declares. It owns no verdict: the
// caller runs the new packages through the scan and evaluation stages of
// an ingest.Runner and files the approval request.
package plugin

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"sort"

	"github.com/sluice-dev/sluice/ingest/npm"
	"github.com/sluice-dev/sluice/manifests"
	"github.com/sluice-dev/sluice/manifests/lockfile"
)

// Package is one package version the plugin adds to the app.
type Package struct {
	Name      string `json:"name"`
	Version   string `json:"version"`
	Integrity string `json:"integrity,omitempty"`
	// RequestedBy is the package whose dependency brought this one in,
	// as name@version; empty for the plugin itself.
	RequestedBy      string `json:"requestedBy,omitempty"`
	HasInstallScript bool   `json:"hasInstallScript,omitempty"`
	Deprecated       bool   `json:"deprecated,omitempty"`
	Optional         bool   `json:"optional,omitempty"`
	// AppVersions lists the other versions of the package that the app
	// locks; empty when the package is new to the app.
	AppVersions []string `json:"appVersions,omitempty"`
}

// Key returns "name@version".
func (p Package) Key() string { return p.Name + "@" + p.Version }

// Diff is what a plugin adds to an app.
type Diff struct {
	// Plugin is the plugin as name@version.
	Plugin string `json:"plugin"`
	// Lockfile is the app lockfile's path and LockfileDigest the sha256
	// of its bytes.
	Lockfile       string `json:"lockfile"`
	LockfileDigest string `json:"lockfileDigest"`
	// Closure counts the versions in the plugin's closure, and Locked
	// those of them that the app locks already.
	Closure int `json:"closure"`
	Locked  int `json:"locked"`
	// Added lists the versions the app does not lock, by name and version.
	Added []Package `json:"added"`
	// Warnings lists peer dependencies of the plugin that the app does
	// not lock, and optional dependencies that could not be resolved.
	Warnings []string `json:"warnings,omitempty"`
}

// Changed returns the added packages of which the app locks another
// version.
func (d *Diff) Changed() []Package {
	var out []Package
	for _, p := range d.Added {
		if len(p.AppVersions) > 0 {
			out = append(out, p)
		}
	}
	return out
}

// Compute resolves the closure of the request's plugin from reg and
// compares it with the app lockfile, whose content is data. The closure
// follows dependencies and optional dependencies. Peer dependencies are
// the app's to provide, so those of the plugin that the app does not lock
// become warnings.
func Compute(ctx context.Context, reg *npm.Registry, req *manifests.PluginRequest, lockPath string,
	data []byte) (*Diff, error) {
	app, err := lockfile.Parse(lockPath, data)
	if err != nil {
		return nil, fmt.Errorf("app lockfile: %w", err)
	}
	plugin := req.Plugin.Name + "@" + req.Plugin.Version
	res, err := npm.NewResolver(reg, npm.Options{Optional: true}).Resolve(ctx, []npm.Request{{
		Name: req.Plugin.Name, Spec: req.Plugin.Version, Origin: "plugin request " + plugin}})
	if err != nil {
		return nil, fmt.Errorf("resolve %s: %w", plugin, err)
	}
	sum := sha256.Sum256(data)
	d := &Diff{Plugin: plugin, Lockfile: lockPath, LockfileDigest: "sha256:" + hex.EncodeToString(sum[:]),
		Closure: len(res.Packages), Warnings: res.Warnings}
	locked := lockedVersions(app)
	for _, p := range res.Packages {
		versions := locked[p.Name]
		if slices.Contains(versions, p.Version) {
			d.Locked++
			continue
		}
		d.Added = append(d.Added, Package{Name: p.Name, Version: p.Version, Integrity: p.Dist.Integrity,
			RequestedBy: p.RequestedBy, HasInstallScript: p.HasInstallScript, Deprecated: p.Deprecated,
			Optional: p.Optional, AppVersions: versions})
	}
	sort.Slice(d.Added, func(i, j int) bool { return d.Added[i].Key() < d.Added[j].Key() })
	peers, err := missingPeers(ctx, reg, req.Plugin, locked, res.Packages)
	if err != nil {
		return nil, err
	}
	d.Warnings = append(d.Warnings, peers...)
	return d, nil
}

// lockedVersions maps each package name to the versions the lockfile
// locks from a registry, in ascending order.
func lockedVersions(lf *lockfile.Lockfile) map[string][]string {
	out := map[string][]string{}
	for _, e := range lf.Entries {
		if e.Source != lockfile.SourceRegistry || e.Bundled {
			continue
		}
		if !slices.Contains(out[e.Name], e.Version) {
			out[e.Name] = append(out[e.Name], e.Version)
		}
	}
	for _, v := range out {
		slices.Sort(v)
	}
	return out
}

// missingPeers lists the plugin's required peer dependencies that neither
// the app nor the plugin's closure provides.
func missingPeers(ctx context.Context, reg *npm.Registry, ref manifests.PluginRef,
	locked map[string][]string, closure []*npm.Resolved) ([]string, error) {
	doc, err := reg.Packument(ctx, ref.Name)
	if err != nil {
		return nil, fmt.Errorf("read peer dependencies of %s: %w", ref.Name, err)
	}
	v := doc.Versions[ref.Version]
	if v == nil {
		return nil, fmt.Errorf("%s@%s: version not in the registry's package document", ref.Name, ref.Version)
	}
	var out []string
	for name, spec := range v.PeerDependencies {
		if v.PeerDependenciesMeta[name].Optional || len(locked[name]) > 0 ||
			slices.ContainsFunc(closure, func(p *npm.Resolved) bool { return p.Name == name }) {
			continue
		}
		out = append(out, fmt.Sprintf("%s@%s needs peer dependency %s@%s, which the app does not "+
			"lock: add it to the app", ref.Name, ref.Version, name, spec))
	}
	slices.Sort(out)
	return out, nil
}

// Requests returns the resolver requests that bring in exactly the added
// packages, recorded under the manifest named manifest.
func (d *Diff) Requests(manifest string) []npm.Request {
	reqs := make([]npm.Request, len(d.Added))
	for i, p := range d.Added {
		origin := "plugin request " + d.Plugin
		if p.RequestedBy != "" {
			origin += " via " + p.RequestedBy
		}
		reqs[i] = npm.Request{Name: p.Name, Spec: p.Version, NoDependencies: true, Origin: origin,
			Manifest: manifest}
	}
	return reqs
}
