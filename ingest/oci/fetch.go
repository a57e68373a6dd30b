package oci

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"golang.org/x/sync/errgroup"
	"golang.org/x/sync/singleflight"

	"github.com/sluice-dev/sluice/ingest/blobs"
	"github.com/sluice-dev/sluice/ingest/state"
)

// ErrDigestMismatch is returned when a registry serves bytes whose digest
// is not the one they were requested by.
var ErrDigestMismatch = errors.New("digest mismatch")

// Stored describes the blobs Fetch kept in the blob store for one image.
type Stored struct {
	// Digest and MediaType name the top manifest or index as stored: the
	// upstream's, or a new index when a platform filter dropped entries.
	Digest    string
	MediaType string
	// Size counts the bytes of every manifest and blob of the image.
	Size int64
	// FetchedBytes counts what this call downloaded; blobs the store
	// already held cost nothing.
	FetchedBytes int64
	Blobs        int
	// Platforms lists the platforms of an index's manifests, as
	// os/architecture[/variant].
	Platforms   []string
	Attachments []state.Attachment
	// Notes explain what was left out and why.
	Notes []string
}

// Fetcher copies images into a blob store. Manifests are kept byte for
// byte under the digest they were requested by, and blobs are verified
// against their descriptor before they are stored. A blob the store holds
// is never downloaded again, so a fetch that was killed continues with the
// missing blobs only. One Fetcher is shared by a run: its job limit
// bounds parallel blob downloads across all images, and two images that
// share a blob download it once.
type Fetcher struct {
	client *Client
	store  *blobs.Store
	jobs   chan struct{}
	flight singleflight.Group
}

// NewFetcher returns a fetcher that runs at most jobs blob downloads at a
// time.
func NewFetcher(c *Client, store *blobs.Store, jobs int) *Fetcher {
	return &Fetcher{client: c, store: store, jobs: make(chan struct{}, max(jobs, 1))}
}

// walk accumulates the blobs and bytes of an image graph.
type walk struct {
	mu        sync.Mutex
	blobs     map[string]v1.Descriptor
	size      int64
	fetched   int64
	platforms []string
	// children are the digests of the index entries kept.
	children []string
}

func (w *walk) add(size, fetched int64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.size += size
	w.fetched += fetched
}

// Fetch copies an image and, when requested, its upstream attachments
// into the blob store.
func (f *Fetcher) Fetch(ctx context.Context, res *Resolved) (*Stored, error) {
	repo, err := f.client.Repository(res.Repository)
	if err != nil {
		return nil, err
	}
	w := &walk{blobs: map[string]v1.Descriptor{}}
	digest, mediaType, err := f.copyManifest(ctx, repo, res.Digest, res.MediaType, res.Platforms, w)
	if err != nil {
		return nil, err
	}
	if err := f.copyBlobs(ctx, repo, w); err != nil {
		return nil, err
	}
	st := &Stored{Digest: digest, MediaType: mediaType, Platforms: w.platforms}
	if res.Attachments {
		// Attachments of the platform manifests still hold after a
		// platform filter; those of the upstream index do not.
		subjects := w.children
		if digest == res.Digest {
			subjects = append([]string{res.Digest}, subjects...)
		} else {
			st.Notes = append(st.Notes, fmt.Sprintf("%s: upstream signatures and attestations of the "+
				"index were not copied: the platform filter gave the mirrored index the new digest %s",
				res.Reference(), digest))
		}
		for _, subject := range subjects {
			found, err := f.copyAttachments(ctx, repo, subject, w)
			if err != nil {
				return nil, err
			}
			st.Attachments = append(st.Attachments, found...)
		}
	}
	st.Size, st.FetchedBytes, st.Blobs = w.size, w.fetched, len(w.blobs)
	return st, nil
}

// copyManifest stores one manifest and, for an index, the manifests it
// lists that pass the platform filter. It returns the digest and media
// type stored, which differ from the upstream's only when the filter
// dropped entries from an index.
func (f *Fetcher) copyManifest(ctx context.Context, repo name.Repository, digest, mediaType string,
	platforms []string, w *walk) (string, string, error) {
	raw, stored, err := f.manifest(ctx, repo, digest, w)
	if err != nil {
		return "", "", err
	}
	m, err := ParseManifest(raw, mediaType)
	if err != nil {
		return "", "", fmt.Errorf("%s@%s: %w", repo, digest, err)
	}
	if !stored {
		if _, err := f.store.Put(raw); err != nil {
			return "", "", fmt.Errorf("manifest %s@%s: %w", repo, digest, err)
		}
	}
	if !m.IsIndex() {
		w.mu.Lock()
		for _, b := range m.Blobs {
			w.blobs[b.Digest.String()] = b
		}
		w.mu.Unlock()
		return digest, string(m.MediaType), nil
	}
	kept, err := keepPlatforms(m.Children, platforms)
	if err != nil {
		return "", "", fmt.Errorf("%s@%s: %w", repo, digest, err)
	}
	for _, child := range kept {
		if child.Platform != nil {
			w.platforms = append(w.platforms, child.Platform.String())
		}
		w.children = append(w.children, child.Digest.String())
		if _, _, err := f.copyManifest(ctx, repo, child.Digest.String(), string(child.MediaType), nil, w); err != nil {
			return "", "", err
		}
	}
	if len(kept) == len(m.Children) {
		return digest, string(m.MediaType), nil
	}
	filtered, err := filterIndex(raw, kept)
	if err != nil {
		return "", "", fmt.Errorf("%s@%s: %w", repo, digest, err)
	}
	newDigest, err := f.store.Put(filtered)
	if err != nil {
		return "", "", err
	}
	return newDigest, string(m.MediaType), nil
}

