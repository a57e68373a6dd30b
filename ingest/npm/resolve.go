package npm

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"

	"golang.org/x/sync/errgroup"
)

// Request is one package request to resolve: a manifest entry or a
// lockfile entry.
type Request struct {
	Name string
	// Spec is an exact version, a range or a dist-tag; empty means latest.
	Spec string
	// Latest, when above zero, requests that many of the highest versions
	// that satisfy Spec.
	Latest     int
	Prerelease bool
	// Integrity is the integrity a lockfile recorded for this version; the
	// fetched tarball must match it as well as the registry's.
	Integrity string
	// NoDependencies stops the closure here. Lockfile entries set it,
	// because a lockfile already lists every package of its tree.
	NoDependencies bool
	// Origin is the source of the request, such as
	// "manifests/app.yaml:12", for messages and the ledger.
	Origin string
	// Manifest is the name of the manifest that made the request.
	Manifest string
}

// Resolved is one exact package version in the closure.
type Resolved struct {
	Name    string
	Version string
	Dist    Dist
	// LockIntegrity is the integrity a lockfile recorded, if any.
	LockIntegrity    string
	Tags             []string
	RequestedBy      string
	Manifest         string
	Deprecated       bool
	HasInstallScript bool
	// Optional is true when every path to this version went through an
	// optional dependency.
	Optional bool
}

// Key returns "name@version".
func (r *Resolved) Key() string { return r.Name + "@" + r.Version }

// Options sets what the dependency closure follows.
type Options struct {
	// Optional follows optionalDependencies, keeping platform-specific
	// packages for every platform.
	Optional bool
	// Peer follows peerDependencies that are not marked optional.
	Peer bool
	// Concurrency bounds parallel packument requests (default 8).
	Concurrency int
	// OnResolved, when set, is called with the number of versions resolved
	// so far, for progress output.
	OnResolved func(n int)
}

// Result is the outcome of resolving a set of requests.
type Result struct {
	Packages []*Resolved
	// Warnings lists optional dependencies that could not be resolved;
	// npm skips those, and so does Sluice.
	Warnings []string
	// Packuments is the number of packuments fetched.
	Packuments int
}

// Resolver computes the full dependency closure of a set of requests.
type Resolver struct {
	registry *Registry
	opts     Options
}

// NewResolver returns a resolver reading from registry.
func NewResolver(registry *Registry, opts Options) *Resolver {
	if opts.Concurrency <= 0 {
		opts.Concurrency = 8
	}
	return &Resolver{registry: registry, opts: opts}
}

// edge is a request for a package as it travels through the closure.
type edge struct {
	Request
	optional bool
}

// Resolve resolves every request and, unless the request sets
// NoDependencies, every dependency of what it resolves to. It reports all
// errors at once, each naming its origin. On error the result still lists
// what resolved.
func (r *Resolver) Resolve(ctx context.Context, reqs []Request) (*Result, error) {
	res := &Result{}
	packuments := map[string]*Packument{}
	failed := map[string]error{}
	found := map[string]*Resolved{}
	followed := map[string]bool{}
	var errs []error

	level := make([]edge, 0, len(reqs))
	for _, q := range reqs {
		level = append(level, edge{Request: q})
	}
	for len(level) > 0 {
		if err := r.fetchPackuments(ctx, level, packuments, failed); err != nil {
			return res, err
		}
		res.Packuments = len(packuments)
		var next []edge
		for _, e := range level {
			if err := failed[e.Name]; err != nil {
				errs, res.Warnings = report(errs, res.Warnings, e, err)
				continue
			}
			p := packuments[e.Name]
			versions, err := pickAll(p, e.Request)
			if err != nil {
				errs, res.Warnings = report(errs, res.Warnings, e, err)
				continue
			}
			for _, v := range versions {
				if err := checkLockIntegrity(e.Integrity, p.Versions[v].Dist.Integrity); err != nil {
					errs, res.Warnings = report(errs, res.Warnings, e, err)
					continue
				}
				next = append(next, r.add(p, v, e, found, followed)...)
			}
			if r.opts.OnResolved != nil {
				r.opts.OnResolved(len(found))
			}
		}
		level = next
	}
	for _, p := range found {
		res.Packages = append(res.Packages, p)
	}
	sort.Slice(res.Packages, func(i, j int) bool { return res.Packages[i].Key() < res.Packages[j].Key() })
	return res, errors.Join(errs...)
}

