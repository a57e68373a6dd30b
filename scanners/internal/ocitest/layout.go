// Package ocitest writes minimal single-layer OCI image layouts (image
// spec 1.1: oci-layout, index.json, blobs/sha256) from a map of files, for
// tests and benchmarks that need an image without a registry or a
// container runtime.
package ocitest

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"time"
)

// Media types of the OCI image specification.
const (
	MediaTypeManifest = "application/vnd.oci.image.manifest.v1+json"
	MediaTypeConfig   = "application/vnd.oci.image.config.v1+json"
	MediaTypeLayer    = "application/vnd.oci.image.layer.v1.tar+gzip"
)

type descriptor struct {
	MediaType string `json:"mediaType"`
	Digest    string `json:"digest"`
	Size      int64  `json:"size"`
}

// WriteLayout writes an image whose only layer holds files (path inside
// the image, without a leading slash, to content) as an OCI layout in dir,
// and returns the manifest digest.
func WriteLayout(dir string, files map[string][]byte) (string, error) {
	if err := os.MkdirAll(filepath.Join(dir, "blobs", "sha256"), 0o755); err != nil {
		return "", err
	}
	layer, diffID, err := buildLayer(files)
	if err != nil {
		return "", err
	}
	layerDesc, err := writeBlob(dir, MediaTypeLayer, layer)
	if err != nil {
		return "", err
	}

	config, _ := json.Marshal(map[string]any{
		"architecture": "amd64", "os": "linux", "config": map[string]any{},
		"rootfs": map[string]any{"type": "layers", "diff_ids": []string{diffID}},
	})
	configDesc, err := writeBlob(dir, MediaTypeConfig, config)
	if err != nil {
		return "", err
	}
	manifest, _ := json.Marshal(map[string]any{"schemaVersion": 2, "mediaType": MediaTypeManifest,
		"config": configDesc, "layers": []descriptor{layerDesc}})
	manifestDesc, err := writeBlob(dir, MediaTypeManifest, manifest)
	if err != nil {
		return "", err
	}
	index, _ := json.Marshal(map[string]any{"schemaVersion": 2,
		"mediaType": "application/vnd.oci.image.index.v1+json", "manifests": []descriptor{manifestDesc}})
	if err := os.WriteFile(filepath.Join(dir, "index.json"), index, 0o644); err != nil {
		return "", err
	}
	err = os.WriteFile(filepath.Join(dir, "oci-layout"), []byte(`{"imageLayoutVersion":"1.0.0"}`), 0o644)
	return manifestDesc.Digest, err
}

// buildLayer returns the gzipped layer and the digest of its uncompressed
// tar (the diff ID).
func buildLayer(files map[string][]byte) ([]byte, string, error) {
	var raw bytes.Buffer
	tw := tar.NewWriter(&raw)
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	sort.Strings(names)
	dirs := map[string]bool{}
	mtime := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, name := range names {
		for d := filepath.Dir(name); d != "." && !dirs[d]; d = filepath.Dir(d) {
			dirs[d] = true
		}
	}
	dirNames := make([]string, 0, len(dirs))
	for d := range dirs {
		dirNames = append(dirNames, d)
	}
	sort.Strings(dirNames)

	for _, d := range dirNames {
		if err := tw.WriteHeader(&tar.Header{Name: d + "/", Typeflag: tar.TypeDir, Mode: 0o755,
			ModTime: mtime}); err != nil {
			return nil, "", err
		}
	}
	for _, name := range names {
		hdr := &tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(files[name])),
			ModTime: mtime}
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, "", err
		}
		if _, err := tw.Write(files[name]); err != nil {
			return nil, "", err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, "", err
	}

	sum := sha256.Sum256(raw.Bytes())
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	if _, err := zw.Write(raw.Bytes()); err != nil {
		return nil, "", err
	}
	if err := zw.Close(); err != nil {
		return nil, "", err
	}
	return gz.Bytes(), "sha256:" + hex.EncodeToString(sum[:]), nil
}

func writeBlob(dir, mediaType string, data []byte) (descriptor, error) {
	sum := sha256.Sum256(data)
	hexSum := hex.EncodeToString(sum[:])
	if err := os.WriteFile(filepath.Join(dir, "blobs", "sha256", hexSum), data, 0o644); err != nil {
		return descriptor{}, fmt.Errorf("write blob: %w", err)
	}
	return descriptor{MediaType: mediaType, Digest: "sha256:" + hexSum, Size: int64(len(data))}, nil
}
