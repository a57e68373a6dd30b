package ingest

import (
	"context"
	"errors"
	"sync"

	"github.com/sluice-dev/sluice/ingest/oci"
	"github.com/sluice-dev/sluice/ingest/state"
	"github.com/sluice-dev/sluice/manifests"
	"golang.org/x/sync/errgroup"
)

// Status is the standing of a planned artifact before a sync.
type Status string

// Plan statuses.
const (
	// StatusNew artifacts would be fetched.
	StatusNew Status = "new"
	// StatusStored artifacts are in the blob store but not yet published.
	StatusStored Status = "stored"
	// StatusMirrored artifacts are already published.
	StatusMirrored Status = "mirrored"
	// StatusHeld artifacts wait for approval or were rejected.
	StatusHeld Status = "held"
)

// PlanItem is one artifact a sync would handle.
type PlanItem struct {
	Key         string `json:"key"`
	Name        string `json:"name"`
	Version     string `json:"version"`
	Status      Status `json:"status"`
	State       string `json:"state,omitempty"`
	Size        int64  `json:"size"`
	RequestedBy string `json:"requestedBy"`
}

// Plan lists the artifacts a sync of some manifests would bring in.
type Plan struct {
	Items []PlanItem `json:"items"`
	// Counts by status, and the download size of the new artifacts (as the
	// upstream states it; -1 for an artifact whose size it did not state).
	Counts   map[Status]int `json:"counts"`
	NewBytes int64          `json:"newBytes"`
	Notes    []string       `json:"notes,omitempty"`
}

// Plan resolves the manifests and compares the result with the store,
// without fetching a tarball or layer or changing any state. It sends a
// HEAD request to the upstream for the size of each new tarball, and reads
// the manifests of each new image for the size of its blobs.
func (r *Runner) Plan(ctx context.Context, ms []*manifests.Manifest) (*Plan, error) {
	r.defaults()
	resolved, notes, err := r.resolve(ctx, ms, npmRequests)
	if err != nil {
		return nil, err
	}
	images, err := r.resolveImages(ctx, ms)
	if err != nil {
		return nil, err
	}
	p := &Plan{Counts: map[Status]int{}, Notes: notes}
	p.Items = make([]PlanItem, len(resolved), len(resolved)+len(images))
	var sizes []int
	for i, res := range resolved {
		it := PlanItem{Key: state.ArtifactKey(state.EcosystemNPM, res.Name, res.Version), Name: res.Name,
			Version: res.Version, Status: StatusNew, RequestedBy: res.RequestedBy}
		if err := r.compareStored(&it); err != nil {
			return nil, err
		}
		if it.Status == StatusNew {
			sizes = append(sizes, i)
		}
		p.Items[i] = it
		p.Counts[it.Status]++
	}
	imageAt := map[int]*oci.Resolved{}
	for _, img := range images {
		it := PlanItem{Key: imageKey(img), Name: img.Repository, Version: img.Digest, Status: StatusNew,
			RequestedBy: img.RequestedBy}
		if err := r.compareStored(&it); err != nil {
			return nil, err
		}
		if it.Status == StatusNew {
			imageAt[len(p.Items)] = img
			sizes = append(sizes, len(p.Items))
		}
		p.Counts[it.Status]++
		p.Items = append(p.Items, it)
	}
	var mu sync.Mutex
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(r.Concurrency)
	r.Progress.Start("size", len(sizes))
	defer r.Progress.Done()
	for _, i := range sizes {
		g.Go(func() error {
			var n int64
			var err error
			if img, ok := imageAt[i]; ok {
				n, err = r.Images.Size(gctx, img)
			} else {
				n, err = r.NPM.TarballSize(gctx, resolved[i].Dist.Tarball)
			}
			if err != nil {
				n = -1
			}
			mu.Lock()
			defer mu.Unlock()
			p.Items[i].Size = n
			if n > 0 {
				p.NewBytes += n
			}
			r.Progress.Add(1, 0)
			return nil
		})
	}
	return p, g.Wait()
}

// compareStored sets a planned item's state, size and status from the
// store when the store has the artifact.
func (r *Runner) compareStored(it *PlanItem) error {
	a, err := r.DB.Artifact(it.Key)
	switch {
	case errors.Is(err, state.ErrNotFound):
	case err != nil:
		return err
	default:
		it.State, it.Size, it.Status = string(a.State), a.Size, planStatus(a)
	}
	return nil
}

func planStatus(a *state.Artifact) Status {
	switch {
	case state.Reached(a.State, state.StatePublished):
		return StatusMirrored
	case a.State == state.StateRejected || a.State == state.StateAwaitingApproval:
		return StatusHeld
	case state.Reached(a.State, state.StateFetched):
		return StatusStored
	}
	return StatusNew
}
