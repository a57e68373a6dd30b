package npmfixture

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"sync"
	"time"
)

// abbreviatedMediaType is the media type of npm's abbreviated packument.
const abbreviatedMediaType = "application/vnd.npm.install-v1+json"

// ErrNotFound is returned, wrapped, for a package, version or tarball that
// the handler does not have.
var ErrNotFound = errors.New("not found")

// Handler serves npm registry reads from a directory in the recorded
// layout: <name>/packument.json and <name>/-/<file>.tgz, where a scoped
// name such as @types/ms is two folder levels. It serves
//
//   - GET /<name>, with every dist.tarball rewritten to point at itself,
//   - GET /<name>/-/<file>.tgz with the stored bytes,
//   - GET /-/ping,
//
// and returns 404 with npm's {"error": "..."} body for anything else. Scoped names
// may arrive as @scope/name or @scope%2fname. The packument is served in
// whatever form the directory stores, whatever the Accept header asks.
//
// The methods that inject faults and add packages change only memory,
// never the directory. A Handler is safe for concurrent use.
type Handler struct {
	files   fs.FS
	token   string
	baseURL string

	// addMu serializes AddVersion and SetPackument, which read a packument
	// and write it back. mu guards the fields below it.
	addMu       sync.Mutex
	mu          sync.Mutex
	failures    map[string]*failure
	corrupt     map[string]bool
	added       map[string]*addedPackage
	requests    map[string]int
	tarballHits int
	// packuments caches rewritten packuments by name, then by base URL.
	// generation counts changes to added packages, so that a packument
	// built before a change is not cached after it.
	packuments map[string]map[string][]byte
	generation int
}

type failure struct {
	remaining int
	status    int
}

// Option configures a Handler or a Registry.
type Option func(*Handler)

// WithToken makes every request except GET /-/ping require the header
// "Authorization: Bearer <token>"; others get 401.
func WithToken(token string) Option {
	return func(h *Handler) { h.token = token }
}

// WithBaseURL sets the URL that dist.tarball values are rewritten to. By
// default it is http://<Host header of the request>.
func WithBaseURL(baseURL string) Option {
	return func(h *Handler) { h.baseURL = strings.TrimSuffix(baseURL, "/") }
}

// NewHandler returns a Handler serving the registry layout in files, for
// example os.DirFS of a cache directory or Recorded().
func NewHandler(files fs.FS, opts ...Option) *Handler {
	h := &Handler{
		files:      files,
		failures:   map[string]*failure{},
		corrupt:    map[string]bool{},
		added:      map[string]*addedPackage{},
		requests:   map[string]int{},
		packuments: map[string]map[string][]byte{},
	}
	for _, opt := range opts {
		opt(h)
	}
	return h
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	urlPath := r.URL.Path
	name, file, isTarball := splitTarballPath(urlPath)
	if !isTarball {
		name = strings.TrimPrefix(urlPath, "/")
	}

	h.mu.Lock()
	h.requests[urlPath]++
	if isTarball {
		h.tarballHits++
	}
	injected := h.failures[urlPath]
	status := 0
	if injected != nil && injected.remaining > 0 {
		injected.remaining--
		status = injected.status
	}
	h.mu.Unlock()

	switch {
	case status != 0:
		writeError(w, status, "injected failure")
		return
	case r.Method != http.MethodGet && r.Method != http.MethodHead:
		writeError(w, http.StatusMethodNotAllowed, "method not allowed: this registry is read-only")
		return
	case urlPath == "/-/ping":
		writeJSON(w, r, http.StatusOK, "application/json", []byte("{}\n"))
		return
	case h.token != "" && r.Header.Get("Authorization") != "Bearer "+h.token:
		w.Header().Set("WWW-Authenticate", `Bearer realm="npmfixture"`)
		writeError(w, http.StatusUnauthorized, "authentication required: send a Bearer token")
		return
	case !validName(name) || (isTarball && !strings.HasSuffix(file, ".tgz")):
		writeError(w, http.StatusNotFound, "Not found")
		return
	}

	if isTarball {
		h.serveTarball(w, r, name, file)
		return
	}
	h.servePackument(w, r, name)
}

func (h *Handler) servePackument(w http.ResponseWriter, r *http.Request, name string) {
	doc, err := h.rewrittenPackument(name, h.base(r))
	if errors.Is(err, ErrNotFound) {
		writeError(w, http.StatusNotFound, "Not found")
		return
	}
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	contentType := "application/json"
	if strings.Contains(r.Header.Get("Accept"), abbreviatedMediaType) {
		contentType = abbreviatedMediaType
	}
	writeJSON(w, r, http.StatusOK, contentType, doc)
}

