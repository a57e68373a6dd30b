package manifests

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
)

// KindPluginRequest is the kind of a Backstage plugin ingestion request.
const KindPluginRequest = "PluginRequest"

// PluginRequest is a request for a Backstage plugin to enter the air gap
// on top of an existing Backstage app. It is the JSON body of POST
// /api/v1/plugin-requests and of `sluice plugin request --file`, described
// by schema/plugin-request.v1.schema.json.
type PluginRequest struct {
	// APIVersion must be sluice.dev/v1.
	APIVersion string `json:"apiVersion"`
	// Kind must be PluginRequest.
	Kind   string      `json:"kind"`
	Plugin PluginRef   `json:"plugin"`
	App    AppLockfile `json:"app"`
	// Owner is the team answerable for the plugin inside the air gap.
	Owner string `json:"owner"`
	// DataClass is the data class of the app's system; approval rules
	// match on it.
	DataClass string `json:"dataClass"`
	// Justification is the reason the plugin is needed, for the reviewers.
	Justification string `json:"justification"`
	// Requester is the identity filing the request. An API server sets it
	// from the caller's token. The CLI uses SLUICE_ACTOR when it is empty.
	Requester string `json:"requester,omitempty"`

	// Path is the file the request was read from; empty for a request
	// built from flags. Digest is the sha256 of the bytes as read.
	Path   string `json:"-"`
	Digest string `json:"-"`
}

// PluginRef names the plugin package at one exact version.
type PluginRef struct {
	// Name is the npm package name, such as @backstage-community/plugin-x.
	Name string `json:"name"`
	// Version is an exact version: a request is reviewed for one tarball.
	Version string `json:"version"`
}

// AppLockfile locates the lockfile of the Backstage app the plugin is
// added to.
type AppLockfile struct {
	// Repository is the URL of the app's Git repository, when the lockfile
	// is to be read from there.
	Repository string `json:"repository,omitempty"`
	// Ref is the branch, tag or commit of Repository; empty means the
	// default branch.
	Ref string `json:"ref,omitempty"`
	// LockfilePath is the lockfile's path: inside Repository when that is
	// set, otherwise relative to the request file's folder.
	LockfilePath string `json:"lockfilePath"`
	// Lockfile is the lockfile's content, when the caller sends it inline.
	// It takes precedence over reading LockfilePath.
	Lockfile string `json:"lockfile,omitempty"`
}

// maxPluginRequestSize bounds a request body; an inline lockfile of a
// large app is a few megabytes.
const maxPluginRequestSize = 32 << 20

// LoadPluginRequest reads and validates a plugin request file.
func LoadPluginRequest(path string) (*PluginRequest, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read plugin request: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxPluginRequestSize+1))
	if err != nil {
		return nil, fmt.Errorf("read plugin request %s: %w", path, err)
	}
	return ParsePluginRequest(path, data)
}

// ParsePluginRequest decodes and validates a plugin request body. Unknown
// fields are errors, so a misspelled field is not silently dropped. All
// problems are returned at once, each naming the field.
func ParsePluginRequest(path string, data []byte) (*PluginRequest, error) {
	if len(data) > maxPluginRequestSize {
		return nil, fmt.Errorf("%s: plugin request is larger than %d bytes", path, maxPluginRequestSize)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	r := new(PluginRequest)
	if err := dec.Decode(r); err != nil {
		return nil, fmt.Errorf("%s: invalid plugin request: %w", path, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("%s: invalid plugin request: more than one JSON value", path)
	}
	sum := sha256.Sum256(data)
	r.Path, r.Digest = path, "sha256:"+hex.EncodeToString(sum[:])
	if err := r.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return r, nil
}

// Validate returns every problem of the request, joined, or nil.
func (r *PluginRequest) Validate() error {
	var errs []error
	add := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", field, fmt.Sprintf(format, args...)))
	}
	if r.APIVersion != APIVersionV1 {
		add("apiVersion", "got %q, want %s", r.APIVersion, APIVersionV1)
	}
	if r.Kind != KindPluginRequest {
		add("kind", "got %q, want %s", r.Kind, KindPluginRequest)
	}
	if problem := checkPackageName(r.Plugin.Name); problem != "" {
		add("plugin.name", "invalid npm package name %q: %s", r.Plugin.Name, problem)
	}
	if ClassifyVersion(r.Plugin.Version) != VersionExact {
		add("plugin.version", "%q is not an exact version: a request is reviewed for one "+
			"version, such as 1.2.3", r.Plugin.Version)
	}
	if strings.TrimSpace(r.App.LockfilePath) == "" {
		add("app.lockfilePath", "missing: give the path of the app's package-lock.json or yarn.lock")
	}
	if r.App.Repository != "" {
		if u, err := url.Parse(r.App.Repository); err != nil || u.Scheme == "" || u.Host == "" {
			add("app.repository", "invalid URL %q: use the repository's https URL", r.App.Repository)
		}
	}
	if r.App.Ref != "" && r.App.Repository == "" {
		add("app.ref", "set without app.repository")
	}
	for _, f := range []struct{ field, value string }{{"owner", r.Owner},
		{"dataClass", r.DataClass}, {"justification", r.Justification}} {
		if strings.TrimSpace(f.value) == "" {
			add(f.field, "missing: it is required")
		}
	}
	return errors.Join(errs...)
}

// Manifest returns the manifest metadata under which the plugin's
// packages are recorded: name plugin-<name>-<version> in manifest name
// form, with the request's owner and data class. Its digest is that of the
// request file, or of the request's JSON encoding when it has no file.
func (r *PluginRequest) Manifest() *Manifest {
	name := strings.NewReplacer("@", "", "/", "-", ".", "-", "_", "-", "~", "-").
		Replace("plugin-" + r.Plugin.Name + "-" + r.Plugin.Version)
	name = strings.Trim(strings.ToLower(name), "-")
	if len(name) > 63 {
		name = strings.TrimRight(name[:63], "-")
	}
	m := &Manifest{APIVersion: APIVersionV1, Kind: KindManifest,
		Metadata: Metadata{Name: name, Owner: r.Owner, DataClass: r.DataClass,
			Labels: map[string]string{"plugin": r.Plugin.Name + "@" + r.Plugin.Version}},
		Path: r.Path, Digest: r.Digest}
	if m.Digest == "" {
		data, err := json.Marshal(r)
		if err == nil {
			sum := sha256.Sum256(data)
			m.Digest = "sha256:" + hex.EncodeToString(sum[:])
		}
	}
	return m
}