// add records version v of p as resolved through e, and returns the
// dependency edges to follow from it.
func (r *Resolver) add(p *Packument, v string, e edge, found map[string]*Resolved, followed map[string]bool) []edge {
	key := p.Name + "@" + v
	meta := p.Versions[v]
	if got, ok := found[key]; ok {
		got.Optional = got.Optional && e.optional
		if got.LockIntegrity == "" {
			got.LockIntegrity = e.Integrity
		}
	} else {
		found[key] = &Resolved{Name: p.Name, Version: v, Dist: meta.Dist, LockIntegrity: e.Integrity,
			Tags: p.tagsOf(v), RequestedBy: e.Origin, Manifest: e.Manifest,
			Deprecated: meta.IsDeprecated(), HasInstallScript: meta.HasInstallScript, Optional: e.optional}
	}
	if e.NoDependencies || followed[key] {
		return nil
	}
	followed[key] = true
	var out []edge
	for _, d := range r.dependencies(meta) {
		name, spec := splitAlias(d.name, d.spec)
		out = append(out, edge{Request: Request{Name: name, Spec: spec,
			Origin:   fmt.Sprintf("%s -> %s@%s", key, d.name, d.spec),
			Manifest: e.Manifest}, optional: e.optional || d.optional})
	}
	return out
}

type dependency struct {
	name, spec string
	optional   bool
}

// dependencies lists what the closure follows from one version, sorted by
// name for a stable order.
func (r *Resolver) dependencies(v *Version) []dependency {
	bundled := v.bundled()
	deps := map[string]dependency{}
	for n, s := range v.Dependencies {
		deps[n] = dependency{n, s, false}
	}
	if r.opts.Optional {
		for n, s := range v.OptionalDependencies {
			deps[n] = dependency{n, s, true}
		}
	} else {
		for n := range v.OptionalDependencies {
			delete(deps, n)
		}
	}
	if r.opts.Peer {
		for n, s := range v.PeerDependencies {
			if _, ok := deps[n]; ok || v.PeerDependenciesMeta[n].Optional {
				continue
			}
			deps[n] = dependency{n, s, false}
		}
	}
	out := make([]dependency, 0, len(deps))
	for n, d := range deps {
		if !bundled[n] {
			out = append(out, d)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

func pickAll(p *Packument, q Request) ([]string, error) {
	if err := checkSpec(q.Spec); err != nil {
		return nil, err
	}
	if q.Latest > 0 {
		spec := q.Spec
		if spec == "" || spec == "latest" {
			spec = "*"
		}
		return PickLatest(p, spec, q.Latest, q.Prerelease)
	}
	spec := q.Spec
	if spec == "" {
		spec = "latest"
	}
	v, err := Pick(p, spec, q.Prerelease)
	if err != nil {
		return nil, err
	}
	return []string{v}, nil
}

// report files a resolution failure as an error, or as a warning when it
// happened below an optional dependency.
func report(errs []error, warnings []string, e edge, err error) ([]error, []string) {
	if e.optional {
		return errs, append(warnings, fmt.Sprintf("%s: optional dependency skipped: %v", e.Origin, err))
	}
	return append(errs, fmt.Errorf("%s: %w", e.Origin, err)), warnings
}

// fetchPackuments fetches, in parallel, the packuments the edges need that
// are not cached yet. Failures are kept per package name; only a cancelled
// context is returned as an error.
func (r *Resolver) fetchPackuments(ctx context.Context, level []edge, cache map[string]*Packument, failed map[string]error) error {
	var names []string
	want := map[string]bool{}
	for _, e := range level {
		if cache[e.Name] == nil && failed[e.Name] == nil && !want[e.Name] {
			want[e.Name] = true
			names = append(names, e.Name)
		}
	}
	var mu sync.Mutex
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(r.opts.Concurrency)
	for _, name := range names {
		g.Go(func() error {
			p, err := r.registry.Packument(gctx, name)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				failed[name] = err
			} else {
				cache[name] = p
			}
			return nil
		})
	}
	g.Wait()
	return ctx.Err()
}
