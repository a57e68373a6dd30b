package bundle

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/sluice-dev/sluice/ingest/blobs"
	"github.com/sluice-dev/sluice/ingest/state"
	"github.com/sluice-dev/sluice/internal/bundletest"
	"github.com/sluice-dev/sluice/internal/storetest"
)

// gateway is one data directory: the outside or the inside.
type gateway struct {
	db *state.DB
	bs *blobs.Store
}

func newGateway(t *testing.T) *gateway {
	db, bs := storetest.Open(t)
	return &gateway{db: db, bs: bs}
}

// keys is a signing key and its verifier, loaded from cosign key files.
type keys struct {
	signer   Signer
	verifier Verifier
}

func newKeys(t *testing.T) keys {
	t.Helper()
	key, pub, err := bundletest.KeyPair(t.TempDir(), "pw")
	if err != nil {
		t.Fatal(err)
	}
	s, err := LoadSigner(key, []byte("pw"))
	if err != nil {
		t.Fatal(err)
	}
	v, err := LoadVerifier(pub)
	if err != nil {
		t.Fatal(err)
	}
	return keys{s, v}
}

// approve adds n approved packages named prefix-<i>@1.0.0.
func (g *gateway) approve(t *testing.T, prefix string, n int) {
	t.Helper()
	for i := range n {
		name := fmt.Sprintf("%s-%02d", prefix, i)
		if _, err := bundletest.Approve(g.db, g.bs, name, "1.0.0", bundletest.Tarball(name, "1.0.0", 20000+i*500)); err != nil {
			t.Fatal(err)
		}
	}
}

func (g *gateway) export(t *testing.T, k keys, opts ExportOptions) (*Index, string) {
	t.Helper()
	if opts.To == "" {
		opts.To = t.TempDir() + "/"
	}
	opts.Signer, opts.Actor = k.signer, "cli:outside"
	res, err := Export(context.Background(), g.db, g.bs, opts)
	if err != nil {
		t.Fatalf("export: %v", err)
	}
	return res.Index, opts.To
}

func (g *gateway) importBundle(path string, k keys, pub *recorder) (*ImportSummary, error) {
	return Import(context.Background(), g.db, g.bs, path, ImportOptions{Verifier: k.verifier, Publisher: pub,
		Actor: "cli:inside", Concurrency: 4})
}

// published returns the keys of the inside artifacts that are published.
func (g *gateway) published(t *testing.T) []string {
	t.Helper()
	arts, err := g.db.Artifacts(func(a *state.Artifact) bool { return a.State == state.StatePublished })
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, a := range arts {
		out = append(out, a.Key())
	}
	return out
}

func (g *gateway) artifactCount(t *testing.T) int {
	t.Helper()
	arts, err := g.db.Artifacts(nil)
	if err != nil {
		t.Fatal(err)
	}
	return len(arts)
}

// recorder is a mirror that keeps what it receives in memory, so tests can
// count uploads. failAfter > 0 makes every upload after that many fail.
type recorder struct {
	mu        sync.Mutex
	versions  map[string]int
	uploads   int
	failAfter int
}

func newRecorder() *recorder { return &recorder{versions: map[string]int{}} }

func (r *recorder) Name() string                  { return "recorder" }
func (r *recorder) URL() string                   { return "http://mirror.invalid/" }
func (r *recorder) Check(context.Context) error   { return nil }
func (r *recorder) TarballURL(n, v string) string { return r.URL() + n + "/-/" + n + "-" + v + ".tgz" }
func (r *recorder) SetTags(context.Context, string, map[string]string) error {
	return nil
}

func (r *recorder) Publish(_ context.Context, a *state.Artifact, tarball func() (*os.File, error)) (bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.versions[a.Key()] > 0 {
		return true, nil
	}
	if r.failAfter > 0 && r.uploads >= r.failAfter {
		return false, errors.New("mirror unavailable")
	}
	f, err := tarball()
	if err != nil {
		return false, err
	}
	f.Close()
	r.versions[a.Key()]++
	r.uploads++
	return false, nil
}

func TestExportImportRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		to   func(t *testing.T) string
		max  int64
	}{
		{"folder", func(t *testing.T) string { return t.TempDir() + "/" }, 0},
		{"folder in parts", func(t *testing.T) string { return t.TempDir() + "/" }, 16 << 10},
		{"single file", func(t *testing.T) string { return filepath.Join(t.TempDir(), "bundle.tar") }, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, in, k := newGateway(t), newGateway(t), newKeys(t)
			out.approve(t, "pkg", 5)
			if _, err := bundletest.Hold(out.db, out.bs, "held", "1.0.0", bundletest.Tarball("held", "1.0.0", 100)); err != nil {
				t.Fatal(err)
			}
			ix, path := out.export(t, k, ExportOptions{To: tt.to(t), MaxPartSize: tt.max})
			if len(ix.Artifacts) != 5 {
				t.Errorf("bundle carries %d artifacts, want 5 (the held one stays out)", len(ix.Artifacts))
			}
			if tt.max > 0 && len(ix.Parts) < 3 {
				t.Errorf("bundle has %d parts of at most %d bytes, want several", len(ix.Parts), tt.max)
			}
			for _, p := range ix.Parts {
				if tt.max > 0 && p.Size > tt.max {
					t.Errorf("%s has %d bytes, more than %d", p.Name, p.Size, tt.max)
				}
			}
			pub := newRecorder()
			sum, err := in.importBundle(path, k, pub)
			if err != nil {
				t.Fatalf("import: %v", err)
			}
			if sum.Published != 5 || pub.uploads != 5 {
				t.Errorf("import published %d (mirror received %d), want 5", sum.Published, pub.uploads)
			}
			if got := in.published(t); len(got) != 5 {
				t.Errorf("inside has %d published artifacts, want 5: %v", len(got), got)
			}
			v, err := in.db.VerifyLedger()
			if err != nil || !v.OK() {
				t.Errorf("inside ledger: %v %+v", err, v)
			}
			// Importing the same bundle again does nothing.
			again, err := in.importBundle(path, k, pub)
			if err != nil || !again.AlreadyImported {
				t.Errorf("second import: %+v, %v; want already imported", again, err)
			}
			if pub.uploads != 5 {
				t.Errorf("second import uploaded %d more", pub.uploads-5)
			}
		})
	}
}

func TestImportRecordsOutsideEvidence(t *testing.T) {
	out, in, k := newGateway(t), newGateway(t), newKeys(t)
	out.approve(t, "pkg", 1)
	ix, path := out.export(t, k, ExportOptions{})
	if _, err := in.importBundle(path, k, newRecorder()); err != nil {
		t.Fatal(err)
	}
	entries, err := in.db.Ledger("npm/pkg-00@1.0.0")
	if err != nil {
		t.Fatal(err)
	}
	var moves []state.State
	for _, e := range entries {
		moves = append(moves, e.To)
		if e.To == state.StateApproved && e.Evidence["bundle"] != ix.ID {
			t.Errorf("approved entry names bundle %q, want %s", e.Evidence["bundle"], ix.ID)
		}
		if e.To == state.StateApproved && e.Evidence["outside.entry"] == "" {
			t.Error("approved entry names no outside ledger entry")
		}
		if e.To == state.StatePublished && fmt.Sprint(e.Skipped) != "[signed]" {
			t.Errorf("published entry skipped %v, want [signed]", e.Skipped)
		}
	}
	want := "[requested resolved fetched scanned evaluated approved published]"
	if fmt.Sprint(moves) != want {
		t.Errorf("inside moves %v, want %s", moves, want)
	}
}

func TestIncrementalExport(t *testing.T) {
	out, in, k := newGateway(t), newGateway(t), newKeys(t)
	out.approve(t, "first", 3)
	first, firstPath := out.export(t, k, ExportOptions{})
	out.approve(t, "second", 2)
	second, secondPath := out.export(t, k, ExportOptions{Since: first.ID})
	if len(second.Artifacts) != 2 {
		t.Errorf("incremental bundle carries %d artifacts, want the 2 new ones", len(second.Artifacts))
	}
	if second.Ledger.Before != first.Ledger.After {
		t.Errorf("incremental segment starts after %+v, want %+v", second.Ledger.Before, first.Ledger.After)
	}
	for _, f := range second.Files {
		for _, g := range first.Files {
			if f.Path != LedgerPath && f.Digest == g.Digest {
				t.Errorf("incremental bundle carries %s again", f.Path)
			}
		}
	}
	pub := newRecorder()
	for _, p := range []string{firstPath, secondPath} {
		if _, err := in.importBundle(p, k, pub); err != nil {
			t.Fatalf("import %s: %v", p, err)
		}
	}
	if got := in.published(t); len(got) != 5 {
		t.Errorf("inside has %d published artifacts, want 5", len(got))
	}
	if _, err := Export(context.Background(), out.db, out.bs, ExportOptions{To: t.TempDir() + "/",
		Since: "20991231T000000Z-00000000", Signer: k.signer}); err == nil {
		t.Error("export --since an unknown bundle succeeded")
	}
}
