package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"time"

	"github.com/sluice-dev/sluice/ingest/blobs"
	"github.com/sluice-dev/sluice/ingest/npm"
	"github.com/sluice-dev/sluice/ingest/oci"
	"github.com/sluice-dev/sluice/ingest/state"
	"github.com/sluice-dev/sluice/manifests"
)

// Runner syncs manifests. Scan, Evaluate, Sign and the publishers may be
// nil: a nil stage is recorded as skipped, and without a publisher for an
// ecosystem the run ends with its artifacts stored and ready to publish.
type Runner struct {
	DB    *state.DB
	Blobs *blobs.Store
	NPM   *npm.Registry
	// Images reads container images from their registries.
	Images *oci.Client

	Scan     Stage
	Evaluate Stage
	Sign     Stage
	// VerifyImage checks the upstream signature of a fetched image whose
	// request names keys, before the image moves on, and returns ledger
	// evidence of the result. A signature that does not verify is a
	// result, not an error. When it is nil, such an image fails to fetch.
	VerifyImage func(ctx context.Context, a *state.Artifact, res *oci.Resolved) (map[string]string, error)
	// Publish publishes npm packages, PublishImages container images.
	Publish       Publisher
	PublishImages ImagePublisher

	// Concurrency bounds parallel downloads and uploads (default 8).
	Concurrency int
	// Actor is the identity recorded in the ledger (default "sluice").
	Actor    string
	Log      *slog.Logger
	Progress Progress

	imageFetcher *oci.Fetcher
}

// Summary counts what a sync did.
type Summary struct {
	Run      string
	Resolved int
	New      int
	Fetched  int
	// FetchedImages counts the container images among Fetched.
	FetchedImages int
	FetchBytes    int64
	Reused        int
	Published     int
	Present       int
	Rejected      int
	Waiting       int
	Notes         []string
	Duration      time.Duration
}

func (r *Runner) defaults() {
	if r.Concurrency <= 0 {
		r.Concurrency = 8
	}
	if r.Actor == "" {
		r.Actor = "sluice"
	}
	if r.Log == nil {
		r.Log = slog.New(slog.DiscardHandler)
	}
	if r.Progress == nil {
		r.Progress = nopProgress{}
	}
	if r.Images != nil && r.imageFetcher == nil {
		r.imageFetcher = oci.NewFetcher(r.Images, r.Blobs, r.Concurrency)
	}
}

// Sync resolves, fetches, checks, stores, passes through the stages and
// publishes everything the manifests ask for. It keeps going past a
// failing artifact and returns every failure at the end; what succeeded
// stays recorded, so the next Sync continues from there.
func (r *Runner) Sync(ctx context.Context, ms []*manifests.Manifest) (*Summary, error) {
	return r.run(ctx, ms, npmRequests)
}

// SyncRequests runs the steps of Sync for requests made outside a
// manifest file, such as the packages a Backstage plugin adds to an app,
// recording them under manifest m. Requests that set NoDependencies stop
// the closure at the versions they name.
func (r *Runner) SyncRequests(ctx context.Context, m *manifests.Manifest, reqs []npm.Request) (*Summary, error) {
	return r.run(ctx, []*manifests.Manifest{m},
		func(*manifests.Manifest) ([]npm.Request, []string, error) { return reqs, nil, nil })
}

// requestsFunc returns the npm requests of a manifest and notes on what
// it leaves out.
type requestsFunc func(*manifests.Manifest) ([]npm.Request, []string, error)

func (r *Runner) run(ctx context.Context, ms []*manifests.Manifest, requests requestsFunc) (*Summary, error) {
	r.defaults()
	start := time.Now()
	run, err := r.DB.StartRun(manifestDigests(ms), r.Actor)
	if err != nil {
		return nil, err
	}
	sum := &Summary{Run: run.ID}
	err = r.sync(ctx, run.ID, ms, requests, sum)
	sum.Duration = time.Since(start)
	run.Counts = map[string]int64{"resolved": int64(sum.Resolved), "new": int64(sum.New),
		"fetched": int64(sum.Fetched), "fetchedBytes": sum.FetchBytes, "published": int64(sum.Published)}
	if ferr := r.DB.FinishRun(run, err); ferr != nil {
		err = errors.Join(err, ferr)
	}
	return sum, err
}

func (r *Runner) sync(ctx context.Context, runID string, ms []*manifests.Manifest, requests requestsFunc,
	sum *Summary) error {
	resolved, notes, err := r.resolve(ctx, ms, requests)
	sum.Notes = notes
	if err != nil {
		return fmt.Errorf("nothing was fetched: %w", err)
	}
	images, err := r.resolveImages(ctx, ms)
	if err != nil {
		return fmt.Errorf("nothing was fetched: %w", err)
	}
	sum.Resolved = len(resolved) + len(images)
	arts, err := r.record(runID, resolved, ms, sum)
	if err != nil {
		return err
	}
	imageArts, err := r.recordImages(runID, images, ms, sum)
	if err != nil {
		return err
	}
	arts = append(arts, imageArts...)
	byKey := make(map[string]*oci.Resolved, len(images))
	for _, img := range images {
		byKey[imageKey(img)] = img
	}
	fetchErr := r.fetchAll(ctx, runID, arts, byKey, sum)
	if ctx.Err() != nil {
		return fmt.Errorf("interrupted; what was stored is kept, run sync again to continue: %w", ctx.Err())
	}
	stageErr := r.stageAll(ctx, runID, arts, sum)
	if ctx.Err() != nil {
		return fmt.Errorf("interrupted; what was stored is kept, run sync again to continue: %w", ctx.Err())
	}
	var pubErr error
	if r.Publish != nil || r.PublishImages != nil {
		pubErr = r.publishAll(ctx, runID, arts, sum)
	}
	return errors.Join(fetchErr, stageErr, pubErr)
}

