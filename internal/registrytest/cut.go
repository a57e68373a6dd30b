package registrytest

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// Cut is a blob download that a CutBlob fault stopped halfway.
type Cut struct {
	// Digest is the blob's digest ("sha256:<hex>").
	Digest string
	// Served is how many bytes of the blob the client received.
	Served int
}

// CutBlob returns a fault for Proxy.SetFault that serves the nth blob
// download (counting from 1) only halfway. It sends the blob's real first
// half, read from the registry at host, and reports it on cuts. Then it
// holds the connection open until the client goes away or release is
// closed, as a network stall or a killed client would leave it.
func CutBlob(host string, nth int, cuts chan<- Cut, release <-chan struct{}) func(http.ResponseWriter, *http.Request) bool {
	var mu sync.Mutex
	seen := 0
	return func(w http.ResponseWriter, r *http.Request) bool {
		if r.Method != http.MethodGet || !strings.Contains(r.URL.Path, "/blobs/") {
			return false
		}
		mu.Lock()
		seen++
		n := seen
		mu.Unlock()
		if n != nth {
			return false
		}
		blob, err := http.Get("http://" + host + r.URL.Path)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return true
		}
		data, err := io.ReadAll(blob.Body)
		blob.Body.Close()
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return true
		}
		half := len(data) / 2
		w.Header().Set("Content-Length", fmt.Sprint(len(data)))
		w.WriteHeader(http.StatusOK)
		w.Write(data[:half])
		w.(http.Flusher).Flush()
		cuts <- Cut{Digest: r.URL.Path[strings.LastIndex(r.URL.Path, "/")+1:], Served: half}
		select {
		case <-r.Context().Done():
		case <-release:
		}
		return true
	}
}

// WaitForPartial waits up to 10 seconds until the blob store under root
// keeps the cut-off part of a download, so a test stops the client only
// after it wrote what it received. It reports whether the part arrived.
func WaitForPartial(root string, c Cut) bool {
	path := filepath.Join(root, "partial", strings.TrimPrefix(c.Digest, "sha256:"))
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
		if fi, err := os.Stat(path); err == nil && fi.Size() >= int64(c.Served) {
			return true
		}
		time.Sleep(10 * time.Millisecond)
	}
	return false
}

// Resumed returns the digests of the blobs downloaded since the last
// Reset. It returns an error when the blob of c was left out or requested
// without a Range for its missing part.
func (p *Proxy) Resumed(c Cut) ([]string, error) {
	var digests []string
	var err error = fmt.Errorf("the interrupted blob %s was not downloaded again", c.Digest)
	for _, r := range p.Requests() {
		if r.Kind != "blobs" || r.Method != http.MethodGet {
			continue
		}
		d := r.Path[strings.LastIndex(r.Path, "/")+1:]
		digests = append(digests, d)
		if d != c.Digest {
			continue
		}
		err = nil
		if want := fmt.Sprintf("bytes=%d-", c.Served); r.Range != want {
			err = fmt.Errorf("the interrupted blob %s was requested with Range %q, want %q", d, r.Range, want)
		}
	}
	return digests, err
}
