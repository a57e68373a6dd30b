package registrytest

import (
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
)

// Proxy forwards requests to a registry and records each one. A test can
// respond to a request itself to inject a fault.
type Proxy struct {
	// Host is "127.0.0.1:<port>" of the proxy.
	Host string

	server   *httptest.Server
	mu       sync.Mutex
	fault    func(w http.ResponseWriter, r *http.Request) bool
	requests []Request
}

// Request is one request the proxy saw.
type Request struct {
	Method string
	Path   string
	Query  string
	// Range is the request's Range header.
	Range string
	// Kind is the path's API area: "manifests", "blobs", "uploads",
	// "tags", "referrers", or "" for others.
	Kind string
}

// NewProxy starts a proxy to the registry at host, stopped when the test
// ends.
func NewProxy(t testing.TB, host string) *Proxy {
	t.Helper()
	p := ServeProxy(host)
	t.Cleanup(p.Close)
	return p
}

// ServeProxy starts a proxy to the registry at host; the caller calls
// Close.
func ServeProxy(host string) *Proxy {
	target := &url.URL{Scheme: "http", Host: host}
	rp := httputil.NewSingleHostReverseProxy(target)
	p := &Proxy{}
	p.server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		p.requests = append(p.requests, Request{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery,
			Range: r.Header.Get("Range"), Kind: kindOf(r.URL.Path)})
		fault := p.fault
		p.mu.Unlock()
		if fault != nil && fault(w, r) {
			return
		}
		rp.ServeHTTP(w, r)
	}))
	p.Host = strings.TrimPrefix(p.server.URL, "http://")
	return p
}

// Close stops the proxy.
func (p *Proxy) Close() { p.server.Close() }

// SetFault installs a function that receives every request first. It
// responds to a request itself by returning true; nil removes it.
func (p *Proxy) SetFault(f func(w http.ResponseWriter, r *http.Request) bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.fault = f
}

// Requests returns the requests seen since the last Reset.
func (p *Proxy) Requests() []Request {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Request(nil), p.requests...)
}

// Reset clears the recorded requests.
func (p *Proxy) Reset() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.requests = nil
}

// Count returns how many requests with method went to kind's API area.
func (p *Proxy) Count(method, kind string) int {
	n := 0
	for _, r := range p.Requests() {
		if r.Method == method && r.Kind == kind {
			n++
		}
	}
	return n
}

func kindOf(path string) string {
	switch {
	case strings.Contains(path, "/blobs/uploads"):
		return "uploads"
	case strings.Contains(path, "/blobs/"):
		return "blobs"
	case strings.Contains(path, "/manifests/"):
		return "manifests"
	case strings.Contains(path, "/tags/"):
		return "tags"
	case strings.Contains(path, "/referrers/"):
		return "referrers"
	}
	return ""
}
