package registrytest

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"sort"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Platforms are the platforms of every seeded image.
var Platforms = []v1.Platform{{OS: "linux", Architecture: "amd64"}, {OS: "linux", Architecture: "arm64"}}

// VulnerableLibc is the libc6 version the seeded base layer installs:
// Debian 12's glibc before the fix of CVE-2023-4911 (fixed in
// 2.36-9+deb12u3), which the demo grype database lists.
const VulnerableLibc = "2.36-9+deb12u1"

const osRelease = `PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
NAME="Debian GNU/Linux"
VERSION_ID="12"
VERSION="12 (bookworm)"
VERSION_CODENAME=bookworm
ID=debian
`

// dpkgStatus is a dpkg database with the entries of libc6 and
// base-files as Debian 12 packages them.
func dpkgStatus(arch string) string {
	return `Package: base-files
Status: install ok installed
Priority: required
Section: admin
Installed-Size: 341
Maintainer: Santiago Vila <sanvila@debian.org>
Architecture: ` + arch + `
Version: 12.4+deb12u5
Description: Debian base system miscellaneous files

Package: libc6
Status: install ok installed
Priority: optional
Section: libs
Installed-Size: 12987
Maintainer: GNU Libc Maintainers <debian-glibc@lists.debian.org>
Architecture: ` + arch + `
Multi-Arch: same
Source: glibc
Version: ` + VulnerableLibc + `
Depends: libgcc-s1
Description: GNU C Library: Shared libraries

`
}

// Layer returns a gzipped tar layer holding files. The same files give
// the same bytes, so two images built with one base share its digest.
func Layer(files map[string][]byte) (v1.Layer, error) {
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if err := tw.WriteHeader(&tar.Header{Name: n, Mode: 0o644, Size: int64(len(files[n])),
			Typeflag: tar.TypeReg}); err != nil {
			return nil, err
		}
		if _, err := tw.Write(files[n]); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	if err := gz.Close(); err != nil {
		return nil, err
	}
	data := buf.Bytes()
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(data)), nil
	}, tarball.WithMediaType(types.OCILayer))
}

// BaseLayer is a Debian 12 root with a dpkg database for one architecture.
func BaseLayer(arch string) (v1.Layer, error) {
	return Layer(map[string][]byte{"etc/os-release": []byte(osRelease),
		"var/lib/dpkg/status": []byte(dpkgStatus(arch))})
}

// Image pushes a multi-platform OCI index to host/repo:tag. Each platform
// has the shared base layer for its architecture and a layer of its own
// with app's name and appBytes bytes of content, so images with another
// app share only the base.
func Image(host, repo, tag, app string, appBytes int) (v1.Hash, error) {
	return ImageWith(host, repo, tag, func(arch string) ([]v1.Layer, error) {
		line := []byte(app + " " + arch + "\n")
		content := bytes.Repeat(line, appBytes/len(line)+1)
		own, err := Layer(map[string][]byte{"opt/" + app + "/data": content[:appBytes]})
		return []v1.Layer{own}, err
	})
}

// ImageWith pushes a multi-platform OCI index to host/repo:tag whose
// platform images have the shared base layer and the layers own returns
// for their architecture.
func ImageWith(host, repo, tag string, own func(arch string) ([]v1.Layer, error)) (v1.Hash, error) {
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	for _, p := range Platforms {
		base, err := BaseLayer(p.Architecture)
		if err != nil {
			return v1.Hash{}, err
		}
		layers, err := own(p.Architecture)
		if err != nil {
			return v1.Hash{}, err
		}
		img, err := mutate.AppendLayers(empty.Image, append([]v1.Layer{base}, layers...)...)
		if err != nil {
			return v1.Hash{}, err
		}
		img = mutate.MediaType(img, types.OCIManifestSchema1)
		img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
		cf, err := img.ConfigFile()
		if err != nil {
			return v1.Hash{}, err
		}
		cf.OS, cf.Architecture = p.OS, p.Architecture
		if img, err = mutate.ConfigFile(img, cf); err != nil {
			return v1.Hash{}, err
		}
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img,
			Descriptor: v1.Descriptor{Platform: &Platforms[indexOf(p)]}})
	}
	ref, err := name.NewTag(host + "/" + repo + ":" + tag)
	if err != nil {
		return v1.Hash{}, err
	}
	if err := remote.WriteIndex(ref, idx); err != nil {
		return v1.Hash{}, fmt.Errorf("push %s: %w", ref, err)
	}
	return idx.Digest()
}

