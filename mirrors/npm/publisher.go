// Package npm publishes npm packages to an internal registry that speaks
// the npm publish protocol: Verdaccio, and Nexus Repository's hosted npm
// repositories, which accept the same requests. The tarball published is
// the upstream's original, byte for byte, so its sha512 integrity and sha1
// shasum on the mirror equal upstream's and lockfiles keep their integrity
// fields. Only Verdaccio is exercised by the tests.
package npm

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path"
	"strings"
	"sync"

	"github.com/sluice-dev/sluice/ingest/fetch"
	"github.com/sluice-dev/sluice/ingest/state"
)

// ErrConflict is returned when the mirror already holds a version of a
// package with other bytes than the artifact Sluice would publish.
var ErrConflict = errors.New("mirror contains different bytes for this version")

// Auth holds the publisher's credentials: a token, or a user and password
// that it exchanges for a token at the registry's login endpoint (npm's
// "adduser" protocol).
type Auth struct {
	Token    string
	Username string
	Password string
}

// Publisher publishes to one npm registry.
type Publisher struct {
	base   *url.URL
	auth   Auth
	client *fetch.Client

	loginOnce sync.Once
	loginErr  error
	token     string

	locks sync.Map // package name -> *sync.Mutex

	// DistFields, when set, returns fields to add to a version's dist
	// object on publish, such as Sluice's signature bundle. Verdaccio
	// keeps dist as sent in both the full and the abbreviated packument.
	DistFields func(a *state.Artifact) (map[string]any, error)

	// sentTags records the dist-tags this publisher's own publish requests
	// set, so SetTags sends only what they did not.
	sentMu   sync.Mutex
	sentTags map[string]map[string]string
}

// New returns a publisher for the registry at base.
func New(base string, auth Auth, client *fetch.Client) (*Publisher, error) {
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("invalid npm mirror URL %q: use the registry's http or https URL", base)
	}
	if !strings.HasSuffix(u.Path, "/") {
		u.Path += "/"
	}
	if auth.Token == "" && (auth.Username == "") != (auth.Password == "") {
		return nil, errors.New("npm mirror credentials: give both a user name and a password, or a token")
	}
	return &Publisher{base: u, auth: auth, client: client, token: auth.Token,
		sentTags: map[string]map[string]string{}}, nil
}

// Name identifies the mirror.
func (p *Publisher) Name() string { return "npm " + p.base.String() }

// URL returns the mirror's base URL, ending in a slash.
func (p *Publisher) URL() string { return p.base.String() }

// TarballURL returns the URL the mirror serves a version's tarball at,
// following the npm registry layout "<name>/-/<unscoped name>-<version>.tgz".
func (p *Publisher) TarballURL(name, version string) string {
	return p.base.String() + name + "/-/" + path.Base(name) + "-" + version + ".tgz"
}

func escapeName(name string) string { return strings.Replace(name, "/", "%2f", 1) }

func (p *Publisher) lock(name string) func() {
	m, _ := p.locks.LoadOrStore(name, new(sync.Mutex))
	mu := m.(*sync.Mutex)
	mu.Lock()
	return mu.Unlock
}

func (p *Publisher) header(ctx context.Context) (http.Header, error) {
	h := http.Header{"Accept": {"application/json"}}
	if p.auth.Username != "" && p.token == "" {
		p.loginOnce.Do(func() { p.loginErr = p.login(ctx) })
		if p.loginErr != nil {
			return nil, p.loginErr
		}
	}
	if p.token != "" {
		h.Set("Authorization", "Bearer "+p.token)
	}
	return h, nil
}

