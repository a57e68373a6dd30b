package oci

import (
	"fmt"
	"slices"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/sluice-dev/sluice/ingest/state"
)

// MirroredReference returns the digest reference on a mirror
// ("registry/repository@sha256:<hex>") of an upstream image reference by
// tag or digest, as the state store recorded it when the image was
// published. mirror picks one of the recorded mirror repositories by
// prefix ("harbor.example/mirror"); empty picks the first. A tag that
// pointed at several published digests over time gives the most recently
// published one. An image not published there returns state.ErrNotFound.
func MirroredReference(db *state.DB, upstream, mirror string) (string, error) {
	ref, err := name.ParseReference(upstream)
	if err != nil {
		return "", fmt.Errorf("invalid image reference %q: %w", upstream, err)
	}
	repo := ref.Context().Name()
	arts, err := db.Artifacts(func(a *state.Artifact) bool {
		if a.Ecosystem != state.EcosystemOCI || a.Name != repo || !state.Reached(a.State, state.StatePublished) {
			return false
		}
		if d, ok := ref.(name.Digest); ok {
			return a.Version == d.DigestStr() || a.Digest == d.DigestStr()
		}
		return slices.Contains(a.Tags, ref.Identifier())
	})
	if err != nil {
		return "", err
	}
	var best *state.Artifact
	var target string
	for _, a := range arts {
		i := slices.IndexFunc(a.Mirrors, func(m string) bool { return mirror == "" || strings.HasPrefix(m, mirror) })
		if i >= 0 && (best == nil || a.Updated.After(best.Updated)) {
			best, target = a, a.Mirrors[i]
		}
	}
	if best == nil {
		return "", fmt.Errorf("%s: %w: no published image of it on a mirror%s", upstream,
			state.ErrNotFound, forMirror(mirror))
	}
	return target + "@" + best.Digest, nil
}

func forMirror(mirror string) string {
	if mirror == "" {
		return ""
	}
	return " under " + mirror
}
