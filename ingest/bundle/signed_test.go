package bundle

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/sluice-dev/sluice/ingest/sign"
	"github.com/sluice-dev/sluice/ingest/state"
)

// newSignKey returns a signing stage key and its public key.
func newSignKey(t *testing.T) (sign.Signer, *ecdsa.PublicKey) {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, err := sign.NewSigner(priv)
	if err != nil {
		t.Fatal(err)
	}
	return s, &priv.PublicKey
}

// signAll signs every approved artifact of the gateway as the signing
// stage of a sync does, and moves it to signed.
func (g *gateway) signAll(t *testing.T, s sign.Signer) {
	t.Helper()
	arts, err := g.db.Artifacts(func(a *state.Artifact) bool { return a.State == state.StateApproved })
	if err != nil {
		t.Fatal(err)
	}
	stage := sign.NewStage(s, g.db, g.bs, nil, nil)
	for _, a := range arts {
		out, err := stage.Process(context.Background(), a, func() (*os.File, error) { return g.bs.Open(a.Digest) })
		if err != nil {
			t.Fatal(err)
		}
		if _, err := g.db.Transition(a.Key(), state.Change{To: out.To, Evidence: out.Evidence}); err != nil {
			t.Fatal(err)
		}
	}
}

func TestImportSigned(t *testing.T) {
	out, in, k := newGateway(t), newGateway(t), newKeys(t)
	signer, pub := newSignKey(t)
	out.approve(t, "pkg", 3)
	out.signAll(t, signer)
	_, dir := out.export(t, k, ExportOptions{})
	_, err := Import(context.Background(), in.db, in.bs, dir, ImportOptions{Verifier: k.verifier,
		SignKey: pub, Publisher: newRecorder(), Actor: "cli:inside"})
	if err != nil {
		t.Fatal(err)
	}
	v := &sign.Verifier{DB: in.db, Blobs: in.bs, Key: pub}
	for i := range 3 {
		name := "pkg-0" + string(rune('0'+i))
		if err := v.VerifyNPM(context.Background(), name, "1.0.0", ""); err != nil {
			t.Errorf("inside verify: %v", err)
		}
	}
}

func TestImportRefusesSignature(t *testing.T) {
	tests := []struct {
		name string
		// damage changes the exported bundle and returns the signing key
		// the inside trusts.
		damage func(t *testing.T, dir string, ix *Index, k keys, pub *ecdsa.PublicKey) *ecdsa.PublicKey
		want   error
		where  string
	}{
		{"swapped signature", func(t *testing.T, dir string, ix *Index, k keys, pub *ecdsa.PublicKey) *ecdsa.PublicKey {
			resign(t, dir, ix, k, func(ix *Index) {
				ix.Artifacts[0].Blobs["signature"] = ix.Artifacts[1].Blobs["signature"]
			})
			return pub
		}, ErrEvidence, "pkg-00@1.0.0: artifact lacks the evidence of its approval: its signature is"},
		{"foreign signing key", func(t *testing.T, _ string, _ *Index, _ keys, _ *ecdsa.PublicKey) *ecdsa.PublicKey {
			_, other := newSignKey(t)
			return other
		}, ErrArtifactSignature, "npm/pkg-00@1.0.0"},
		{"no signing key", func(t *testing.T, _ string, _ *Index, _ keys, _ *ecdsa.PublicKey) *ecdsa.PublicKey {
			return nil
		}, nil, "no signing public key is trusted"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, in, k := newGateway(t), newGateway(t), newKeys(t)
			signer, pub := newSignKey(t)
			out.approve(t, "pkg", 3)
			out.signAll(t, signer)
			ix, dir := out.export(t, k, ExportOptions{})
			trusted := tt.damage(t, dir, ix, k, pub)
			rec := newRecorder()
			_, err := Import(context.Background(), in.db, in.bs, dir, ImportOptions{Verifier: k.verifier,
				SignKey: trusted, Publisher: rec, Actor: "cli:inside"})
			if err == nil || (tt.want != nil && !errors.Is(err, tt.want)) {
				t.Fatalf("import: %v, want %v", err, tt.want)
			}
			if !strings.Contains(err.Error(), tt.where) {
				t.Errorf("message %q does not name %q", err, tt.where)
			}
			if rec.uploads != 0 || in.artifactCount(t) != 0 {
				t.Errorf("a refused bundle published %d and recorded %d artifacts", rec.uploads, in.artifactCount(t))
			}
		})
	}
}