// login exchanges the user name and password for a token, the way npm's
// legacy login does: a PUT of the user document, with the credentials also
// in a Basic Authorization header, which Verdaccio and Nexus need for an
// existing user.
func (p *Publisher) login(ctx context.Context) error {
	body, _ := json.Marshal(map[string]any{"_id": "org.couchdb.user:" + p.auth.Username,
		"name": p.auth.Username, "password": p.auth.Password, "type": "user", "roles": []string{}})
	u := p.base.String() + "-/user/org.couchdb.user:" + url.PathEscape(p.auth.Username)
	basic := base64.StdEncoding.EncodeToString([]byte(p.auth.Username + ":" + p.auth.Password))
	h := http.Header{"Content-Type": {"application/json"}, "Authorization": {"Basic " + basic}}
	resp, err := p.client.Do(ctx, http.MethodPut, u, h, body)
	if err != nil {
		return fmt.Errorf("log in to %s as %s: %w", p.base, p.auth.Username, err)
	}
	defer resp.Body.Close()
	var out struct {
		Token string `json:"token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || out.Token == "" {
		return fmt.Errorf("log in to %s as %s: the registry returned no token", p.base, p.auth.Username)
	}
	p.token = out.Token
	return nil
}

// Check requests the user the credentials belong to (npm's whoami
// endpoint), so that a wrong URL or token fails once, before any publish.
// A registry without that endpoint (404) passes.
func (p *Publisher) Check(ctx context.Context) error {
	h, err := p.header(ctx)
	if err != nil {
		return err
	}
	resp, err := p.client.Get(ctx, p.base.String()+"-/whoami", h)
	var se *fetch.StatusError
	switch {
	case errors.As(err, &se) && (se.Status == http.StatusUnauthorized || se.Status == http.StatusForbidden):
		return fmt.Errorf("the mirror %s rejected the credentials (status %d): set SLUICE_NPM_MIRROR_TOKEN, "+
			"or SLUICE_NPM_MIRROR_USER and SLUICE_NPM_MIRROR_PASSWORD, to a publishing account", p.base, se.Status)
	case errors.As(err, &se) && se.Status == http.StatusNotFound:
		return nil
	case err != nil:
		return fmt.Errorf("the mirror %s is not reachable: %w; check --npm-mirror", p.base, err)
	}
	defer resp.Body.Close()
	var user struct {
		Username string `json:"username"`
	}
	if json.NewDecoder(resp.Body).Decode(&user) == nil && user.Username == "" {
		return fmt.Errorf("the mirror %s does not recognise the credentials as any user: set "+
			"SLUICE_NPM_MIRROR_TOKEN, or SLUICE_NPM_MIRROR_USER and SLUICE_NPM_MIRROR_PASSWORD, "+
			"to a publishing account", p.base)
	}
	return nil
}

// packument is the part of the mirror's package document the publisher reads.
type packument struct {
	DistTags map[string]string `json:"dist-tags"`
	Versions map[string]struct {
		Dist struct {
			Integrity string `json:"integrity"`
			Shasum    string `json:"shasum"`
		} `json:"dist"`
	} `json:"versions"`
}

// fetchPackument returns the mirror's document for a package, or nil when
// the mirror does not have the package.
func (p *Publisher) fetchPackument(ctx context.Context, name string) (*packument, error) {
	h, err := p.header(ctx)
	if err != nil {
		return nil, err
	}
	resp, err := p.client.Get(ctx, p.base.String()+escapeName(name), h)
	var se *fetch.StatusError
	if errors.As(err, &se) && se.Status == http.StatusNotFound {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	doc := new(packument)
	if err := json.NewDecoder(resp.Body).Decode(doc); err != nil {
		return nil, fmt.Errorf("invalid package document for %s from %s: %w", name, p.base, err)
	}
	return doc, nil
}

// present reports whether the mirror holds the artifact's version, and
// fails with ErrConflict when it holds other bytes under that version.
func (p *Publisher) present(ctx context.Context, a *state.Artifact) (bool, error) {
	doc, err := p.fetchPackument(ctx, a.Name)
	if err != nil || doc == nil {
		return false, err
	}
	v, ok := doc.Versions[a.Version]
	if !ok {
		return false, nil
	}
	if v.Dist.Integrity != a.Integrity && v.Dist.Shasum != a.Shasum {
		return true, fmt.Errorf("%w: %s@%s has integrity %s there, upstream's is %s; "+
			"remove the version from the mirror or investigate how it got there",
			ErrConflict, a.Name, a.Version, v.Dist.Integrity, a.Integrity)
	}
	return true, nil
}

// Publish uploads the artifact's tarball with the package.json it
// contains. It does not ask first whether the mirror has the version,
// because the registry responds to a publish of an existing version with
// 409 Conflict. Only then does Publish read the mirror's document to
// compare integrity.
func (p *Publisher) Publish(ctx context.Context, a *state.Artifact, tarball func() (*os.File, error)) (bool, error) {
	unlock := p.lock(a.Name)
	defer unlock()
	f, err := tarball()
	if err != nil {
		return false, err
	}
	defer f.Close()
	data, err := io.ReadAll(f)
	if err != nil {
		return false, fmt.Errorf("read stored tarball: %w", err)
	}
	body, err := p.publishBody(a, data)
	if err != nil {
		return false, err
	}

	h, err := p.header(ctx)
	if err != nil {
		return false, err
	}
	h.Set("Content-Type", "application/json")
	resp, err := p.client.Do(ctx, http.MethodPut, p.base.String()+escapeName(a.Name), h, body)
	var se *fetch.StatusError
	if errors.As(err, &se) && se.Status == http.StatusConflict {
		present, err := p.present(ctx, a)
		if err == nil && !present {
			err = fmt.Errorf("the mirror responded 409 Conflict but does not list %s: %w", a.Key(), se)
		}
		return present, err
	}
	if err != nil {
		return false, err
	}
	resp.Body.Close()

	p.sentMu.Lock()
	defer p.sentMu.Unlock()
	for _, t := range a.Tags {
		if p.sentTags[a.Name] == nil {
			p.sentTags[a.Name] = map[string]string{}
		}
		p.sentTags[a.Name][t] = a.Version
	}
	return false, nil
}

// publishBody builds the document npm clients send on publish: the
// version's package.json with its dist fields, and the tarball attached.
func (p *Publisher) publishBody(a *state.Artifact, tgz []byte) ([]byte, error) {
	manifest, err := readPackageJSON(bytes.NewReader(tgz))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", a.Key(), err)
	}
	if manifest["name"] != a.Name || manifest["version"] != a.Version {
		return nil, fmt.Errorf("%s: the tarball's package.json names %v@%v", a.Key(), manifest["name"], manifest["version"])
	}
	manifest["_id"] = a.Name + "@" + a.Version
	dist := map[string]any{"tarball": p.TarballURL(a.Name, a.Version),
		"integrity": a.Integrity, "shasum": a.Shasum}
	if p.DistFields != nil {
		extra, err := p.DistFields(a)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", a.Key(), err)
		}
		// Extra fields never replace the tarball location or digests.
		for k, v := range extra {
			if _, exists := dist[k]; !exists {
				dist[k] = v
			}
		}
	}
	manifest["dist"] = dist
	tags := map[string]string{}
	for _, t := range a.Tags {
		tags[t] = a.Version
	}
	attachment := path.Base(a.Name) + "-" + a.Version + ".tgz"
	return json.Marshal(map[string]any{
		"_id":         a.Name,
		"name":        a.Name,
		"description": manifest["description"],
		"dist-tags":   tags,
		"versions":    map[string]any{a.Version: manifest},
		"_attachments": map[string]any{attachment: map[string]any{
			"content_type": "application/octet-stream",
			"data":         base64.StdEncoding.EncodeToString(tgz),
			"length":       len(tgz),
		}},
	})
}

// SetTags points each given dist-tag at its version. A tag that this
// publisher's own publish request already set to that version costs no
// request. For the others it reads the mirror's tags and changes those
// that differ.
func (p *Publisher) SetTags(ctx context.Context, name string, tags map[string]string) error {
	p.sentMu.Lock()
	todo := map[string]string{}
	for tag, version := range tags {
		if p.sentTags[name][tag] != version {
			todo[tag] = version
		}
	}
	p.sentMu.Unlock()
	if len(todo) == 0 {
		return nil
	}
	doc, err := p.fetchPackument(ctx, name)
	if err != nil {
		return err
	}
	if doc == nil {
		return fmt.Errorf("the mirror has no package %s", name)
	}
	h, err := p.header(ctx)
	if err != nil {
		return err
	}
	h.Set("Content-Type", "application/json")
	for tag, version := range todo {
		if doc.DistTags[tag] == version {
			continue
		}
		body, _ := json.Marshal(version)
		u := p.base.String() + "-/package/" + escapeName(name) + "/dist-tags/" + url.PathEscape(tag)
		resp, err := p.client.Do(ctx, http.MethodPut, u, h, body)
		if err != nil {
			return fmt.Errorf("set dist-tag %s=%s: %w", tag, version, err)
		}
		resp.Body.Close()
	}
	return nil
}
