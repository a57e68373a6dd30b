package oci

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"golang.org/x/sync/errgroup"

	"github.com/sluice-dev/sluice/ingest/blobs"
	"github.com/sluice-dev/sluice/ingest/oci"
)

// pushGraph pushes a manifest after everything it refers to: an index
// after its manifests, an image manifest after its config and layers, so
// the registry never holds a manifest with missing references.
func (p *Publisher) pushGraph(ctx context.Context, repo name.Repository, digest, mediaType string) error {
	t, err := p.taggable(digest, mediaType)
	if err != nil {
		return err
	}
	m, err := oci.ParseManifest(t.raw, mediaType)
	if err != nil {
		return fmt.Errorf("stored manifest %s: %w", digest, err)
	}
	for _, child := range m.Children {
		if err := p.pushGraph(ctx, repo, child.Digest.String(), string(child.MediaType)); err != nil {
			return err
		}
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(p.jobs)
	for _, b := range m.Blobs {
		g.Go(func() error { return p.pushBlob(gctx, repo, b) })
	}
	if err := g.Wait(); err != nil {
		return err
	}
	if err := p.pusher.Put(ctx, repo.Digest(digest), t); err != nil {
		return fmt.Errorf("push manifest %s@%s: %w", repo, digest, err)
	}
	return nil
}

// pushBlob uploads one blob unless the repository has it, mounting it
// from another repository of the registry where this publisher pushed it.
// While one repository's upload of a blob runs, pushes of the same blob to
// other repositories wait for it and then mount, so images published in
// parallel send a shared base layer once.
func (p *Publisher) pushBlob(ctx context.Context, repo name.Repository, d v1.Descriptor) error {
	digest := d.Digest.String()
	var layer v1.Layer = storeLayer{store: p.store, desc: d}
	p.mu.Lock()
	for {
		if from, ok := p.located[digest]; ok {
			if from != repo {
				layer = &remote.MountableLayer{Layer: layer, Reference: from.Digest(digest)}
			}
			break
		}
		busy, ok := p.uploading[digest]
		if !ok {
			p.uploading[digest] = make(chan struct{})
			break
		}
		p.mu.Unlock()
		select {
		case <-busy:
		case <-ctx.Done():
			return ctx.Err()
		}
		p.mu.Lock()
	}
	p.mu.Unlock()

	err := p.pusher.Upload(ctx, repo, layer)

	p.mu.Lock()
	defer p.mu.Unlock()
	if busy, ok := p.uploading[digest]; ok {
		delete(p.uploading, digest)
		close(busy)
	}
	if err != nil {
		return fmt.Errorf("push blob %s@%s: %w", repo, digest, err)
	}
	if _, ok := p.located[digest]; !ok {
		p.located[digest] = repo
	}
	return nil
}

// taggable returns a stored manifest as go-containerregistry pushes it:
// the exact bytes with their media type.
func (p *Publisher) taggable(digest, mediaType string) (rawManifest, error) {
	f, err := p.store.Open(digest)
	if err != nil {
		return rawManifest{}, fmt.Errorf("stored manifest %s: %w", digest, err)
	}
	defer f.Close()
	raw, err := io.ReadAll(f)
	if err != nil {
		return rawManifest{}, fmt.Errorf("read stored manifest %s: %w", digest, err)
	}
	return rawManifest{raw: raw, mediaType: types.MediaType(mediaType)}, nil
}

// rawManifest is a manifest's bytes and media type.
type rawManifest struct {
	raw       []byte
	mediaType types.MediaType
}

func (r rawManifest) RawManifest() ([]byte, error)        { return r.raw, nil }
func (r rawManifest) MediaType() (types.MediaType, error) { return r.mediaType, nil }

// storeLayer is a blob in the blob store, as go-containerregistry uploads
// it. Only its compressed form exists: uploads never read the rest.
type storeLayer struct {
	store *blobs.Store
	desc  v1.Descriptor
}

var errCompressedOnly = errors.New("a stored blob is read only as stored")

func (l storeLayer) Digest() (v1.Hash, error)            { return l.desc.Digest, nil }
func (l storeLayer) DiffID() (v1.Hash, error)            { return v1.Hash{}, errCompressedOnly }
func (l storeLayer) Size() (int64, error)                { return l.desc.Size, nil }
func (l storeLayer) MediaType() (types.MediaType, error) { return l.desc.MediaType, nil }
func (l storeLayer) Uncompressed() (io.ReadCloser, error) {
	return nil, errCompressedOnly
}

func (l storeLayer) Compressed() (io.ReadCloser, error) {
	return l.store.Open(l.desc.Digest.String())
}
