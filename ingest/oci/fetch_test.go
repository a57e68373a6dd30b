package oci

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/internal/registrytest"
	"github.com/sluice-dev/sluice/internal/storetest"
)

// seeded starts an upstream registry behind a proxy and pushes one
// multi-platform image, team/app:1.0.0.
func seeded(t *testing.T) (*registrytest.Proxy, string) {
	proxy, digest, _ := seededRegistry(t)
	return proxy, digest
}

// seededRegistry is seeded that also returns the registry's host.
func seededRegistry(t *testing.T) (*registrytest.Proxy, string, string) {
	t.Helper()
	up := registrytest.Start(t)
	digest, err := registrytest.Image(up.Host, "team/app", "1.0.0", "app", 256<<10)
	if err != nil {
		t.Fatal(err)
	}
	return registrytest.NewProxy(t, up.Host), digest.String(), up.Host
}

func resolveOne(t *testing.T, c *Client, ref string) *Resolved {
	t.Helper()
	res, err := c.Resolve(context.Background(), Request{Ref: ref, Origin: "m.yaml:9:7 " + ref})
	if err != nil {
		t.Fatal(err)
	}
	return res[0]
}

func TestResolveMissingTag(t *testing.T) {
	proxy, _ := seeded(t)
	ref := proxy.Host + "/team/app:9.9.9"
	_, err := NewClient().Resolve(context.Background(), Request{Ref: ref, Origin: "m.yaml:9:7 " + ref})
	if !errors.Is(err, ErrNotFound) {
		t.Fatalf("err = %v, want ErrNotFound", err)
	}
	if !strings.Contains(err.Error(), "m.yaml:9:7") {
		t.Errorf("error %q does not name the manifest entry", err)
	}
}

func TestFetchBadInput(t *testing.T) {
	tests := []struct {
		name  string
		fault func(digest string) func(w http.ResponseWriter, r *http.Request) bool
		want  error
	}{
		{
			name: "manifest digest does not match its bytes",
			fault: func(digest string) func(w http.ResponseWriter, r *http.Request) bool {
				return func(w http.ResponseWriter, r *http.Request) bool {
					if r.Method != http.MethodGet || !strings.HasSuffix(r.URL.Path, "/manifests/"+digest) {
						return false
					}
					w.Header().Set("Content-Type", "application/vnd.oci.image.index.v1+json")
					fmt.Fprint(w, `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}`)
					return true
				}
			},
			want: ErrDigestMismatch,
		},
		{
			name: "unsupported media type",
			fault: func(digest string) func(w http.ResponseWriter, r *http.Request) bool {
				body := `{"schemaVersion":1,"name":"team/app","tag":"1.0.0","fsLayers":[]}`
				sum := sha256.Sum256([]byte(body))
				legacy := "sha256:" + hex.EncodeToString(sum[:])
				return func(w http.ResponseWriter, r *http.Request) bool {
					if !strings.Contains(r.URL.Path, "/manifests/") {
						return false
					}
					w.Header().Set("Content-Type", "application/vnd.docker.distribution.manifest.v1+prettyjws")
					w.Header().Set("Docker-Content-Digest", legacy)
					w.Header().Set("Content-Length", fmt.Sprint(len(body)))
					if r.Method == http.MethodGet {
						fmt.Fprint(w, body)
					}
					return true
				}
			},
			want: ErrUnsupportedMediaType,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			proxy, digest := seeded(t)
			_, store := storetest.Open(t)
			c := NewClient()
			proxy.SetFault(tt.fault(digest))
			res := resolveOne(t, c, proxy.Host+"/team/app:1.0.0")
			_, err := NewFetcher(c, store, 4).Fetch(context.Background(), res)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if store.Has(res.Digest) {
				t.Errorf("store holds %s after a rejected fetch", res.Digest)
			}
		})
	}
}

