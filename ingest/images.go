package ingest

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"

	"github.com/sluice-dev/sluice/ingest/oci"
	"github.com/sluice-dev/sluice/ingest/state"
	"github.com/sluice-dev/sluice/manifests"
)

// imageRequests turns the image entries of a manifest into resolver
// requests.
func imageRequests(m *manifests.Manifest) []oci.Request {
	reqs := make([]oci.Request, 0, len(m.Spec.Images))
	for _, img := range m.Spec.Images {
		what := img.Ref
		if what == "" {
			what = img.Repository + " " + describeTagFilter(img.Tags)
		}
		var keys []string
		if img.Verify != nil {
			keys = img.Verify.Keys
		}
		reqs = append(reqs, oci.Request{Ref: img.Ref, Repository: img.Repository, Tags: img.Tags,
			Platforms: img.Platforms, Attachments: img.Attachments == nil || *img.Attachments,
			VerifyKeys: keys, Origin: fmt.Sprintf("%s %s", img.Pos, what), Manifest: m.Metadata.Name})
	}
	return reqs
}

func describeTagFilter(f *manifests.TagFilter) string {
	var parts []string
	if f.Semver != "" {
		parts = append(parts, "semver "+f.Semver)
	}
	if f.Regex != "" {
		parts = append(parts, "regex "+f.Regex)
	}
	if f.Latest > 0 {
		parts = append(parts, fmt.Sprintf("latest %d", f.Latest))
	}
	return "(" + strings.Join(parts, ", ") + ")"
}

