package scanners

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/sluice-dev/sluice/ingest/oci"
	"github.com/sluice-dev/sluice/ingest/state"
)

// ScanImage scans a container image whose manifests and blobs the blob
// store holds: each platform's image of an index separately, or the one
// image of a manifest. The result carries every platform's SBOM in
// Platforms and the first one's in SBOM; findings found on several
// platforms are listed once.
func (s *Scanner) ScanImage(ctx context.Context, a *state.Artifact) (*ScanResult, error) {
	raw, err := readStored(s, a.Digest)
	if err != nil {
		return nil, err
	}
	m, err := oci.ParseManifest(raw, a.MediaType)
	if err != nil {
		return nil, err
	}
	images := []v1.Descriptor{{MediaType: m.MediaType, Digest: mustHash(a.Digest), Size: int64(len(raw))}}
	if m.IsIndex() {
		images = nil
		for _, c := range m.Children {
			// Entries without a platform are attestation manifests
			// (BuildKit marks them unknown/unknown), not runnable images.
			if c.Platform != nil && c.Platform.OS != "unknown" && !c.MediaType.IsIndex() {
				images = append(images, c)
			}
		}
	}

	var merged *ScanResult
	seen := map[string]bool{}
	for _, img := range images {
		platform := "image"
		if img.Platform != nil {
			platform = img.Platform.String()
		}
		r, err := s.scanPlatform(ctx, a, img)
		if err != nil {
			return nil, fmt.Errorf("platform %s (%s): %w", platform, img.Digest, err)
		}
		if merged == nil {
			merged = r
			merged.Findings = nil
			merged.Platforms = map[string]SBOMDigests{}
		}
		merged.Platforms[platform] = r.SBOM
		for _, f := range r.Findings {
			key := strings.Join([]string{string(f.Kind), f.ID, f.Package, f.PackageVersion}, "\x00")
			if !seen[key] {
				seen[key] = true
				merged.Findings = append(merged.Findings, f)
			}
		}
		merged.ExpiredExceptions = append(merged.ExpiredExceptions, r.ExpiredExceptions...)
	}
	if merged == nil {
		return nil, fmt.Errorf("%s: the index lists no platform image to scan", a.Key())
	}
	merged.Digest = a.Digest
	if s.ImageSignatures != nil {
		id, detail, err := s.ImageSignatures(ctx, a)
		if err != nil {
			return nil, fmt.Errorf("upstream signature of %s: %w", a.Key(), err)
		}
		if id != "" {
			merged.Findings = append(merged.Findings, Finding{Kind: KindUpstreamSignature, ID: id,
				Package: a.Name, PackageVersion: a.Version, Detail: detail})
		}
	}
	return merged, nil
}

// scanPlatform lays one image manifest out as an OCI image layout and
// scans it. The layout's blobs are hard links into the blob store, or
// copies where the temporary folder is on another file system: syft's
// layout reader rejects symbolic links.
func (s *Scanner) scanPlatform(ctx context.Context, a *state.Artifact, img v1.Descriptor) (*ScanResult, error) {
	tmp := s.TempDir
	if tmp == "" {
		// Beside the blob store, so that hard links work.
		// NOTE: a process killed mid-scan leaves its scan-oci-* folder
		// there; nothing removes it later.
		tmp = filepath.Dir(s.Blobs.Root())
	}
	dir, err := os.MkdirTemp(tmp, "scan-oci-*")
	if err != nil {
		return nil, fmt.Errorf("create layout folder: %w", err)
	}
	defer os.RemoveAll(dir)
	raw, err := readStored(s, img.Digest.String())
	if err != nil {
		return nil, err
	}
	m, err := oci.ParseManifest(raw, string(img.MediaType))
	if err != nil {
		return nil, err
	}

	blobDir := filepath.Join(dir, "blobs", "sha256")
	if err := os.MkdirAll(blobDir, 0o755); err != nil {
		return nil, err
	}
	for _, d := range append([]v1.Descriptor{img}, m.Blobs...) {
		src, err := s.Blobs.Path(d.Digest.String())
		if err != nil {
			return nil, err
		}
		if err := linkOrCopy(src, filepath.Join(blobDir, d.Digest.Hex)); err != nil {
			return nil, fmt.Errorf("put blob %s into the layout: %w", d.Digest, err)
		}
	}

	entry := v1.Descriptor{MediaType: img.MediaType, Digest: img.Digest, Size: img.Size}
	index, err := json.Marshal(v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex,
		Manifests: []v1.Descriptor{entry}})
	if err != nil {
		return nil, err
	}
	files := map[string][]byte{"oci-layout": []byte(`{"imageLayoutVersion":"1.0.0"}`), "index.json": index}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			return nil, err
		}
	}
	return s.Scan(ctx, a, OCILayout{Name: a.Name, Version: img.Digest.String(), Dir: dir})
}

func linkOrCopy(src, dst string) error {
	if err := os.Link(src, dst); err == nil || os.IsExist(err) {
		return nil
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

func readStored(s *Scanner, digest string) ([]byte, error) {
	f, err := s.Blobs.Open(digest)
	if err != nil {
		return nil, fmt.Errorf("stored manifest %s: %w", digest, err)
	}
	defer f.Close()
	return io.ReadAll(f)
}

func mustHash(digest string) v1.Hash {
	h, err := v1.NewHash(digest)
	if err != nil {
		return v1.Hash{}
	}
	return h
}
