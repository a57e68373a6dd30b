// Package npm resolves npm package requests against a registry: it reads
// abbreviated packuments, picks versions with npm's rules, walks the full
// dependency closure and downloads tarballs with their integrity checked.
package npm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/sluice-dev/sluice/ingest/fetch"
)

// DefaultRegistry is the public npm registry, the upstream used when none
// is configured.
const DefaultRegistry = "https://registry.npmjs.org/"

// ErrPackageNotFound is returned when the registry has no package of that name.
var ErrPackageNotFound = errors.New("package not found")

// abbreviatedAccept requests the abbreviated packument ("corgi"), which
// carries what installing needs and is a fraction of the full document.
const abbreviatedAccept = "application/vnd.npm.install-v1+json; q=1.0, application/json; q=0.8, */*"

// Packument is a registry's document for one package, in its abbreviated
// form.
type Packument struct {
	Name     string              `json:"name"`
	DistTags map[string]string   `json:"dist-tags"`
	Versions map[string]*Version `json:"versions"`
	Modified string              `json:"modified,omitempty"`
}

// Version is one version's entry in a packument.
type Version struct {
	Name                 string              `json:"name"`
	Version              string              `json:"version"`
	Dependencies         map[string]string   `json:"dependencies,omitempty"`
	OptionalDependencies map[string]string   `json:"optionalDependencies,omitempty"`
	PeerDependencies     map[string]string   `json:"peerDependencies,omitempty"`
	PeerDependenciesMeta map[string]PeerMeta `json:"peerDependenciesMeta,omitempty"`
	BundleDependencies   json.RawMessage     `json:"bundleDependencies,omitempty"`
	BundledDependencies  json.RawMessage     `json:"bundledDependencies,omitempty"`
	OS                   []string            `json:"os,omitempty"`
	CPU                  []string            `json:"cpu,omitempty"`
	Deprecated           json.RawMessage     `json:"deprecated,omitempty"`
	HasInstallScript     bool                `json:"hasInstallScript,omitempty"`
	Engines              json.RawMessage     `json:"engines,omitempty"`
	Dist                 Dist                `json:"dist"`
}

// PeerMeta is a peerDependenciesMeta entry.
type PeerMeta struct {
	Optional bool `json:"optional"`
}

// Dist locates a version's tarball and states its digests.
type Dist struct {
	Tarball      string `json:"tarball"`
	Shasum       string `json:"shasum,omitempty"`
	Integrity    string `json:"integrity,omitempty"`
	UnpackedSize int64  `json:"unpackedSize,omitempty"`
	FileCount    int    `json:"fileCount,omitempty"`
	// Signatures are the registry's ECDSA signatures over
	// "<name>@<version>:<integrity>", by key id.
	Signatures []Signature `json:"signatures,omitempty"`
	// Attestations locates the version's provenance attestations, when
	// it was published with provenance.
	Attestations *Attestations `json:"attestations,omitempty"`
	// SluiceBundle is the Sigstore bundle that a Sluice mirror publishes
	// with each version it signed.
	SluiceBundle json.RawMessage `json:"sluiceBundle,omitempty"`
}

// Signature is one registry signature of a version.
type Signature struct {
	KeyID string `json:"keyid"`
	Sig   string `json:"sig"`
}

// Attestations is a version's dist.attestations: where the registry
// serves its attestation bundles.
type Attestations struct {
	URL        string `json:"url"`
	Provenance struct {
		PredicateType string `json:"predicateType"`
	} `json:"provenance"`
}

// IsDeprecated reports whether the version carries a deprecation message.
func (v *Version) IsDeprecated() bool {
	d := strings.TrimSpace(string(v.Deprecated))
	return d != "" && d != "false" && d != `""` && d != "null"
}

