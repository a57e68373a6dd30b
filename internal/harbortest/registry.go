package harbortest

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
)

// manifestTypes are the manifest media types the fake accepts from the
// registry when it reads an artifact back.
var manifestTypes = []string{
	"application/vnd.oci.image.manifest.v1+json",
	"application/vnd.oci.image.index.v1+json",
	"application/vnd.docker.distribution.manifest.v2+json",
	"application/vnd.docker.distribution.manifest.list.v2+json",
}

// WithRegistry makes the fake serve the OCI distribution API under /v2/,
// on the same host as its REST API as Harbor does. It proxies that API to
// the registry at upstream, which runs without authentication on
// loopback. The fake authenticates each request with basic auth against
// its users and robots, and checks repository pull or push permission on
// the project named by the first path segment. The REST API's artifact
// and tag calls then also find what was pushed through it.
//
// Harbor itself sends a bearer token challenge; the fake sends a Basic
// challenge, which registry clients also follow.
func WithRegistry(upstream string) Option {
	return func(s *Server) { s.registryURL = upstream }
}

// parseRegistry checks the URL given to WithRegistry.
func parseRegistry(upstream string) (*url.URL, error) {
	u, err := url.Parse(upstream)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("harbortest: invalid registry URL %q: want http://host:port", upstream)
	}
	return u, nil
}

// serveRegistry authenticates and authorizes a /v2/ request, proxies it
// to the upstream registry and logs it with the API requests.
func (s *Server) serveRegistry(w http.ResponseWriter, r *http.Request) {
	rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
	defer func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.logRequest(r, rec.status, "")
	}()
	if s.registry == nil {
		writeError(rec, http.StatusNotFound, "NOT_FOUND", "the fake Harbor has no registry: use WithRegistry")
		return
	}
	if !s.authorizeRegistry(rec, r) {
		return
	}
	proxy := httputil.NewSingleHostReverseProxy(s.registry)
	proxy.ServeHTTP(rec, r)
}

// SetScan makes artifacts with digest that were pushed through the
// registry show scan as their scan overview, as Harbor does once its
// scanner has run.
func (s *Server) SetScan(digest string, scan Scan) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.scans[digest] = &scan
}

// authorizeRegistry applies the fake's permission rules to a registry
// request, under the state lock, and writes the error response itself.
func (s *Server) authorizeRegistry(w http.ResponseWriter, r *http.Request) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	caller := s.authenticate(r)
	rest := strings.TrimPrefix(r.URL.Path, "/v2/")
	if rest == "" || rest == "_catalog" {
		if caller.anonymous() {
			w.Header().Set("WWW-Authenticate", `Basic realm="harbor"`)
			writeUnauthorized(w)
			return false
		}
		return rest == "" || s.allow(w, caller, nil, "catalog", "read")
	}
	projectName, _, _ := strings.Cut(rest, "/")
	p := s.projectByName(projectName)
	if p == nil {
		writeError(w, http.StatusNotFound, "NOT_FOUND", fmt.Sprintf("project %s not found", projectName))
		return false
	}
	action := "push"
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		action = "pull"
	}
	if caller.anonymous() && !(action == "pull" && p.public()) {
		w.Header().Set("WWW-Authenticate", `Basic realm="harbor"`)
		writeUnauthorized(w)
		return false
	}
	return s.allow(w, caller, p, "repository", action)
}

// registryArtifact reads an artifact of p from the upstream registry, or
// returns nil when the registry does not have it.
func (s *Server) registryArtifact(p *project, repo, ref string) *artifact {
	if s.registry == nil {
		return nil
	}
	base := s.registry.String() + "/v2/" + p.name + "/" + repo
	body, header, err := s.registryGet(base + "/manifests/" + ref)
	if err != nil {
		return nil
	}
	digest := header.Get("Docker-Content-Digest")
	if digest == "" {
		digest = fmt.Sprintf("sha256:%x", sha256.Sum256(body))
	}
	var manifest struct {
		Config struct{ Size int64 }   `json:"config"`
		Layers []struct{ Size int64 } `json:"layers"`
	}
	_ = json.Unmarshal(body, &manifest)
	a := &artifact{Artifact: Artifact{Repository: repo, Digest: digest, MediaType: header.Get("Content-Type"),
		Size: int64(len(body)) + manifest.Config.Size, Scan: s.scans[digest]}}
	for _, l := range manifest.Layers {
		a.Size += l.Size
	}
	a.id = s.stableID("artifact", p.name+"/"+repo+"@"+digest)
	a.repoID = s.stableID("repository", p.name+"/"+repo)
	var tags struct {
		Tags []string `json:"tags"`
	}
	if body, _, err := s.registryGet(base + "/tags/list"); err == nil {
		_ = json.Unmarshal(body, &tags)
	}
	for _, tag := range tags.Tags {
		if _, h, err := s.registryGet(base + "/manifests/" + tag); err == nil && h.Get("Docker-Content-Digest") == digest {
			a.Tags = append(a.Tags, tag)
			a.tagIDs = append(a.tagIDs, s.stableID("tag", p.name+"/"+repo+":"+tag))
		}
	}
	return a
}

// registryGet fetches a URL of the upstream registry and returns the body
// and headers of a 200 response.
func (s *Server) registryGet(target string) ([]byte, http.Header, error) {
	req, err := http.NewRequest(http.MethodGet, target, nil)
	if err != nil {
		return nil, nil, err
	}
	req.Header.Set("Accept", strings.Join(manifestTypes, ", "))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return nil, nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, nil, fmt.Errorf("GET %s: status %d", target, resp.StatusCode)
	}
	return body, resp.Header, nil
}

// stableID returns the same ID each time for the same key, so artifacts
// read from the registry keep their IDs across requests.
func (s *Server) stableID(kind, key string) int64 {
	if id, ok := s.registryIDs[kind+" "+key]; ok {
		return id
	}
	id := s.newID(kind)
	s.registryIDs[kind+" "+key] = id
	return id
}