// resolve resolves every manifest's npm requests, one manifest at a time
// because each has its own dependency options.
func (r *Runner) resolve(ctx context.Context, ms []*manifests.Manifest,
	requests requestsFunc) ([]*npm.Resolved, []string, error) {
	var out []*npm.Resolved
	var notes []string
	var errs []error
	seen := map[string]bool{}
	pinged := false
	r.Progress.Start("resolve", -1)
	defer r.Progress.Done()
	for _, m := range ms {
		reqs, n, err := requests(m)
		notes = append(notes, n...)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if len(reqs) == 0 {
			continue
		}
		if r.NPM == nil {
			errs = append(errs, fmt.Errorf("%s: asks for npm packages but no npm upstream is configured", m.Path))
			continue
		}
		if !pinged {
			if err := r.NPM.Ping(ctx); err != nil {
				return nil, notes, err
			}
			pinged = true
		}
		var deps manifests.DependencyOptions
		if m.Spec.NPM != nil {
			deps = m.Spec.NPM.Dependencies
		}
		reported := 0
		onResolved := func(n int) {
			r.Progress.Add(n-reported, 0)
			reported = n
		}
		res, err := npm.NewResolver(r.NPM, npm.Options{Optional: deps.Optional, Peer: deps.Peer,
			Concurrency: r.Concurrency, OnResolved: onResolved}).Resolve(ctx, reqs)
		if err != nil {
			errs = append(errs, err)
		}
		notes = append(notes, res.Warnings...)
		for _, p := range res.Packages {
			if !seen[p.Key()] {
				seen[p.Key()] = true
				out = append(out, p)
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, notes, fmt.Errorf("resolve failed:\n%w", err)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key() < out[j].Key() })
	return out, notes, nil
}

// record creates each resolved version as an artifact, or finds it from an
// earlier run, and moves new ones to resolved. It does so in a single
// transaction: one disk sync however many packages the closure holds.
func (r *Runner) record(runID string, resolved []*npm.Resolved, ms []*manifests.Manifest, sum *Summary) ([]*state.Artifact, error) {
	meta := map[string]manifests.Metadata{}
	for _, m := range ms {
		meta[m.Metadata.Name] = m.Metadata
	}
	var arts []*state.Artifact
	err := r.DB.Update(func(tx *state.Tx) error {
		arts, sum.New = make([]*state.Artifact, 0, len(resolved)), 0
		for _, p := range resolved {
			m := meta[p.Manifest]
			a, created, err := tx.Create(&state.Artifact{Ecosystem: state.EcosystemNPM, Name: p.Name,
				Version: p.Version, RequestedBy: p.RequestedBy, Manifests: []string{p.Manifest},
				Owner: m.Owner, DataClass: m.DataClass, Requester: r.Actor}, runID, r.Actor)
			if err != nil {
				return err
			}
			if created {
				sum.New++
			} else if !slices.Contains(a.Manifests, p.Manifest) {
				if err := recordRequestAgain(tx, runID, r.Actor, a, p, m); err != nil {
					return err
				}
			}
			if a.State == state.StateRequested {
				if a, err = tx.Transition(a.Key(), resolvedChange(runID, r.Actor, p)); err != nil {
					return err
				}
			}
			arts = append(arts, a)
		}
		return nil
	})
	return arts, err
}

// recordRequestAgain notes on an existing artifact that another manifest
// requests it, with that manifest's owner and data class, so the ledger
// shows every team that depends on it.
// NOTE: the artifact keeps the verdict of its first evaluation, made for
// the first manifest's data class; a stricter data class asking later is
// recorded here but does not trigger a new evaluation.
func recordRequestAgain(tx *state.Tx, runID, actor string, a *state.Artifact, p *npm.Resolved, m manifests.Metadata) error {
	return tx.UpdateArtifact(a.Key(), state.Entry{Type: state.EntryRequestedAgain, Run: runID, Actor: actor,
		Evidence: map[string]string{"manifest": p.Manifest, "owner": m.Owner, "dataClass": m.DataClass,
			"requestedBy": p.RequestedBy}},
		func(x *state.Artifact) { x.Manifests = append(x.Manifests, p.Manifest) })
}

// resolvedChange records what the registry states about a version.
func resolvedChange(runID, actor string, p *npm.Resolved) state.Change {
	return state.Change{To: state.StateResolved, Run: runID, Actor: actor,
		Evidence: map[string]string{"tarball": p.Dist.Tarball, "integrity": p.Dist.Integrity,
			"shasum": p.Dist.Shasum, "lockfileIntegrity": p.LockIntegrity},
		Update: func(a *state.Artifact) {
			a.TarballURL, a.Integrity, a.Shasum, a.Tags = p.Dist.Tarball, p.Dist.Integrity, p.Dist.Shasum, p.Tags
			a.LockIntegrity = p.LockIntegrity
		}}
}

// manifestDigests maps each manifest's absolute path to the sha256 of its
// content as parsed, for the ledger. A manifest built in memory, such as a
// plugin request's, has no path and is named "manifest:<name>".
func manifestDigests(ms []*manifests.Manifest) map[string]string {
	out := make(map[string]string, len(ms))
	for _, m := range ms {
		if m.Path == "" {
			out["manifest:"+m.Metadata.Name] = m.Digest
			continue
		}
		path, err := filepath.Abs(m.Path)
		if err != nil {
			path = m.Path
		}
		out[path] = m.Digest
	}
	return out
}

// tarballOpener returns a function that opens an artifact's stored tarball.
func (r *Runner) tarballOpener(a *state.Artifact) func() (*os.File, error) {
	return func() (*os.File, error) { return r.Blobs.Open(a.Digest) }
}