// bundled returns the names of dependencies shipped inside the tarball,
// which the closure must not fetch separately.
func (v *Version) bundled() map[string]bool {
	out := map[string]bool{}
	for _, raw := range []json.RawMessage{v.BundleDependencies, v.BundledDependencies} {
		var names []string
		if json.Unmarshal(raw, &names) == nil {
			for _, n := range names {
				out[n] = true
			}
			continue
		}
		var all bool
		if json.Unmarshal(raw, &all) == nil && all {
			for n := range v.Dependencies {
				out[n] = true
			}
		}
	}
	return out
}

// Registry reads packuments and tarballs from one npm registry.
type Registry struct {
	base   *url.URL
	token  string
	client *fetch.Client
}

// NewRegistry returns a client for the registry at base. token, when not
// empty, is sent as a bearer token to the registry's own host only.
func NewRegistry(base, token string, client *fetch.Client) (*Registry, error) {
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("invalid npm registry URL %q: use an http or https URL such as %s", base, DefaultRegistry)
	}
	if !strings.HasSuffix(u.Path, "/") {
		u.Path += "/"
	}
	return &Registry{base: u, token: token, client: client}, nil
}

// URL returns the registry's base URL, ending in a slash.
func (r *Registry) URL() string { return r.base.String() }

// PackumentURL returns the URL of a package's packument. A scoped name's
// slash is escaped, as npm clients do.
func (r *Registry) PackumentURL(name string) string {
	return r.base.String() + strings.Replace(name, "/", "%2f", 1)
}

func (r *Registry) header(target string, accept string) http.Header {
	h := http.Header{}
	if accept != "" {
		h.Set("Accept", accept)
	}
	if r.token != "" {
		if u, err := url.Parse(target); err == nil && u.Host == r.base.Host {
			h.Set("Authorization", "Bearer "+r.token)
		}
	}
	return h
}

// Ping checks that the registry responds at all (npm's /-/ping endpoint),
// so that an unreachable upstream fails once instead of once per package.
// Any HTTP status passes; only a transport error fails.
func (r *Registry) Ping(ctx context.Context) error {
	u := r.base.String() + "-/ping"
	resp, err := r.client.Get(ctx, u, r.header(u, "application/json"))
	var se *fetch.StatusError
	if errors.As(err, &se) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("npm upstream %s is not reachable: %w; check --npm-upstream and the network", r.base, err)
	}
	resp.Body.Close()
	return nil
}

// Packument fetches the abbreviated packument of a package.
func (r *Registry) Packument(ctx context.Context, name string) (*Packument, error) {
	u := r.PackumentURL(name)
	resp, err := r.client.Get(ctx, u, r.header(u, abbreviatedAccept))
	var se *fetch.StatusError
	if errors.As(err, &se) && se.Status == http.StatusNotFound {
		return nil, fmt.Errorf("%w at %s", ErrPackageNotFound, r.base)
	}
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	p := new(Packument)
	if err := json.NewDecoder(resp.Body).Decode(p); err != nil {
		return nil, fmt.Errorf("%s: invalid packument from %s: %w", name, u, err)
	}
	if p.Versions == nil {
		return nil, fmt.Errorf("%s: packument from %s lists no versions", name, u)
	}
	return p, nil
}

// OpenTarball starts downloading a tarball. The caller closes the body.
func (r *Registry) OpenTarball(ctx context.Context, tarballURL string) (io.ReadCloser, int64, error) {
	resp, err := r.client.Get(ctx, tarballURL, r.header(tarballURL, ""))
	if err != nil {
		return nil, 0, err
	}
	return resp.Body, resp.ContentLength, nil
}

// TarballSize requests a tarball's size from the registry with a HEAD
// request. It returns -1 when the response has no Content-Length.
func (r *Registry) TarballSize(ctx context.Context, tarballURL string) (int64, error) {
	resp, err := r.client.Do(ctx, http.MethodHead, tarballURL, r.header(tarballURL, ""), nil)
	if err != nil {
		return -1, err
	}
	resp.Body.Close()
	return resp.ContentLength, nil
}
