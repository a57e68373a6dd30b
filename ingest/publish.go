package ingest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"sync"

	"github.com/sluice-dev/sluice/ingest/state"
	"github.com/sluice-dev/sluice/internal/npmsemver"
	"golang.org/x/sync/errgroup"
)

// PublishStored publishes artifacts that are stored and have passed every
// configured stage, as the publish step of a sync does, for callers that
// bring artifacts in by other means than a sync (a transfer bundle).
func (r *Runner) PublishStored(ctx context.Context, runID string, arts []*state.Artifact) (*Summary, error) {
	r.defaults()
	sum := &Summary{Run: runID}
	return sum, r.publishAll(ctx, runID, arts, sum)
}

// publishAll publishes every publishable artifact that has a publisher
// for its ecosystem, then points the npm mirror's dist-tags of each
// package it touched at mirrored versions.
func (r *Runner) publishAll(ctx context.Context, runID string, arts []*state.Artifact, sum *Summary) error {
	var todo []int
	needs := map[state.Ecosystem]bool{}
	for i, a := range arts {
		if state.Reached(a.State, state.StatePublished) {
			sum.Present++
		} else if r.publishable(a) && r.hasPublisher(a.Ecosystem) {
			todo = append(todo, i)
			needs[a.Ecosystem] = true
		}
	}
	if needs[state.EcosystemNPM] {
		if err := r.Publish.Check(ctx); err != nil {
			return fmt.Errorf("publish: nothing was published: %w", err)
		}
	}
	if needs[state.EcosystemOCI] {
		if err := r.PublishImages.Check(ctx); err != nil {
			return fmt.Errorf("publish: nothing was published: %w", err)
		}
	}
	r.Progress.Start("publish", len(todo))
	defer r.Progress.Done()
	var mu sync.Mutex
	var errs []error
	touched := map[string]bool{}
	var g errgroup.Group
	g.SetLimit(r.Concurrency)
	for _, i := range todo {
		g.Go(func() error {
			a := arts[i]
			next, present, err := r.publishOne(ctx, runID, a)
			mu.Lock()
			defer mu.Unlock()
			r.Progress.Add(1, a.Size)
			if err != nil {
				errs = append(errs, err)
				return nil
			}
			arts[i] = next
			if a.Ecosystem == state.EcosystemNPM {
				touched[a.Name] = true
			}
			if present {
				sum.Present++
			} else {
				sum.Published++
			}
			return nil
		})
	}
	g.Wait()
	for _, name := range sortedKeys(touched) {
		if err := r.publishTags(ctx, name); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("publish: %d failed; run sync again to retry them:\n%w", len(errs), errors.Join(errs...))
	}
	return nil
}

func (r *Runner) hasPublisher(eco state.Ecosystem) bool {
	if eco == state.EcosystemOCI {
		return r.PublishImages != nil
	}
	return r.Publish != nil
}

// publishOne hands one artifact to its ecosystem's publisher and moves it
// to published, recording where it went.
func (r *Runner) publishOne(ctx context.Context, runID string, a *state.Artifact) (*state.Artifact, bool, error) {
	var mirror, name string
	var present bool
	var err error
	evidence := map[string]string{"digest": a.Digest}
	if a.Ecosystem == state.EcosystemOCI {
		name = r.PublishImages.Name()
		mirror, present, err = r.PublishImages.PublishImage(ctx, a)
		evidence["reference"] = mirror + "@" + a.Digest
		evidence["attachments"] = fmt.Sprint(len(a.Attachments))
		if ev, ok := r.PublishImages.(ImageEvidence); ok && err == nil {
			for k, v := range ev.PublishEvidence(mirror, a.Digest) {
				if _, taken := evidence[k]; !taken {
					evidence[k] = v
				}
			}
		}
	} else {
		name, mirror = r.Publish.Name(), r.Publish.URL()
		present, err = r.Publish.Publish(ctx, a, r.tarballOpener(a))
		evidence["tarball"] = r.Publish.TarballURL(a.Name, a.Version)
	}
	if err != nil {
		return a, false, fmt.Errorf("%s: publish to %s: %w", a.Key(), name, err)
	}
	evidence["mirror"], evidence["alreadyPresent"] = mirror, fmt.Sprint(present)
	next, err := r.DB.Transition(a.Key(), state.Change{To: state.StatePublished, Run: runID,
		Actor: r.Actor, Skipped: state.Between(a.State, state.StatePublished),
		Update: func(x *state.Artifact) {
			if !slices.Contains(x.Mirrors, mirror) {
				x.Mirrors = append(x.Mirrors, mirror)
			}
		},
		Evidence: evidence})
	if err != nil {
		return a, false, fmt.Errorf("%s: publish to %s: %w", a.Key(), name, err)
	}
	return next, present, nil
}

// publishTags sets the mirror's dist-tags for a package: each upstream tag
// that points at a mirrored version, and "latest" at the highest mirrored
// release when upstream's latest is not mirrored.
func (r *Runner) publishTags(ctx context.Context, name string) error {
	pub, err := r.DB.Artifacts(func(a *state.Artifact) bool {
		return a.Ecosystem == state.EcosystemNPM && a.Name == name && state.Reached(a.State, state.StatePublished)
	})
	if err != nil {
		return err
	}
	// A tag can sit on more than one stored artifact when upstream moved it
	// between runs; the highest version carrying it wins.
	tags := map[string]string{}
	tagged := map[string]npmsemver.Version{}
	latestRelease := ""
	var latestVersion npmsemver.Version
	for _, a := range pub {
		v, err := npmsemver.ParseVersion(a.Version)
		if err != nil {
			continue
		}
		for _, t := range a.Tags {
			if cur, ok := tagged[t]; !ok || v.GreaterThan(cur) {
				tags[t], tagged[t] = a.Version, v
			}
		}
		if !v.IsPreRelease() && (latestRelease == "" || v.GreaterThan(latestVersion)) {
			latestVersion, latestRelease = v, a.Version
		}
	}
	if _, ok := tags["latest"]; !ok && latestRelease != "" {
		tags["latest"] = latestRelease
	}
	if err := r.Publish.SetTags(ctx, name, tags); err != nil {
		return fmt.Errorf("%s: set dist-tags on %s: %w", name, r.Publish.Name(), err)
	}
	return nil
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