// manifest returns a manifest's bytes from the store (stored is true),
// or downloads them and checks their digest. The caller stores downloaded
// bytes once it has parsed them.
func (f *Fetcher) manifest(ctx context.Context, repo name.Repository, digest string,
	w *walk) (raw []byte, stored bool, err error) {
	if raw, err := readBlob(f.store, digest); err == nil {
		w.add(int64(len(raw)), 0)
		return raw, true, nil
	}
	raw, _, err = f.client.getManifest(ctx, repo, digest)
	if err != nil {
		return nil, false, fmt.Errorf("fetch manifest %s@%s: %w", repo, digest, err)
	}
	if got := sha256Digest(raw); got != digest {
		return nil, false, fmt.Errorf("manifest %s@%s: %w: the registry served bytes with digest %s; "+
			"nothing was stored: report it to the registry's operator", repo, digest, ErrDigestMismatch, got)
	}
	w.add(int64(len(raw)), int64(len(raw)))
	return raw, false, nil
}

func (f *Fetcher) copyBlobs(ctx context.Context, repo name.Repository, w *walk) error {
	g, gctx := errgroup.WithContext(ctx)
	for _, b := range w.blobs {
		g.Go(func() error {
			n, err := f.blob(gctx, repo, b)
			w.add(b.Size, n)
			return err
		})
	}
	return g.Wait()
}

// blob stores one blob unless the store has it. Concurrent requests for
// the same digest share one download.
func (f *Fetcher) blob(ctx context.Context, repo name.Repository, d v1.Descriptor) (int64, error) {
	digest := d.Digest.String()
	if f.store.Has(digest) {
		return 0, nil
	}
	n, err, _ := f.flight.Do(digest, func() (any, error) {
		select {
		case f.jobs <- struct{}{}:
		case <-ctx.Done():
			return int64(0), ctx.Err()
		}
		defer func() { <-f.jobs }()
		var err error
		var total int64
		for attempt := 1; attempt <= f.client.attempts; attempt++ {
			var n int64
			n, err = f.download(ctx, repo, d)
			total += n
			if err == nil {
				return total, nil
			}
			if ctx.Err() != nil || errors.Is(err, ErrDigestMismatch) || errors.Is(err, ErrNotFound) {
				break
			}
		}
		return total, err
	})
	if err != nil {
		return 0, fmt.Errorf("blob %s@%s: %w", repo, digest, err)
	}
	return n.(int64), nil
}

// download fetches one blob into the store. It continues a download that
// an earlier attempt or a killed run cut off, with a Range request for
// the missing bytes, and returns the bytes it downloaded this time.
func (f *Fetcher) download(ctx context.Context, repo name.Repository, d v1.Descriptor) (int64, error) {
	digest := d.Digest.String()
	bw, err := f.store.Resume(digest)
	if err != nil {
		return 0, err
	}
	defer bw.Keep()
	offset := bw.Size()
	if offset < d.Size {
		body, partial, err := f.client.getBlob(ctx, repo, digest, offset)
		if err != nil {
			return 0, err
		}
		defer body.Close()
		if offset > 0 && !partial {
			// The registry ignored the range and sends the whole blob.
			bw.Abort()
			if bw, err = f.store.Resume(digest); err != nil {
				return 0, err
			}
			defer bw.Keep()
			offset = 0
		}
		if _, err := io.Copy(bw, io.LimitReader(body, d.Size-offset+1)); err != nil {
			return bw.Size() - offset, err
		}
	}

	fetched := bw.Size() - offset
	if bw.Size() != d.Size || bw.Digest() != digest {
		bw.Abort()
		err := fmt.Errorf("%w: got %d bytes with digest %s, the manifest states %d bytes",
			ErrDigestMismatch, bw.Size(), bw.Digest(), d.Size)
		if offset > 0 {
			// The kept part may be what went wrong: start over once.
			return fetched, fmt.Errorf("resumed download discarded: %v", err)
		}
		return fetched, err
	}
	if _, err := bw.Commit(); err != nil {
		return fetched, err
	}
	return fetched, nil
}

func sha256Digest(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// readBlob reads a small stored blob such as a manifest.
func readBlob(store *blobs.Store, digest string) ([]byte, error) {
	f, err := store.Open(digest)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(f)
}
