package bundle

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluice-dev/sluice/ingest/state"
	"github.com/sluice-dev/sluice/internal/bundletest"
)

// member returns the path of a member of a bundle exported to a folder.
func member(dir string, ix *Index, name string) string {
	return filepath.Join(dir, ix.ID+"."+name)
}

// resign rewrites a bundle's index after edit and signs it with k, as an
// outside gateway with a bug or an intruder holding its key would.
func resign(t *testing.T, dir string, ix *Index, k keys, edit func(*Index)) {
	t.Helper()
	edit(ix)
	data, err := json.MarshalIndent(ix, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	sig, err := k.signer.Sign(data)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(member(dir, ix, IndexName), data, 0o644)
	os.WriteFile(member(dir, ix, SignatureName), encodeSignature(sig), 0o644)
}

func TestImportRefuses(t *testing.T) {
	tests := []struct {
		name string
		// damage changes the exported bundle; it returns the key the
		// inside trusts.
		damage func(t *testing.T, out *gateway, dir string, ix *Index, k keys) keys
		want   error
		// where is a piece of the message that names what failed and where.
		where string
	}{
		{"missing part", func(t *testing.T, _ *gateway, dir string, ix *Index, k keys) keys {
			os.Remove(member(dir, ix, partName(2)))
			return k
		}, ErrMissing, partName(2) + " is missing"},
		{"truncated part", func(t *testing.T, _ *gateway, dir string, ix *Index, k keys) keys {
			os.Truncate(member(dir, ix, partName(3)), 100)
			return k
		}, ErrMissing, "part 3 of"},
		{"flipped byte", func(t *testing.T, _ *gateway, dir string, ix *Index, k keys) keys {
			flipByte(t, member(dir, ix, partName(2)), 5000)
			return k
		}, ErrDigest, "part 2 of"},
		{"foreign key", func(t *testing.T, _ *gateway, _ string, _ *Index, _ keys) keys {
			return newKeys(t)
		}, ErrSignature, "the trusted key is sha256:"},
		{"edited index", func(t *testing.T, _ *gateway, dir string, ix *Index, k keys) keys {
			data, _ := os.ReadFile(member(dir, ix, IndexName))
			os.WriteFile(member(dir, ix, IndexName), []byte(strings.Replace(string(data), "pkg-01", "pkg-99", 1)), 0o644)
			return k
		}, ErrSignature, "was changed after signing"},
		{"file digest edited", func(t *testing.T, _ *gateway, dir string, ix *Index, k keys) keys {
			resign(t, dir, ix, k, func(ix *Index) { ix.Files[1].Digest = ix.Files[2].Digest })
			return k
		}, ErrDigest, "the index lists"},
		{"unapproved artifact", func(t *testing.T, out *gateway, dir string, ix *Index, k keys) keys {
			// The outside ledger records that held waits for approval; an index
			// that claims otherwise is refused.
			held, err := out.db.Artifact("npm/held@1.0.0")
			if err != nil {
				t.Fatal(err)
			}
			resign(t, dir, ix, k, func(ix *Index) {
				entry := ix.Artifacts[0]
				entry.Record = *held
				entry.Record.State = state.StateApproved
				entry.Blobs = map[string]string{"tarball": held.Digest}
				ix.Artifacts = append(ix.Artifacts, entry)
			})
			return k
		}, ErrEvidence, "npm/held@1.0.0"},
		{"ledger segment edited", func(t *testing.T, out *gateway, dir string, ix *Index, k keys) keys {
			// A signed index over a ledger that is not the outside's.
			resign(t, dir, ix, k, func(ix *Index) { ix.Ledger.After.Hash = strings.Repeat("0", 64) })
			return k
		}, ErrContinuity, LedgerPath},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, in, k := newGateway(t), newGateway(t), newKeys(t)
			out.approve(t, "pkg", 6)
			if _, err := bundletest.Hold(out.db, out.bs, "held", "1.0.0", bundletest.Tarball("held", "1.0.0", 100)); err != nil {
				t.Fatal(err)
			}
			ix, dir := out.export(t, k, ExportOptions{MaxPartSize: 24 << 10})
			if len(ix.Parts) < 3 {
				t.Fatalf("bundle has %d parts, the cases need 3", len(ix.Parts))
			}
			trusted := tt.damage(t, out, dir, ix, k)
			pub := newRecorder()
			_, err := in.importBundle(dir, trusted, pub)
			if !errors.Is(err, tt.want) {
				t.Fatalf("import: %v, want %v", err, tt.want)
			}
			if !strings.Contains(err.Error(), tt.where) {
				t.Errorf("message %q does not name %q", err, tt.where)
			}
			if pub.uploads != 0 {
				t.Errorf("a refused bundle published %d artifacts", pub.uploads)
			}
			if n := in.artifactCount(t); n != 0 {
				t.Errorf("a refused bundle left %d artifacts on the inside", n)
			}
		})
	}
}

