package bundle

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/sluice-dev/sluice/ingest/state"
	"github.com/sluice-dev/sluice/internal/bundletest"
)

const ociManifest = "application/vnd.oci.image.manifest.v1+json"

// putManifest stores an OCI image manifest with a config made from seed
// and the given layers, all of them blobs, and returns its digest.
func (g *gateway) putManifest(t *testing.T, seed string, layers ...[]byte) string {
	t.Helper()
	desc := func(data []byte, mediaType string) string {
		d, err := g.bs.Put(data)
		if err != nil {
			t.Fatal(err)
		}
		return fmt.Sprintf(`{"mediaType":%q,"digest":%q,"size":%d}`, mediaType, d, len(data))
	}
	var ls []string
	for _, l := range layers {
		ls = append(ls, desc(l, "application/vnd.oci.image.layer.v1.tar+gzip"))
	}
	m := fmt.Sprintf(`{"schemaVersion":2,"mediaType":%q,"config":%s,"layers":[%s]}`, ociManifest,
		desc([]byte(`{"seed":"`+seed+`"}`), "application/vnd.oci.image.config.v1+json"), strings.Join(ls, ","))
	d, err := g.bs.Put([]byte(m))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// approveImage adds an approved image with a layer of its own and the
// shared one. own adds a signature attachment made by the signing stage;
// signed moves the image to signed.
func (g *gateway) approveImage(t *testing.T, name string, shared []byte, signed, own bool) *state.Artifact {
	t.Helper()
	digest := g.putManifest(t, name, shared, []byte("layer of "+name))
	var atts []state.Attachment
	if own {
		sig := g.putManifest(t, "signature of "+name, []byte("signature payload of "+name))
		atts = append(atts, state.Attachment{Digest: sig, MediaType: ociManifest, Subject: digest,
			Tag: strings.Replace(digest, ":", "-", 1) + ".sig", Source: signSource})
	}
	a, err := bundletest.ApproveImage(g.db, g.bs, "registry.example/team/"+name, digest, ociManifest, atts)
	if err != nil {
		t.Fatal(err)
	}
	if signed {
		if a, err = g.db.Transition(a.Key(), state.Change{To: state.StateSigned,
			Evidence: map[string]string{"signature.keyid": "SHA256:test"}}); err != nil {
			t.Fatal(err)
		}
	}
	return a
}

// imageRecorder is a registry that records the images it receives.
type imageRecorder struct {
	mu     sync.Mutex
	images []string
}

func (r *imageRecorder) Name() string                { return "oci" }
func (r *imageRecorder) URL() string                 { return "registry.invalid/mirror" }
func (r *imageRecorder) Check(context.Context) error { return nil }
func (r *imageRecorder) PublishImage(_ context.Context, a *state.Artifact) (string, bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.images = append(r.images, a.Key())
	return r.URL() + "/" + a.Name, false, nil
}

func (g *gateway) importImages(path string, k keys, pub *imageRecorder) (*ImportSummary, error) {
	return Import(context.Background(), g.db, g.bs, path, ImportOptions{Verifier: k.verifier,
		ImagePublisher: pub, Actor: "cli:inside", Concurrency: 2})
}

func TestExportImportImages(t *testing.T) {
	out, in, k := newGateway(t), newGateway(t), newKeys(t)
	shared := []byte("base layer shared by both images")
	app := out.approveImage(t, "app", shared, true, true)
	ix, dir := out.export(t, k, ExportOptions{})
	roles := ix.Artifacts[0].Blobs
	// The manifest, evidence, scan and 2 SBOMs; the config and 2 layers;
	// the attachment's manifest, config and layer.
	if len(roles) != 5+3+3 {
		t.Errorf("image blobs by role: %v", roles)
	}
	pub := &imageRecorder{}
	if _, err := in.importImages(dir, k, pub); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(pub.images, []string{app.Key()}) {
		t.Errorf("published %v, want %s", pub.images, app.Key())
	}
	got, err := in.db.Artifact(app.Key())
	if err != nil {
		t.Fatal(err)
	}
	if got.State != state.StatePublished || slices.Contains(got.Skipped, state.StateSigned) ||
		len(got.Attachments) != 1 {
		t.Errorf("inside image: state %s, skipped %v, %d attachments", got.State, got.Skipped, len(got.Attachments))
	}

	// The next bundle leaves out the layer the first carried.
	out.approveImage(t, "tool", shared, false, false)
	ix2, dir2 := out.export(t, k, ExportOptions{Since: ix.ID})
	sharedDigest := digestOf(t, out, shared)
	if roles[roleImage+sharedDigest] != sharedDigest {
		t.Fatalf("the first bundle lacks the shared layer: %v", roles)
	}
	for _, f := range ix2.Files {
		if f.Digest == sharedDigest {
			t.Errorf("incremental bundle carries the shared layer again")
		}
	}
	if _, err := in.importImages(dir2, k, pub); err != nil {
		t.Fatal(err)
	}
	if len(pub.images) != 2 {
		t.Errorf("published %v after the second bundle", pub.images)
	}
}

func digestOf(t *testing.T, g *gateway, data []byte) string {
	t.Helper()
	d, err := g.bs.Put(data)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestImportRefusesImages(t *testing.T) {
	tests := []struct {
		name  string
		own   bool
		opts  func(k keys) ImportOptions
		want  error
		where string
	}{
		{"signed without its signature", false, func(k keys) ImportOptions {
			return ImportOptions{Verifier: k.verifier, ImagePublisher: &imageRecorder{}}
		}, ErrEvidence, "registry.example/team/app@sha256:"},
		{"no registry", true, func(k keys) ImportOptions {
			return ImportOptions{Verifier: k.verifier, Publisher: newRecorder()}
		}, nil, "give the inside registry with --oci-mirror"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, in, k := newGateway(t), newGateway(t), newKeys(t)
			out.approveImage(t, "app", []byte("base"), true, tt.own)
			_, dir := out.export(t, k, ExportOptions{})
			_, err := Import(context.Background(), in.db, in.bs, dir, tt.opts(k))
			if err == nil || (tt.want != nil && !errors.Is(err, tt.want)) {
				t.Fatalf("import: %v, want %v", err, tt.want)
			}
			if !strings.Contains(err.Error(), tt.where) {
				t.Errorf("message %q does not name %q", err, tt.where)
			}
			if n := in.artifactCount(t); n != 0 {
				t.Errorf("a refused bundle left %d artifacts on the inside", n)
			}
		})
	}
}