func (h *Handler) serveTarball(w http.ResponseWriter, r *http.Request, name, file string) {
	data, err := h.tarball(name, file)
	if errors.Is(err, ErrNotFound) {
		writeError(w, http.StatusNotFound, "Not found")
		return
	}
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	http.ServeContent(w, r, file, time.Time{}, bytes.NewReader(data))
}

// tarball returns the bytes served for name's tarball file, altered when
// Corrupt was called for it.
func (h *Handler) tarball(name, file string) ([]byte, error) {
	h.mu.Lock()
	added := h.added[name]
	corrupt := h.corrupt[tarballPath(name, file)]
	h.mu.Unlock()

	var data []byte
	if added != nil && added.tarballs[file] != nil {
		data = bytes.Clone(added.tarballs[file])
	} else {
		stored, err := fs.ReadFile(h.files, name+"/-/"+file)
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("tarball %s of %s: %w", file, name, ErrNotFound)
		}
		if err != nil {
			return nil, fmt.Errorf("read tarball %s of %s: %w", file, name, err)
		}
		data = stored
	}
	if corrupt && len(data) > 0 {
		data[len(data)/2] ^= 0xff
	}
	return data, nil
}

// rewrittenPackument returns name's packument with every dist.tarball
// pointing below base, cached per name and base.
func (h *Handler) rewrittenPackument(name, base string) ([]byte, error) {
	h.mu.Lock()
	cached, ok := h.packuments[name][base]
	generation := h.generation
	h.mu.Unlock()
	if ok {
		return cached, nil
	}

	doc, err := h.packument(name)
	if err != nil {
		return nil, err
	}
	for version, meta := range doc.Versions {
		var dist map[string]any
		if err := json.Unmarshal(meta["dist"], &dist); err != nil {
			return nil, fmt.Errorf("packument of %s: invalid dist of version %s: %w",
				name, version, err)
		}
		if tarball, ok := dist["tarball"].(string); ok {
			dist["tarball"] = base + tarballPath(name, path.Base(tarball))
		}
		encoded, err := json.Marshal(dist)
		if err != nil {
			return nil, err
		}
		meta["dist"] = encoded
	}
	out, err := doc.encode()
	if err != nil {
		return nil, fmt.Errorf("encode packument of %s: %w", name, err)
	}

	h.mu.Lock()
	if h.generation == generation {
		if h.packuments[name] == nil {
			h.packuments[name] = map[string][]byte{}
		}
		h.packuments[name][base] = out
	}
	h.mu.Unlock()
	return out, nil
}

// packument returns name's packument as added in memory or as stored.
func (h *Handler) packument(name string) (*packumentDoc, error) {
	h.mu.Lock()
	added := h.added[name]
	h.mu.Unlock()
	if added != nil {
		return parsePackument(name, added.packument)
	}
	data, err := fs.ReadFile(h.files, name+"/packument.json")
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("package %s: %w", name, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("read packument of %s: %w", name, err)
	}
	return parsePackument(name, data)
}

func (h *Handler) base(r *http.Request) string {
	if h.baseURL != "" {
		return h.baseURL
	}
	return "http://" + r.Host
}

// splitTarballPath splits "/<name>/-/<file>" into name and file.
func splitTarballPath(urlPath string) (name, file string, ok bool) {
	name, file, ok = strings.Cut(strings.TrimPrefix(urlPath, "/"), "/-/")
	if !ok || file == "" || strings.Contains(file, "/") {
		return "", "", false
	}
	return name, file, true
}

func tarballPath(name, file string) string {
	return "/" + name + "/-/" + file
}

// validName reports whether name is an npm package name that is also a
// safe path into the registry directory: "name" or "@scope/name".
func validName(name string) bool {
	parts := strings.Split(name, "/")
	switch {
	case len(parts) == 2 && strings.HasPrefix(parts[0], "@") && len(parts[0]) > 1:
	case len(parts) == 1 && !strings.HasPrefix(name, "@"):
	default:
		return false
	}
	for _, part := range parts {
		if part == "" || part == "." || part == ".." || strings.HasPrefix(part, "-") {
			return false
		}
	}
	return fs.ValidPath(name)
}

func writeError(w http.ResponseWriter, status int, message string) {
	body, _ := json.Marshal(map[string]string{"error": message})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(body, '\n'))
}

func writeJSON(w http.ResponseWriter, r *http.Request, status int, contentType string, body []byte) {
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Content-Length", fmt.Sprint(len(body)))
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		_, _ = io.Copy(w, bytes.NewReader(body))
	}
}