func TestFetchHonoursRetryAfter(t *testing.T) {
	proxy, _ := seeded(t)
	_, store := storetest.Open(t)
	var mu sync.Mutex
	var limited, retried time.Time
	proxy.SetFault(func(w http.ResponseWriter, r *http.Request) bool {
		if r.Method != http.MethodGet || !strings.Contains(r.URL.Path, "/blobs/") {
			return false
		}
		mu.Lock()
		defer mu.Unlock()
		if limited.IsZero() {
			limited = time.Now()
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusTooManyRequests)
			return true
		}
		if retried.IsZero() {
			retried = time.Now()
		}
		return false
	})
	c := NewClient()
	res := resolveOne(t, c, proxy.Host+"/team/app:1.0.0")
	st, err := NewFetcher(c, store, 1).Fetch(context.Background(), res)
	if err != nil {
		t.Fatal(err)
	}
	if limited.IsZero() || retried.IsZero() {
		t.Fatal("the proxy did not see the rate-limited request and its retry")
	}
	if gap := retried.Sub(limited); gap < time.Second {
		t.Errorf("retried %v after a 429 with Retry-After: 1", gap)
	}
	if !store.Has(st.Digest) {
		t.Errorf("store lacks %s", st.Digest)
	}
}

func TestFetchResumesAfterKill(t *testing.T) {
	proxy, _, upstream := seededRegistry(t)
	_, store := storetest.Open(t)
	c := NewClient(WithAttempts(1))
	res := resolveOne(t, c, proxy.Host+"/team/app:1.0.0")

	// With one download at a time, the fourth blob stops halfway and the
	// fetch is cancelled there, as a killed process would stop.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cuts := make(chan registrytest.Cut, 1)
	release := make(chan struct{})
	defer close(release)
	proxy.SetFault(registrytest.CutBlob(upstream, 4, cuts, release))
	var cut registrytest.Cut
	go func() {
		cut = <-cuts
		if !registrytest.WaitForPartial(store.Root(), cut) {
			t.Errorf("the store kept no part of %s", cut.Digest)
		}
		cancel()
	}()
	if _, err := NewFetcher(c, store, 1).Fetch(ctx, res); !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted fetch: err = %v, want context.Canceled", err)
	}
	if store.Has(cut.Digest) {
		t.Fatalf("store holds the interrupted blob %s", cut.Digest)
	}
	proxy.SetFault(nil)
	proxy.Reset()
	st, err := NewFetcher(c, store, 4).Fetch(context.Background(), res)
	if err != nil {
		t.Fatal(err)
	}
	again, err := proxy.Resumed(cut)
	if err != nil {
		t.Error(err)
	}
	// The three blobs before the cut were stored; the rest is missing.
	if want := st.Blobs - 3; len(again) != want {
		t.Errorf("resumed fetch downloaded %d of %d blobs, want the %d missing ones", len(again), st.Blobs, want)
	}
}

func TestFetchPlatformFilter(t *testing.T) {
	proxy, digest := seeded(t)
	_, store := storetest.Open(t)
	c := NewClient()
	res, err := c.Resolve(context.Background(), Request{Ref: proxy.Host + "/team/app:1.0.0",
		Platforms: []string{"linux/arm64"}, Attachments: true, Origin: "test"})
	if err != nil {
		t.Fatal(err)
	}
	planned, err := c.Size(context.Background(), res[0])
	if err != nil {
		t.Fatal(err)
	}
	st, err := NewFetcher(c, store, 4).Fetch(context.Background(), res[0])
	if err != nil {
		t.Fatal(err)
	}
	if st.Digest == digest {
		t.Fatal("filtered index kept the upstream digest")
	}
	if len(st.Platforms) != 1 || st.Platforms[0] != "linux/arm64" {
		t.Errorf("platforms = %v, want [linux/arm64]", st.Platforms)
	}
	if st.Blobs != 3 {
		t.Errorf("stored %d blobs, want config, base and own layer of one platform", st.Blobs)
	}
	raw, err := readBlob(store, st.Digest)
	if err != nil {
		t.Fatal(err)
	}
	m, err := ParseManifest(raw, st.MediaType)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Children) != 1 || m.Children[0].Platform.Architecture != "arm64" {
		t.Errorf("filtered index lists %+v", m.Children)
	}
	if len(st.Notes) != 1 || !strings.Contains(st.Notes[0], "not copied") {
		t.Errorf("notes = %v, want one about the attachments left out", st.Notes)
	}
	if st.Size != planned {
		t.Errorf("stored %d bytes, Size planned %d", st.Size, planned)
	}
}
