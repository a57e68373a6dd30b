package sign

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha512"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/sluice-dev/sluice/ingest/blobs"
	"github.com/sluice-dev/sluice/ingest/state"
	"github.com/sluice-dev/sluice/internal/storetest"
)

func newTestSigner(t testing.TB) Signer {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewSigner(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

type fixedEvidence Evidence

func (f fixedEvidence) Evidence(context.Context, *state.Artifact) (Evidence, error) {
	return Evidence(f), nil
}

// addApproved stores a tarball and an approved artifact for it.
func addApproved(t testing.TB, db *state.DB, bs *blobs.Store, name, version string) *state.Artifact {
	t.Helper()
	return addApprovedContent(t, db, bs, name, version, []byte("tarball of "+name+"@"+version))
}

func addApprovedContent(t testing.TB, db *state.DB, bs *blobs.Store, name, version string,
	content []byte) *state.Artifact {
	t.Helper()
	digest, err := bs.Put(content)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha512.Sum512(content)
	a, _, err := db.Create(&state.Artifact{Ecosystem: state.EcosystemNPM, Name: name, Version: version,
		State: state.StateRequested}, "run", "test")
	if err != nil {
		t.Fatal(err)
	}
	key := a.Key()
	err = db.UpdateArtifact(key, "test.fetched", "run", nil, func(a *state.Artifact) {
		a.Digest = digest
		a.Integrity = "sha512-" + base64.StdEncoding.EncodeToString(sum[:])
	})
	if err != nil {
		t.Fatal(err)
	}
	a, err = db.Transition(key, state.Change{To: state.StateApproved, Run: "run", Actor: "test",
		Skipped: state.Between(state.StateRequested, state.StateApproved)})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// signAndPublish runs the stage on an approved artifact and moves it on to
// published, as a sync does.
func signAndPublish(t testing.TB, st *Stage, db *state.DB, bs *blobs.Store, a *state.Artifact) {
	t.Helper()
	out, err := st.Process(context.Background(), a, func() (*os.File, error) { return bs.Open(a.Digest) })
	if err != nil {
		t.Fatal(err)
	}
	if out.To != state.StateSigned {
		t.Fatalf("outcome %s, expected signed", out.To)
	}
	if _, err := db.Transition(a.Key(), state.Change{To: state.StateSigned, Evidence: out.Evidence}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Transition(a.Key(), state.Change{To: state.StatePublished}); err != nil {
		t.Fatal(err)
	}
}

func TestStageRecordsBundle(t *testing.T) {
	db, bs := storetest.Open(t)
	signer := newTestSigner(t)
	ev := Evidence{SBOMs: map[string]string{"spdx": "sha256:" + strings.Repeat("a", 64)},
		Scan: "sha256:" + strings.Repeat("b", 64)}
	st := NewStage(signer, db, bs, fixedEvidence(ev), nil)
	a := addApproved(t, db, bs, "@scope/pkg", "1.0.0")
	signAndPublish(t, st, db, bs, a)

	rec, err := LoadRecord(db, a.Key())
	if err != nil || rec == nil {
		t.Fatalf("record: %v, %v", rec, err)
	}
	if rec.KeyID != signer.KeyID() {
		t.Errorf("record key id %s, expected %s", rec.KeyID, signer.KeyID())
	}
	bundle, err := readBlob(bs, rec.Bundle)
	if err != nil {
		t.Fatal(err)
	}
	stmt, err := VerifyBundle(signer.Public().(*ecdsa.PublicKey), bundle)
	if err != nil {
		t.Fatal(err)
	}
	if got := stmt.Subject[0].Name; got != "pkg:npm/%40scope/pkg@1.0.0" {
		t.Errorf("subject %s", got)
	}
	if !strings.Contains(string(stmt.Predicate), ev.Scan) {
		t.Errorf("predicate lacks the scan digest: %s", stmt.Predicate)
	}
	entries, err := db.Ledger(a.Key())
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, e := range entries {
		found = found || (e.To == state.StateSigned && e.Evidence["signature.bundle"] == rec.Bundle)
	}
	if !found {
		t.Error("the ledger has no signed entry with the bundle digest")
	}
}

func TestVerifyNPMFailures(t *testing.T) {
	db, bs := storetest.Open(t)
	signer := newTestSigner(t)
	st := NewStage(signer, db, bs, nil, nil)
	good := addApproved(t, db, bs, "good", "1.0.0")
	tampered := addApproved(t, db, bs, "tampered", "1.0.0")
	swapped := addApproved(t, db, bs, "swapped", "1.0.0")
	for _, a := range []*state.Artifact{good, tampered, swapped} {
		signAndPublish(t, st, db, bs, a)
	}
	unsigned := addApproved(t, db, bs, "unsigned", "1.0.0")
	if _, err := db.Transition(unsigned.Key(), state.Change{To: state.StatePublished,
		Skipped: []state.State{state.StateSigned}}); err != nil {
		t.Fatal(err)
	}

	// Tamper: replace the stored tarball's bytes in place.
	p, err := bs.Path(tampered.Digest)
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(p, 0o644)
	if err := os.WriteFile(p, []byte("evil"), 0o644); err != nil {
		t.Fatal(err)
	}
	// Swap: point swapped's record at good's bundle.
	goodRec, _ := LoadRecord(db, good.Key())
	swappedRec, _ := LoadRecord(db, swapped.Key())
	swappedRec.Bundle = goodRec.Bundle
	if err := db.Update(func(tx *state.Tx) error {
		return tx.Put(SignaturesBucket, swapped.Key(), swappedRec)
	}); err != nil {
		t.Fatal(err)
	}

	right := signer.Public().(*ecdsa.PublicKey)
	wrong := newTestSigner(t).Public().(*ecdsa.PublicKey)
	cases := []struct {
		name, pkg, integrity string
		key                  *ecdsa.PublicKey
		want                 error
		reason               string
	}{
		{"valid", "good", "", right, nil, ""},
		{"lockfile integrity", "good", good.Integrity, right, nil, ""},
		{"tampered tarball", "tampered", "", right, ErrDigestMismatch, "sha256"},
		{"swapped signature", "swapped", "", right, ErrDigestMismatch, "signature is for npm/good@1.0.0"},
		{"wrong key", "good", "", wrong, ErrBadSignature, "does not verify"},
		{"unsigned", "unsigned", "", right, ErrNotSigned, "no signing key"},
		{"unmirrored", "absent", "", right, ErrNotMirrored, "no such artifact"},
		{"other integrity", "good", "sha512-AAAA", right, ErrDigestMismatch, "lockfile's integrity"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v := &Verifier{DB: db, Blobs: bs, Key: c.key}
			err := v.VerifyNPM(context.Background(), c.pkg, "1.0.0", c.integrity)
			if !errors.Is(err, c.want) {
				t.Fatalf("error %v, expected %v", err, c.want)
			}
			if err == nil {
				return
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, fmt.Sprintf("npm/%s@1.0.0: ", c.pkg)) {
				t.Errorf("message does not start with the artifact: %s", msg)
			}
			if !strings.Contains(msg, c.reason) {
				t.Errorf("message %q lacks %q", msg, c.reason)
			}
		})
	}
}

func TestKeyFileRoundTrip(t *testing.T) {
	pair, err := GenerateKeyPair([]byte("secret"))
	if err != nil {
		t.Fatal(err)
	}
	s, err := ParsePrivateKey(pair.PrivatePEM, []byte("secret"))
	if err != nil {
		t.Fatal(err)
	}
	pub, err := ParsePublicKey(pair.PublicPEM)
	if err != nil {
		t.Fatal(err)
	}
	if !pub.Equal(s.Public()) {
		t.Error("the public key file does not match the private key")
	}
	if _, err := ParsePrivateKey(pair.PrivatePEM, []byte("wrong")); !errors.Is(err, ErrWrongPassword) {
		t.Errorf("wrong password: %v", err)
	}
	if _, err := ParsePrivateKey(pair.PublicPEM, nil); err == nil {
		t.Error("a public key parsed as a private key")
	}
}