func flipByte(t *testing.T, path string, offset int64) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := make([]byte, 1)
	f.ReadAt(b, offset)
	b[0] ^= 0x40
	f.WriteAt(b, offset)
}

func TestImportRefusesReplay(t *testing.T) {
	out, in, k := newGateway(t), newGateway(t), newKeys(t)
	out.approve(t, "first", 2)
	first, firstPath := out.export(t, k, ExportOptions{})
	out.approve(t, "second", 2)
	_, secondPath := out.export(t, k, ExportOptions{Since: first.ID})
	pub := newRecorder()

	// The second bundle cannot come first.
	_, err := in.importBundle(secondPath, k, pub)
	if !errors.Is(err, ErrContinuity) || !strings.Contains(err.Error(), "--trust-first") {
		t.Errorf("second bundle first: %v, want %v suggesting --trust-first", err, ErrContinuity)
	}
	if _, err := in.importBundle(firstPath, k, pub); err != nil {
		t.Fatal(err)
	}
	if _, err := in.importBundle(secondPath, k, pub); err != nil {
		t.Fatal(err)
	}
	// The first bundle again, after the second: a replay.
	_, err = in.importBundle(firstPath, k, pub)
	if !errors.Is(err, ErrReplay) || !strings.Contains(err.Error(), first.ID) {
		t.Errorf("first bundle again: %v, want %v naming %s", err, ErrReplay, first.ID)
	}
	// A full export made before the second import, never imported, is
	// behind as well.
	in2 := newGateway(t)
	for _, p := range []string{firstPath, secondPath} {
		if _, err := in2.importBundle(p, k, pub); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := in2.importBundle(firstPath, k, pub); !errors.Is(err, ErrReplay) {
		t.Errorf("old bundle on a second inside: %v, want %v", err, ErrReplay)
	}
}

func TestImportTrustFirst(t *testing.T) {
	out, in, k := newGateway(t), newGateway(t), newKeys(t)
	out.approve(t, "first", 1)
	first, _ := out.export(t, k, ExportOptions{})
	out.approve(t, "second", 2)
	_, secondPath := out.export(t, k, ExportOptions{Since: first.ID})
	sum, err := Import(context.Background(), in.db, in.bs, secondPath, ImportOptions{Verifier: k.verifier,
		Publisher: newRecorder(), TrustFirst: true})
	if err != nil {
		t.Fatalf("import with trust-first: %v", err)
	}
	if sum.Published != 2 {
		t.Errorf("published %d, want 2", sum.Published)
	}
}

func TestImportResumes(t *testing.T) {
	out, in, k := newGateway(t), newGateway(t), newKeys(t)
	out.approve(t, "pkg", 8)
	_, dir := out.export(t, k, ExportOptions{})

	// Interrupted while staging: nothing is recorded.
	ctx, cancel := context.WithCancel(context.Background())
	_, err := Import(ctx, in.db, in.bs, dir, ImportOptions{Verifier: k.verifier, Publisher: newRecorder(),
		Progress: &cancelAfter{n: 3, cancel: cancel}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted import: %v, want %v", err, context.Canceled)
	}
	if n := in.artifactCount(t); n != 0 {
		t.Fatalf("an interrupted stage recorded %d artifacts", n)
	}

	// The mirror fails after three uploads: what was published stays.
	pub := newRecorder()
	pub.failAfter = 3
	if _, err := in.importBundle(dir, k, pub); err == nil || !strings.Contains(err.Error(), "run import again") {
		t.Fatalf("import with a failing mirror: %v", err)
	}
	if got := len(in.published(t)); got != 3 {
		t.Fatalf("%d published before the mirror failed, want 3", got)
	}
	pub.failAfter = 0
	sum, err := in.importBundle(dir, k, pub)
	if err != nil {
		t.Fatalf("resumed import: %v", err)
	}
	if !sum.Resumed || sum.Published != 5 {
		t.Errorf("resumed import: resumed %v, published %d; want true, 5", sum.Resumed, sum.Published)
	}
	for key, n := range pub.versions {
		if n != 1 {
			t.Errorf("%s uploaded %d times", key, n)
		}
	}
	if len(pub.versions) != 8 {
		t.Errorf("mirror holds %d versions, want 8", len(pub.versions))
	}
	if v, err := in.db.VerifyLedger(); err != nil || !v.OK() {
		t.Errorf("inside ledger after resuming: %v %+v", err, v)
	}
}

// cancelAfter cancels a context once n files are staged.
type cancelAfter struct {
	n      int
	cancel context.CancelFunc
}

func (c *cancelAfter) Start(string, int) {}
func (c *cancelAfter) Done()             {}
func (c *cancelAfter) Add(int, int64) {
	if c.n--; c.n <= 0 {
		c.cancel()
	}
}
