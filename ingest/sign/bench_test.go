package sign

import (
	"context"
	"crypto/ecdsa"
	"crypto/rand"
	"fmt"
	"os"
	"testing"

	"github.com/sluice-dev/sluice/ingest/state"
	"github.com/sluice-dev/sluice/internal/storetest"
)

// benchArtifacts is the number of npm artifacts each benchmark iteration
// signs or verifies.
const benchArtifacts = 1000

// BenchmarkSignVerifyThousand signs and then verifies a thousand approved
// npm artifacts of 48 KiB each, through the stage and the verifier as a
// sync and `sluice verify` use them, with the blob store and the state
// database on disk.
func BenchmarkSignVerifyThousand(b *testing.B) {
	db, bs := storetest.Open(b)
	signer := newTestSigner(b)
	st := NewStage(signer, db, bs, nil, nil)
	arts := make([]*state.Artifact, benchArtifacts)
	for i := range arts {
		content := make([]byte, 48<<10)
		rand.Read(content)
		arts[i] = addApprovedContent(b, db, bs, fmt.Sprintf("pkg-%04d", i), "1.0.0", content)
	}
	ctx := context.Background()
	b.Run("sign", func(b *testing.B) {
		for b.Loop() {
			for _, a := range arts {
				if _, err := st.Process(ctx, a, func() (*os.File, error) { return bs.Open(a.Digest) }); err != nil {
					b.Fatal(err)
				}
			}
		}
		b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/1000-artifacts")
	})
	for _, a := range arts {
		for _, to := range []state.State{state.StateSigned, state.StatePublished} {
			if _, err := db.Transition(a.Key(), state.Change{To: to}); err != nil {
				b.Fatal(err)
			}
		}
	}
	v := &Verifier{DB: db, Blobs: bs, Key: signer.Public().(*ecdsa.PublicKey)}
	b.Run("verify", func(b *testing.B) {
		for b.Loop() {
			for _, a := range arts {
				if err := v.VerifyNPM(ctx, a.Name, a.Version, a.Integrity); err != nil {
					b.Fatal(err)
				}
			}
		}
		b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/1000-artifacts")
	})
}

// BenchmarkSignStatement measures signing alone: one statement into a
// bundle, with no disk I/O, to separate the cryptography from the fsyncs
// of the blob store and the state database.
func BenchmarkSignStatement(b *testing.B) {
	signer := newTestSigner(b)
	st := &Statement{Type: StatementType, PredicateType: ApprovalPredicateType,
		Predicate: []byte(`{"artifact":"npm/x@1.0.0"}`),
		Subject:   []Subject{{Name: "pkg:npm/x@1.0.0", Digest: map[string]string{"sha256": "00"}}}}
	for b.Loop() {
		if _, err := SignStatement(signer, st); err != nil {
			b.Fatal(err)
		}
	}
}
