package refs

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata")

const internal = "harbor.internal"

// mirrorOf returns a MapMirror that has every given normalised reference,
// each under harbor.internal/<upstream registry>/<repository> with a digest
// made from the reference.
func mirrorOf(refs ...string) MapMirror {
	m := MapMirror{}
	for _, ref := range refs {
		r, err := Normalize(ref)
		if err != nil {
			panic(err)
		}
		sum := sha256.Sum256([]byte(ref))
		m[r.String()] = internal + "/" + r.Registry + "/" + r.Repository + "@sha256:" + hex.EncodeToString(sum[:])
	}
	return m
}

// mirrored lists every reference of the golden inputs that can be pinned.
var mirrored = mirrorOf(
	"docker.io/library/node:20.18-bookworm",
	"docker.io/bitnami/kubectl:1.31",
	"docker.io/library/golang@sha256:0000000000000000000000000000000000000000000000000000000000000023",
	"quay.io/prometheus/busybox:latest",
	"ghcr.io/acme/migrate:2.1.0",
	"docker.io/library/nginx:1.27",
	"quay.io/prometheus/node-exporter:v1.8.2",
	"docker.io/library/python:3.12-slim",
	"docker.io/library/busybox:1.36",
	"docker.io/bitnami/postgresql:16.4.0-debian-12-r0",
	"quay.io/prometheus/postgres-exporter:v0.15.0",
	"docker.io/grafana/k8s-sidecar:1.27.4",
	"docker.io/bitnami/os-shell:12-debian-12-r30",
	"docker.io/spotify/techdocs:v1.2.4",
)

func TestPinGolden(t *testing.T) {
	tests := []struct {
		file       string
		kind       Kind
		changed    int
		unchanged  int
		unresolved []int
	}{
		{"dockerfile/input/Dockerfile", KindDockerfile, 4, 1, []int{15, 26}},
		{"kubernetes/input/workloads.yaml", KindKubernetes, 5, 1, nil},
		{"helm/input/values.yaml", KindHelm, 4, 0, []int{22, 26}},
		{"backstage/input/app-config.yaml", KindBackstage, 1, 0, []int{14}},
	}
	for _, tt := range tests {
		t.Run(string(tt.kind), func(t *testing.T) {
			path := filepath.Join("testdata", tt.file)
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if kind, ok := Detect(path, data); !ok || kind != tt.kind {
				t.Errorf("Detect = %q, %v; want %q", kind, ok, tt.kind)
			}
			p := &Pinner{Mirror: mirrored, Registry: internal}
			res, err := p.Pin(path, data, tt.kind)
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Offenders) > 0 {
				t.Fatalf("offenders: %v", res.Offenders)
			}
			if res.Changed != tt.changed || res.Unchanged != tt.unchanged {
				t.Errorf("changed %d, unchanged %d; want %d, %d", res.Changed, res.Unchanged, tt.changed, tt.unchanged)
			}
			var lines []int
			for _, u := range res.Unresolved {
				lines = append(lines, u.Line)
			}
			if !slices.Equal(lines, tt.unresolved) {
				t.Errorf("unresolved at lines %v, want %v: %v", lines, tt.unresolved, res.Unresolved)
			}
			golden := filepath.Join("testdata", filepath.Dir(filepath.Dir(tt.file)), "golden", filepath.Base(tt.file))
			if *update {
				if err := os.WriteFile(golden, res.Output, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(res.Output, want) {
				t.Errorf("output differs from %s (run go test -update):\n%s", golden, res.Output)
			}

			again, err := p.Pin(path, res.Output, tt.kind)
			if err != nil {
				t.Fatal(err)
			}
			if again.Changed != 0 || !bytes.Equal(again.Output, res.Output) {
				t.Errorf("pinning twice changed %d references", again.Changed)
			}
			if again.Unchanged != tt.changed+tt.unchanged {
				t.Errorf("second pin counted %d pinned, want %d", again.Unchanged, tt.changed+tt.unchanged)
			}
		})
	}
}