// resolveImages resolves every manifest's image entries to digests. Two
// entries that reach the same image give one, with the tags of both.
func (r *Runner) resolveImages(ctx context.Context, ms []*manifests.Manifest) ([]*oci.Resolved, error) {
	var out []*oci.Resolved
	var errs []error
	byRef := map[string]*oci.Resolved{}
	for _, m := range ms {
		reqs := imageRequests(m)
		if len(reqs) == 0 {
			continue
		}
		if r.Images == nil {
			errs = append(errs, fmt.Errorf("%s: asks for container images but no registry client "+
				"is configured", m.Path))
			continue
		}
		for _, req := range reqs {
			res, err := r.Images.Resolve(ctx, req)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			for _, img := range res {
				if prev, ok := byRef[img.Reference()]; ok {
					for _, t := range img.Tags {
						if !slices.Contains(prev.Tags, t) {
							prev.Tags = append(prev.Tags, t)
						}
					}
					continue
				}
				byRef[img.Reference()] = img
				out = append(out, img)
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("resolve failed:\n%w", err)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Reference() < out[j].Reference() })
	return out, nil
}

func imageKey(res *oci.Resolved) string {
	return state.ArtifactKey(state.EcosystemOCI, res.Repository, res.Digest)
}

// recordImages creates each resolved image as an artifact, or finds it
// from an earlier run and adds tags seen since, and moves new ones to
// resolved.
func (r *Runner) recordImages(runID string, resolved []*oci.Resolved, ms []*manifests.Manifest,
	sum *Summary) ([]*state.Artifact, error) {
	meta := map[string]manifests.Metadata{}
	for _, m := range ms {
		meta[m.Metadata.Name] = m.Metadata
	}
	var arts []*state.Artifact
	err := r.DB.Update(func(tx *state.Tx) error {
		arts = make([]*state.Artifact, 0, len(resolved))
		for _, res := range resolved {
			m := meta[res.Manifest]
			a, created, err := tx.Create(&state.Artifact{Ecosystem: state.EcosystemOCI, Name: res.Repository,
				Version: res.Digest, RequestedBy: res.RequestedBy, Manifests: []string{res.Manifest},
				Owner: m.Owner, DataClass: m.DataClass, Requester: r.Actor}, runID, r.Actor)
			if err != nil {
				return err
			}
			if created {
				sum.New++
			}
			var newTags []string
			for _, t := range res.Tags {
				if !slices.Contains(a.Tags, t) {
					newTags = append(newTags, t)
				}
			}
			if !created && (len(newTags) > 0 || !slices.Contains(a.Manifests, res.Manifest)) {
				err := tx.UpdateArtifact(a.Key(), state.Entry{Type: state.EntryRequestedAgain, Run: runID,
					Actor: r.Actor, Evidence: map[string]string{"manifest": res.Manifest, "owner": m.Owner,
						"dataClass": m.DataClass, "requestedBy": res.RequestedBy,
						"tags": strings.Join(newTags, ",")}},
					func(x *state.Artifact) {
						x.Tags = append(x.Tags, newTags...)
						if !slices.Contains(x.Manifests, res.Manifest) {
							x.Manifests = append(x.Manifests, res.Manifest)
						}
					})
				if err != nil {
					return err
				}
				if a, err = tx.Artifact(a.Key()); err != nil {
					return err
				}
			}
			if a.State == state.StateRequested {
				a, err = tx.Transition(a.Key(), state.Change{To: state.StateResolved, Run: runID, Actor: r.Actor,
					Evidence: map[string]string{"reference": res.Reference(), "mediaType": res.MediaType,
						"tags": strings.Join(res.Tags, ",")},
					Update: func(x *state.Artifact) { x.Tags, x.MediaType = res.Tags, res.MediaType }})
				if err != nil {
					return err
				}
			}
			arts = append(arts, a)
		}
		return nil
	})
	return arts, err
}

// fetchImage copies an image with its attachments into the blob store and
// moves it to fetched. A digest that does not match its bytes is recorded
// in the ledger.
func (r *Runner) fetchImage(ctx context.Context, runID string, a *state.Artifact,
	res *oci.Resolved) (*state.Artifact, int64, []string, error) {
	if res == nil {
		return a, 0, nil, fmt.Errorf("%s: not resolved in this run", a.Key())
	}
	st, err := r.imageFetcher.Fetch(ctx, res)
	if err != nil {
		if errors.Is(err, oci.ErrDigestMismatch) || errors.Is(err, oci.ErrUnsupportedMediaType) {
			rerr := r.DB.Record(state.Entry{Type: state.EntryFetchFailed, Subject: a.Key(), Run: runID,
				Actor: r.Actor, Evidence: map[string]string{"reference": res.Reference(), "error": err.Error()}})
			err = errors.Join(fmt.Errorf("%s: rejected, the image is not stored: %w", a.Key(), err), rerr)
			return a, 0, nil, err
		}
		return a, 0, nil, fmt.Errorf("%s: fetch: %w", a.Key(), err)
	}
	evidence := map[string]string{"digest": st.Digest, "mediaType": st.MediaType, "size": fmt.Sprint(st.Size),
		"blobs": fmt.Sprint(st.Blobs), "platforms": strings.Join(st.Platforms, ","),
		"attachments": fmt.Sprint(len(st.Attachments))}
	if len(res.VerifyKeys) > 0 {
		if r.VerifyImage == nil {
			return a, 0, nil, fmt.Errorf("%s: %s asks to verify upstream signatures, but this runner "+
				"has no image verifier", a.Key(), res.RequestedBy)
		}
		checked, err := r.VerifyImage(ctx, a, res)
		if err != nil {
			return a, 0, nil, fmt.Errorf("%s: verify the upstream signature: %w", a.Key(), err)
		}
		maps.Copy(evidence, checked)
	}
	update := func(x *state.Artifact) {
		x.Digest, x.MediaType, x.Size = st.Digest, st.MediaType, st.Size
		// Attachments made by Sluice's own stages stay; upstream ones are
		// replaced by what upstream has now.
		kept := slices.DeleteFunc(slices.Clone(x.Attachments), func(at state.Attachment) bool {
			return at.Source == oci.SourceUpstream
		})
		x.Attachments = append(kept, st.Attachments...)
	}
	var got *state.Artifact
	if a.State != state.StateResolved {
		if err = r.DB.UpdateArtifact(a.Key(), "artifact.refetched", runID, evidence, update); err == nil {
			got, err = r.DB.Artifact(a.Key())
		}
	} else {
		got, err = r.DB.Transition(a.Key(), state.Change{To: state.StateFetched, Run: runID, Actor: r.Actor,
			Evidence: evidence, Update: update})
	}
	if err != nil {
		return a, 0, nil, err
	}
	return got, st.FetchedBytes, st.Notes, nil
}
