package oci

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"golang.org/x/sync/errgroup"

	"github.com/sluice-dev/sluice/ingest/blobs"
	"github.com/sluice-dev/sluice/ingest/oci"
	"github.com/sluice-dev/sluice/ingest/state"
	"github.com/sluice-dev/sluice/internal/registrytest"
	"github.com/sluice-dev/sluice/internal/storetest"
)

// fetchArtifact resolves ref upstream, copies it into the store and
// returns the artifact a sync would have recorded.
func fetchArtifact(t *testing.T, store *blobs.Store, ref string) *state.Artifact {
	t.Helper()
	ctx := context.Background()
	client := oci.NewClient()
	res, err := client.Resolve(ctx, oci.Request{Ref: ref, Attachments: true, Origin: "test"})
	if err != nil {
		t.Fatal(err)
	}
	st, err := oci.NewFetcher(client, store, 4).Fetch(ctx, res[0])
	if err != nil {
		t.Fatal(err)
	}
	return &state.Artifact{Ecosystem: state.EcosystemOCI, Name: res[0].Repository, Version: res[0].Digest,
		Digest: st.Digest, MediaType: st.MediaType, Tags: res[0].Tags, Attachments: st.Attachments,
		Size: st.Size}
}

func parseRef(t *testing.T, ref string) name.Reference {
	t.Helper()
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func upstreamDescriptor(t *testing.T, ref string) *v1.Descriptor {
	t.Helper()
	d, err := remote.Head(parseRef(t, ref))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func manifestBytes(t *testing.T, ref string) []byte {
	t.Helper()
	d, err := remote.Get(parseRef(t, ref))
	if err != nil {
		t.Fatalf("get %s: %v", ref, err)
	}
	return d.Manifest
}

func TestPublishImageEndToEnd(t *testing.T) {
	up := registrytest.Start(t)
	target := registrytest.Start(t)
	proxy := registrytest.NewProxy(t, target.Host)
	_, store := storetest.Open(t)
	ctx := context.Background()

	appDigest, err := registrytest.Image(up.Host, "team/app", "1.0.0", "app", 64<<10)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := registrytest.Image(up.Host, "team/tool", "2.0.0", "tool", 32<<10); err != nil {
		t.Fatal(err)
	}
	appRef := up.Host + "/team/app:1.0.0"
	attached, err := registrytest.Attachments(up.Host, "team/app", *upstreamDescriptor(t, appRef))
	if err != nil {
		t.Fatal(err)
	}
	// cosign sign --recursive signs each platform's manifest as well.
	idx, err := remote.Index(parseRef(t, appRef))
	if err != nil {
		t.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	platformManifest := im.Manifests[0]
	attachedToPlatform, err := registrytest.Attachments(up.Host, "team/app", platformManifest)
	if err != nil {
		t.Fatal(err)
	}

	app := fetchArtifact(t, store, appRef)
	if app.Digest != appDigest.String() {
		t.Fatalf("stored digest %s, upstream %s", app.Digest, appDigest)
	}
	if len(app.Attachments) != 6 {
		t.Fatalf("attachments = %+v, want the .sig, .att and the referrer of the index and of "+
			"one platform", app.Attachments)
	}
	pub, err := New(proxy.Host+"/mirror", store)
	if err != nil {
		t.Fatal(err)
	}
	if err := pub.Check(ctx); err != nil {
		t.Fatal(err)
	}
	repo, present, err := pub.PublishImage(ctx, app)
	if err != nil {
		t.Fatal(err)
	}
	if present {
		t.Error("first publish found the image present")
	}
	if want := proxy.Host + "/mirror/team/app"; repo != want {
		t.Errorf("repository = %s, want %s", repo, want)
	}
	mirrored := target.Host + "/mirror/team/app"

	t.Run("digests identical", func(t *testing.T) {
		for _, ref := range []string{":1.0.0", "@" + appDigest.String()} {
			if !bytes.Equal(manifestBytes(t, mirrored+ref), manifestBytes(t, appRef)) {
				t.Errorf("index at %s differs from upstream", ref)
			}
		}
	})
	t.Run("all platforms present", func(t *testing.T) {
		idx, err := remote.Index(parseRef(t, mirrored+":1.0.0"))
		if err != nil {
			t.Fatal(err)
		}
		im, err := idx.IndexManifest()
		if err != nil {
			t.Fatal(err)
		}
		if len(im.Manifests) != len(registrytest.Platforms) {
			t.Fatalf("index lists %d manifests, want %d", len(im.Manifests), len(registrytest.Platforms))
		}
		for _, m := range im.Manifests {
			img, err := idx.Image(m.Digest)
			if err != nil {
				t.Fatal(err)
			}
			if err := validateLayers(img); err != nil {
				t.Errorf("%s: %v", m.Platform, err)
			}
		}
	})
	t.Run("attachments carried", func(t *testing.T) {
		hex := appDigest.Hex
		for i, suffix := range []string{".sig", ".att"} {
			d := upstreamDescriptor(t, mirrored+":sha256-"+hex+suffix)
			if d.Digest != attached[i] {
				t.Errorf("%s digest %s, want %s", suffix, d.Digest, attached[i])
			}
		}
		idx, err := remote.Referrers(parseRef(t, mirrored+"@"+appDigest.String()).(name.Digest))
		if err != nil {
			t.Fatal(err)
		}
		im, err := idx.IndexManifest()
		if err != nil {
			t.Fatal(err)
		}
		if len(im.Manifests) != 1 || im.Manifests[0].Digest != attached[2] {
			t.Errorf("referrers = %+v, want the SBOM %s", im.Manifests, attached[2])
		}
		d := upstreamDescriptor(t, mirrored+":sha256-"+platformManifest.Digest.Hex+".sig")
		if d.Digest != attachedToPlatform[0] {
			t.Errorf("platform signature digest %s, want %s", d.Digest, attachedToPlatform[0])
		}
	})
	t.Run("crane pulls", func(t *testing.T) {
		crane, err := registrytest.Tool("crane")
		if err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(crane, "digest", mirrored+":1.0.0").CombinedOutput()
		if err != nil || strings.TrimSpace(string(out)) != appDigest.String() {
			t.Errorf("crane digest: %s %v, want %s", out, err, appDigest)
		}
		dir := t.TempDir()
		out, err = exec.Command(crane, "pull", "--format", "oci", mirrored+":1.0.0", dir).CombinedOutput()
		if err != nil {
			t.Errorf("crane pull: %v\n%s", err, out)
		}
	})
	t.Run("shared base sent once", func(t *testing.T) {
		tool := fetchArtifact(t, store, up.Host+"/team/tool:2.0.0")
		proxy.Reset()
		if _, _, err := pub.PublishImage(ctx, tool); err != nil {
			t.Fatal(err)
		}
		// Each platform has its own layer and config; the two base layers
		// are mounted from team/app.
		uploads, mounts := 0, 0
		for _, r := range proxy.Requests() {
			switch {
			case r.Kind == "uploads" && r.Method == "PUT":
				uploads++
			case r.Kind == "uploads" && r.Method == "POST" && strings.Contains(r.Query, "from="):
				mounts++
			}
		}
		if want := 2 * len(registrytest.Platforms); uploads != want {
			t.Errorf("uploaded %d blobs, want %d (own layer and config per platform)", uploads, want)
		}
		if mounts != len(registrytest.Platforms) {
			t.Errorf("mounted %d blobs, want %d base layers", mounts, len(registrytest.Platforms))
		}
	})
	t.Run("republish sends no blob", func(t *testing.T) {
		proxy.Reset()
		_, present, err := pub.PublishImage(ctx, app)
		if err != nil {
			t.Fatal(err)
		}
		if !present {
			t.Error("republish did not find the image present")
		}
		if n := proxy.Count("POST", "uploads") + proxy.Count("PUT", "uploads"); n != 0 {
			t.Errorf("republish sent %d upload requests", n)
		}
	})
}

// validateLayers reads every layer of an image, which checks its digest.
func validateLayers(img v1.Image) error {
	layers, err := img.Layers()
	if err != nil {
		return err
	}
	for _, l := range layers {
		rc, err := l.Compressed()
		if err != nil {
			return err
		}
		var buf bytes.Buffer
		_, err = buf.ReadFrom(rc)
		rc.Close()
		if err != nil {
			return err
		}
	}
	return nil
}

func TestPublishParallelSendsBaseOnce(t *testing.T) {
	up := registrytest.Start(t)
	target := registrytest.Start(t)
	proxy := registrytest.NewProxy(t, target.Host)
	_, store := storetest.Open(t)
	const images = 4
	var arts []*state.Artifact
	for i := range images {
		repo := fmt.Sprintf("team/app%d", i)
		if _, err := registrytest.Image(up.Host, repo, "1.0.0", repo, 8<<10); err != nil {
			t.Fatal(err)
		}
		arts = append(arts, fetchArtifact(t, store, up.Host+"/"+repo+":1.0.0"))
	}
	pub, err := New(proxy.Host+"/mirror", store)
	if err != nil {
		t.Fatal(err)
	}
	var g errgroup.Group
	for _, a := range arts {
		g.Go(func() error {
			_, _, err := pub.PublishImage(context.Background(), a)
			return err
		})
	}
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
	platforms := len(registrytest.Platforms)
	// Per image and platform a config and an own layer; the base layer of
	// each platform once.
	if got, want := proxy.Count("PUT", "uploads"), images*platforms*2+platforms; got != want {
		t.Errorf("uploaded %d blobs, want %d", got, want)
	}
}
