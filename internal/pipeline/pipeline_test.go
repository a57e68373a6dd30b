package pipeline

import (
	"errors"
	"log/slog"
	"path/filepath"
	"testing"

	"github.com/sluice-dev/sluice/ingest/sign"
	"github.com/sluice-dev/sluice/internal/storetest"
	"github.com/sluice-dev/sluice/scanners"
)

func TestBuildSettings(t *testing.T) {
	policy, err := filepath.Abs("../../examples/policies/bank.yaml")
	if err != nil {
		t.Fatal(err)
	}
	keys, err := sign.GenerateKeyPair([]byte("pw"))
	if err != nil {
		t.Fatal(err)
	}
	signer, err := sign.ParsePrivateKey(keys.PrivatePEM, []byte("pw"))
	if err != nil {
		t.Fatal(err)
	}
	const upstream = "http://127.0.0.1:1/"
	tests := []struct {
		name    string
		s       Settings
		wantErr error
	}{
		{"npm mirror without policy", Settings{Upstream: upstream, Mirror: "http://127.0.0.1:2/"}, ErrInvalidSettings},
		{"oci mirror without policy", Settings{Upstream: upstream, OCIMirror: "127.0.0.1:3/mirror"}, ErrInvalidSettings},
		{"missing policy file", Settings{Upstream: upstream, Policy: "missing.yaml"}, ErrInvalidSettings},
		{"invalid scope", Settings{Upstream: upstream, Scan: true, InternalScopes: []string{"acme"}}, ErrInvalidSettings},
		{"no vulnerability database", Settings{Upstream: upstream, Scan: true, VulnDBDir: t.TempDir()}, scanners.ErrNoDB},
		{"everything but the scan", Settings{Upstream: upstream, Mirror: "http://127.0.0.1:2/",
			OCIMirror: "127.0.0.1:3/mirror", Policy: policy, Signer: signer}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db, bs := storetest.Open(t)
			r, done, err := Build(tt.s, db, bs, "tester", slog.New(slog.DiscardHandler))
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Build error = %v, want %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			defer done()
			if r.Publish == nil || r.PublishImages == nil || r.Evaluate == nil || r.Sign == nil {
				t.Errorf("runner lacks a stage: publish %v, images %v, evaluate %v, sign %v",
					r.Publish != nil, r.PublishImages != nil, r.Evaluate != nil, r.Sign != nil)
			}
			if r.Scan != nil {
				t.Error("scan stage set without Scan")
			}
			if r.Actor != "tester" {
				t.Errorf("actor = %q", r.Actor)
			}
		})
	}
}
