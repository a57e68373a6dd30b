package npmfixture

import (
	"encoding/json"
	"fmt"
	"path"
	"strings"
)

// FailNext makes the next n requests for urlPath get status, with an npm
// error body, before the path is served normally again. urlPath is the
// decoded path, such as "/lodash" or "/@types/ms/-/ms-0.7.34.tgz", so it
// matches either spelling of a scoped name. Injected failures come before
// the token check. A later call for the same path replaces the earlier one.
func (h *Handler) FailNext(urlPath string, n, status int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.failures[urlPath] = &failure{remaining: n, status: status}
}

// Corrupt makes the tarball of name@version be served with one byte
// flipped, so its length is unchanged but its sha512 and sha1 no longer
// match the packument. It returns an error wrapping ErrNotFound when the
// packument lists no such version.
func (h *Handler) Corrupt(name, version string) error {
	file, err := h.tarballFile(name, version)
	if err != nil {
		return err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.corrupt[tarballPath(name, file)] = true
	return nil
}

// TarballURLPath returns the decoded URL path at which the tarball of
// name@version is served, for use with FailNext and Requests.
func (h *Handler) TarballURLPath(name, version string) (string, error) {
	file, err := h.tarballFile(name, version)
	if err != nil {
		return "", err
	}
	return tarballPath(name, file), nil
}

// Requests returns how many requests, of any method and outcome, arrived
// for decoded paths that start with pathPrefix. "/" counts every request.
func (h *Handler) Requests(pathPrefix string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	total := 0
	for urlPath, count := range h.requests {
		if strings.HasPrefix(urlPath, pathPrefix) {
			total += count
		}
	}
	return total
}

// TarballRequests returns how many requests arrived for tarball paths
// (/<name>/-/<file>), whatever their outcome.
func (h *Handler) TarballRequests() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.tarballHits
}

// ResetRequests sets every request counter to zero.
func (h *Handler) ResetRequests() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.requests = map[string]int{}
	h.tarballHits = 0
}

// tarballFile returns the file name that the packument of name lists as
// the tarball of version.
func (h *Handler) tarballFile(name, version string) (string, error) {
	doc, err := h.packument(name)
	if err != nil {
		return "", err
	}
	meta, ok := doc.Versions[version]
	if !ok {
		return "", fmt.Errorf("%s@%s: version %w in the packument", name, version, ErrNotFound)
	}
	var dist struct {
		Tarball string `json:"tarball"`
	}
	if err := json.Unmarshal(meta["dist"], &dist); err != nil || dist.Tarball == "" {
		return "", fmt.Errorf("%s@%s: packument lists no dist.tarball", name, version)
	}
	return path.Base(dist.Tarball), nil
}
