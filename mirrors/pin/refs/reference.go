package refs

import (
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"
)

// dockerHub is the registry name references to Docker Hub are normalised
// to. go-containerregistry calls it index.docker.io; Docker and the
// mirror's lookups call it docker.io.
const dockerHub = "docker.io"

// ImageMirror finds the internal copy of an upstream image.
type ImageMirror interface {
	// Lookup takes a normalised reference (see Normalize), such as
	// "docker.io/library/nginx:1.27" or "ghcr.io/org/app@sha256:<hex>",
	// and returns the internal reference pinned by digest, such as
	// "harbor.internal/docker.io/library/nginx@sha256:<hex>". ok is false
	// when the image was not mirrored; err is for failed look-ups only.
	Lookup(ref string) (pinned string, ok bool, err error)
}

// MapMirror is an ImageMirror backed by a map from normalised reference to
// pinned reference.
type MapMirror map[string]string

// Lookup returns the map's entry for ref.
func (m MapMirror) Lookup(ref string) (string, bool, error) {
	pinned, ok := m[ref]
	return pinned, ok, nil
}

// Reference is a parsed, normalised image reference.
type Reference struct {
	// Registry is the registry host, docker.io for Docker Hub.
	Registry string
	// Repository is the path in the registry, with library/ added for
	// Docker Hub's official images.
	Repository string
	// Tag is set when the reference has no digest.
	Tag string
	// Digest is "sha256:<hex>" for references by digest.
	Digest string
}

// String returns the normalised reference.
func (r Reference) String() string {
	if r.Digest != "" {
		return r.Registry + "/" + r.Repository + "@" + r.Digest
	}
	return r.Registry + "/" + r.Repository + ":" + r.Tag
}

// Normalize parses ref the way Docker does: a name without a registry is
// on docker.io, a one-part Docker Hub name is under library/, and a
// reference without tag or digest means the tag latest. A reference with
// both a tag and a digest keeps only the digest, which is what a client
// pulls.
func Normalize(ref string) (Reference, error) {
	parsed, err := name.ParseReference(ref)
	if err != nil {
		return Reference{}, fmt.Errorf("invalid image reference %q: %w", ref, err)
	}
	r := Reference{
		Registry:   parsed.Context().RegistryStr(),
		Repository: parsed.Context().RepositoryStr(),
	}
	if r.Registry == name.DefaultRegistry {
		r.Registry = dockerHub
	}
	switch p := parsed.(type) {
	case name.Digest:
		r.Digest = p.DigestStr()
	case name.Tag:
		r.Tag = p.TagStr()
	}
	return r, nil
}

// checkPinned verifies that a mirror's answer is a digest reference on the
// internal registry, so a faulty mirror cannot make pin write a tag or an
// upstream reference.
func checkPinned(pinned, registry string) (Reference, error) {
	r, err := Normalize(pinned)
	if err != nil {
		return Reference{}, err
	}
	if r.Digest == "" {
		return Reference{}, fmt.Errorf("mirror returned %q, which has no digest", pinned)
	}
	if r.Registry != registry {
		return Reference{}, fmt.Errorf("mirror returned %q, which is not on %s", pinned, registry)
	}
	return r, nil
}
