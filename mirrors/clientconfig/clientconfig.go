// Package clientconfig writes the configuration files that point package
// and image clients inside the network at the internal mirrors. It writes
// .npmrc (npm and pnpm), .yarnrc.yml (yarn 2 and later), .yarnrc (yarn 1),
// containerd hosts.toml files, and a registries.conf for CRI-O, Podman and
// Buildah. Each file sends every request to the mirrors and none to the
// upstream registries. The package only renders text: it contacts no
// mirror and reads no secret, and tokens appear as environment variable
// references that the clients expand.
package clientconfig

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// Endpoints are the internal mirrors clients are pointed at.
type Endpoints struct {
	// NPM is the base URL of the internal npm registry.
	NPM string
	// Scopes send npm scopes to other internal registries.
	Scopes []Scope
	// TokenEnv names the environment variable holding the npm token, such
	// as NPM_TOKEN. Empty means the registries allow anonymous reads.
	TokenEnv string
	// OCI is the internal image registry, host[:port] for HTTPS or
	// http://host[:port] for a registry without TLS.
	OCI string
	// Upstreams are the registries whose images the OCI registry keeps.
	Upstreams []Upstream
	// CAFile is the path, on the client machines, of the CA certificate
	// that signed the mirrors' TLS certificates.
	CAFile string
}

// Scope sends one npm scope to its own registry.
type Scope struct {
	// Name is the scope with its @, such as @acme.
	Name string
	URL  string
}

// Upstream is a registry whose images the OCI registry keeps in a project,
// so that docker.io/library/nginx is at <OCI>/<Project>/library/nginx.
type Upstream struct {
	Host string
	// Project is the registry project; empty means Host with ":" as "-".
	Project string
}

// File is one generated file, Path relative to the output folder.
type File struct {
	Path string
	Data []byte
}

var (
	scopeName   = regexp.MustCompile(`^@[a-z0-9][a-z0-9._~-]*$`)
	projectName = regexp.MustCompile(`^[a-z0-9]+(?:[._-][a-z0-9]+)*$`)
	hostPort    = regexp.MustCompile(`^[a-zA-Z0-9]([a-zA-Z0-9.-]*[a-zA-Z0-9])?(:[0-9]{1,5})?$`)
	envName     = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
)

// registryURL checks an npm registry URL and returns it with a final
// slash, which npm needs to match auth lines to it.
func registryURL(flag, raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("invalid %s %q: give an http or https URL such as https://npm.internal/", flag, raw)
	}
	if u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return nil, fmt.Errorf("invalid %s %q: remove the query, fragment or user part", flag, raw)
	}
	if !strings.HasSuffix(u.Path, "/") {
		u.Path += "/"
	}
	return u, nil
}

// ociRegistry is the parsed OCI registry endpoint.
type ociRegistry struct {
	host  string
	plain bool
}

func (r ociRegistry) scheme() string {
	if r.plain {
		return "http"
	}
	return "https"
}

func parseOCI(raw string) (ociRegistry, error) {
	r := ociRegistry{host: raw}
	if rest, ok := strings.CutPrefix(raw, "http://"); ok {
		r = ociRegistry{host: rest, plain: true}
	} else if rest, ok := strings.CutPrefix(raw, "https://"); ok {
		r.host = rest
	}
	r.host = strings.TrimSuffix(r.host, "/")
	if !hostPort.MatchString(r.host) {
		return ociRegistry{}, fmt.Errorf("invalid OCI mirror %q: give host[:port], or http://host[:port] for a registry without TLS", raw)
	}
	return r, nil
}

// project returns the registry project of an upstream.
func (u Upstream) project() string {
	if u.Project != "" {
		return u.Project
	}
	return strings.ReplaceAll(strings.ToLower(u.Host), ":", "-")
}

// Validate checks the endpoints and returns every problem found.
func (e *Endpoints) Validate() error {
	var errs []error
	if e.NPM == "" && e.OCI == "" {
		errs = append(errs, errors.New("no mirror given: set the npm mirror, the OCI mirror or both"))
	}
	if e.NPM != "" {
		if _, err := registryURL("npm mirror", e.NPM); err != nil {
			errs = append(errs, err)
		}
	}
	seen := map[string]bool{}
	for _, s := range e.Scopes {
		if e.NPM == "" {
			errs = append(errs, fmt.Errorf("scope %s needs the npm mirror set too", s.Name))
		}
		if !scopeName.MatchString(s.Name) {
			errs = append(errs, fmt.Errorf("invalid scope %q: write it as @name in lowercase", s.Name))
		}
		if seen[s.Name] {
			errs = append(errs, fmt.Errorf("scope %s given twice", s.Name))
		}
		seen[s.Name] = true
		if _, err := registryURL("registry of scope "+s.Name, s.URL); err != nil {
			errs = append(errs, err)
		}
	}
	if e.TokenEnv != "" && !envName.MatchString(e.TokenEnv) {
		errs = append(errs, fmt.Errorf("invalid token variable %q: use letters, digits and _", e.TokenEnv))
	}
	if e.OCI != "" {
		if _, err := parseOCI(e.OCI); err != nil {
			errs = append(errs, err)
		}
	}
	if len(e.Upstreams) > 0 && e.OCI == "" {
		errs = append(errs, errors.New("upstream registries need the OCI mirror set too"))
	}
	for _, u := range e.Upstreams {
		if !hostPort.MatchString(u.Host) {
			errs = append(errs, fmt.Errorf("invalid upstream registry %q: give host[:port], such as docker.io", u.Host))
		}
		if !projectName.MatchString(u.project()) {
			errs = append(errs, fmt.Errorf("invalid project %q for upstream %s: use lowercase letters, digits and . _ -",
				u.project(), u.Host))
		}
	}
	if e.CAFile != "" && !filepath.IsAbs(e.CAFile) {
		errs = append(errs, fmt.Errorf("CA file %q must be an absolute path, as the clients read it from anywhere", e.CAFile))
	}
	return errors.Join(errs...)
}

// Generate renders every file the endpoints call for: the npm client files
// when an npm mirror is set, and the image client files when an OCI mirror
// and upstream registries are set.
func Generate(e Endpoints) ([]File, error) {
	if err := e.Validate(); err != nil {
		return nil, err
	}
	var files []File
	if e.NPM != "" {
		files = append(files,
			File{".npmrc", npmrc(e)},
			File{".yarnrc.yml", yarnBerry(e)},
			File{".yarnrc", yarnClassic(e)})
	}
	if e.OCI != "" && len(e.Upstreams) > 0 {
		files = append(files, containerdHosts(e)...)
		files = append(files, File{"registries.conf", registriesConf(e)})
	}
	return files, nil
}

// Write writes files under dir, creating folders as needed.
func Write(dir string, files []File) error {
	for _, f := range files {
		path := filepath.Join(dir, filepath.FromSlash(f.Path))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return fmt.Errorf("write %s: %w", path, err)
		}
		if err := os.WriteFile(path, f.Data, 0o644); err != nil {
			return fmt.Errorf("write %s: %w", path, err)
		}
	}
	return nil
}

// header is the comment every file starts with.
func header(comment string) string {
	return comment + " Generated by sluice clients generate: points this client at the internal mirrors.\n" +
		comment + " Regenerate it instead of editing it.\n"
}