func indexOf(p v1.Platform) int {
	for i, q := range Platforms {
		if q.Equals(p) {
			return i
		}
	}
	return -1
}

// Attachment media types the seeded attachments use, as cosign and SPDX
// name them.
const (
	CosignSignatureType = "application/vnd.dev.cosign.simplesigning.v1+json"
	DSSEEnvelopeType    = "application/vnd.dsse.envelope.v1+json"
	SPDXType            = "application/spdx+json"
)

// Attachments pushes to host/repo, for the image with digest, a cosign
// signature and attestation under the cosign tag scheme and an SPDX SBOM
// as an OCI 1.1 referrer with the image as subject. It returns the three
// manifest digests. The signature and attestation are well-formed but
// not made with a real key.
func Attachments(host, repo string, image v1.Descriptor) ([]v1.Hash, error) {
	r, err := name.NewRepository(host + "/" + repo)
	if err != nil {
		return nil, err
	}
	tagOf := func(suffix string) name.Reference {
		return r.Tag("sha256-" + image.Digest.Hex + suffix)
	}
	payload := fmt.Sprintf(`{"critical":{"identity":{"docker-reference":%q},"image":{"docker-manifest-digest":%q},"type":"cosign container image signature"},"optional":null}`,
		r.Name(), image.Digest)
	sig, err := pushArtifact(r, tagOf(".sig"), "", nil, CosignSignatureType, []byte(payload),
		map[string]string{"dev.cosignproject.cosign/signature": "MEUCIQDnot-a-real-signature"})
	if err != nil {
		return nil, err
	}
	att, err := pushArtifact(r, tagOf(".att"), "", nil, DSSEEnvelopeType,
		[]byte(`{"payloadType":"application/vnd.in-toto+json","payload":"e30=","signatures":[]}`),
		map[string]string{"predicateType": "https://slsa.dev/provenance/v1"})
	if err != nil {
		return nil, err
	}
	sbom, err := pushArtifact(r, nil, SPDXType, &image, SPDXType,
		[]byte(`{"spdxVersion":"SPDX-2.3","SPDXID":"SPDXRef-DOCUMENT","name":"seeded","packages":[]}`), nil)
	if err != nil {
		return nil, err
	}
	return []v1.Hash{sig, att, sbom}, nil
}

// pushArtifact pushes an OCI manifest with an empty config and one layer,
// by ref, or by its digest when ref is nil.
func pushArtifact(repo name.Repository, ref name.Reference, artifactType string, subject *v1.Descriptor,
	layerType string, content []byte, annotations map[string]string) (v1.Hash, error) {
	emptyConfig := static.NewLayer([]byte("{}"), "application/vnd.oci.empty.v1+json")
	layer := static.NewLayer(content, types.MediaType(layerType))
	for _, l := range []v1.Layer{emptyConfig, layer} {
		if err := remote.WriteLayer(repo, l); err != nil {
			return v1.Hash{}, err
		}
	}
	cd, _ := emptyConfig.Digest()
	ld, _ := layer.Digest()
	m := map[string]any{
		"schemaVersion": 2,
		"mediaType":     types.OCIManifestSchema1,
		"config":        v1.Descriptor{MediaType: "application/vnd.oci.empty.v1+json", Digest: cd, Size: 2},
		"layers": []v1.Descriptor{{MediaType: types.MediaType(layerType), Digest: ld,
			Size: int64(len(content)), Annotations: annotations}},
	}
	if artifactType != "" {
		m["artifactType"] = artifactType
	}
	if subject != nil {
		m["subject"] = v1.Descriptor{MediaType: subject.MediaType, Digest: subject.Digest, Size: subject.Size}
	}
	raw, err := json.Marshal(m)
	if err != nil {
		return v1.Hash{}, err
	}
	h, _, err := v1.SHA256(bytes.NewReader(raw))
	if err != nil {
		return v1.Hash{}, err
	}
	if ref == nil {
		ref = repo.Digest(h.String())
	}
	if err := remote.Put(ref, RawManifest{Raw: raw, Type: types.OCIManifestSchema1}); err != nil {
		return v1.Hash{}, fmt.Errorf("push %s: %w", ref, err)
	}
	return h, nil
}

// RawManifest is a manifest's bytes and media type, as remote.Put takes
// them.
type RawManifest struct {
	Raw  []byte
	Type types.MediaType
}

// RawManifest returns the bytes.
func (m RawManifest) RawManifest() ([]byte, error) { return m.Raw, nil }

// MediaType returns the media type.
func (m RawManifest) MediaType() (types.MediaType, error) { return m.Type, nil }
