package ingest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/sluice-dev/sluice/ingest/npm"
	"github.com/sluice-dev/sluice/ingest/oci"
	"github.com/sluice-dev/sluice/ingest/state"
	"golang.org/x/sync/errgroup"
)

// fetchAll downloads every artifact that is resolved but not stored, and
// re-downloads any whose blob went missing. Artifacts already stored cost
// no request.
func (r *Runner) fetchAll(ctx context.Context, runID string, arts []*state.Artifact,
	images map[string]*oci.Resolved, sum *Summary) error {
	var todo []int
	for i, a := range arts {
		switch {
		case a.State == state.StateResolved:
			todo = append(todo, i)
		case state.Reached(a.State, state.StateFetched) && !r.Blobs.Has(a.Digest):
			todo = append(todo, i)
		case state.Reached(a.State, state.StateFetched):
			sum.Reused++
		}
	}
	r.Progress.Start("fetch", len(todo))
	defer r.Progress.Done()
	var mu sync.Mutex
	var errs []error
	var g errgroup.Group
	g.SetLimit(r.Concurrency)
	for _, i := range todo {
		g.Go(func() error {
			var a *state.Artifact
			var n int64
			var notes []string
			var err error
			if arts[i].Ecosystem == state.EcosystemOCI {
				a, n, notes, err = r.fetchImage(ctx, runID, arts[i], images[arts[i].Key()])
			} else {
				a, n, err = r.fetchOne(ctx, runID, arts[i])
			}
			mu.Lock()
			defer mu.Unlock()
			sum.Notes = append(sum.Notes, notes...)
			if err != nil {
				errs = append(errs, err)
				return nil
			}
			arts[i] = a
			sum.Fetched++
			if a.Ecosystem == state.EcosystemOCI {
				sum.FetchedImages++
			}
			sum.FetchBytes += n
			r.Progress.Add(1, n)
			return nil
		})
	}
	g.Wait()
	if len(errs) > 0 {
		return fmt.Errorf("fetch: %d of %d artifacts failed:\n%w", len(errs), len(todo), errors.Join(errs...))
	}
	return nil
}

// fetchOne downloads a tarball into the blob store, checks it against the
// registry's integrity and any lockfile integrity, and only then commits it
// and moves the artifact to fetched. A mismatch stores nothing and is
// recorded in the ledger.
func (r *Runner) fetchOne(ctx context.Context, runID string, a *state.Artifact) (*state.Artifact, int64, error) {
	body, _, err := r.NPM.OpenTarball(ctx, a.TarballURL)
	if err != nil {
		return a, 0, fmt.Errorf("%s: fetch tarball: %w", a.Key(), err)
	}
	defer body.Close()
	hashes := npm.NewHashes()
	w, err := r.Blobs.Create(hashes.SHA512, hashes.SHA1)
	if err != nil {
		return a, 0, err
	}
	defer w.Abort()
	if _, err := io.Copy(w, body); err != nil {
		return a, 0, fmt.Errorf("%s: download %s: %w", a.Key(), a.TarballURL, err)
	}
	if err := verifyTarball(hashes, a); err != nil {
		rerr := r.DB.Record(state.Entry{Type: state.EntryFetchFailed, Subject: a.Key(), Run: runID,
			Actor: r.Actor, Evidence: map[string]string{"tarball": a.TarballURL, "error": err.Error(),
				"gotIntegrity": hashes.Integrity()}})
		return a, 0, errors.Join(fmt.Errorf("%s: tarball from %s rejected, nothing was stored: %w",
			a.Key(), a.TarballURL, err), rerr)
	}
	digest, err := w.Commit()
	if err != nil {
		return a, 0, fmt.Errorf("%s: %w", a.Key(), err)
	}
	size := w.Size()
	evidence := map[string]string{"digest": digest, "integrity": hashes.Integrity(),
		"shasum": hashes.Shasum(), "size": fmt.Sprint(size), "tarball": a.TarballURL}
	update := func(x *state.Artifact) {
		x.Digest, x.Size = digest, size
		if x.Integrity == "" {
			x.Integrity = hashes.Integrity()
		}
		if x.Shasum == "" {
			x.Shasum = hashes.Shasum()
		}
	}
	if a.State != state.StateResolved {
		err = r.DB.UpdateArtifact(a.Key(), "artifact.refetched", runID, evidence, update)
		if err != nil {
			return a, 0, err
		}
		got, err := r.DB.Artifact(a.Key())
		return got, size, err
	}
	got, err := r.DB.Transition(a.Key(), state.Change{To: state.StateFetched, Run: runID, Actor: r.Actor,
		Evidence: evidence, Update: update})
	return got, size, err
}

// verifyTarball checks the downloaded bytes against the registry's
// integrity, then against the lockfile's, and names the side to suspect.
func verifyTarball(h npm.Hashes, a *state.Artifact) error {
	if err := h.Verify(a.Integrity, a.Shasum); err != nil {
		return fmt.Errorf("%w; the upstream or a proxy on the way served other bytes than the "+
			"registry published: report it upstream and sync again", err)
	}
	if a.LockIntegrity != "" {
		if err := h.Verify(a.LockIntegrity, ""); err != nil {
			return fmt.Errorf("the bytes match the registry but not the lockfile: %w; "+
				"the lockfile was edited or made against another registry: regenerate it", err)
		}
	}
	return nil
}
