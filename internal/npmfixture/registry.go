// Package npmfixture is a stand-in for the public npm registry in tests. It
// runs an HTTP server on loopback that serves packuments and tarballs
// recorded from registry.npmjs.org. Tests can inject faults (errors that
// recover, corrupted tarballs, a required token), read request counters
// and add packages in memory. It never fetches from the network, because
// the data was recorded once by ./record and is embedded from
// testdata/registry.
//
// It also ships small real apps (package.json, package-lock.json and
// yarn.lock) whose dependencies the recorded data resolves completely, and
// a second recording: a Backstage community plugin's closure on top of the
// Backstage app in testdata/apps/backstage.
package npmfixture

import (
	"embed"
	"io/fs"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
)

//go:embed testdata/registry testdata/apps testdata/backstage
var testdata embed.FS

// Recorded returns the recorded registry data, in the layout NewHandler
// serves.
func Recorded() fs.FS {
	sub, err := fs.Sub(testdata, "testdata/registry")
	if err != nil {
		panic("npmfixture: embedded registry data missing: " + err.Error())
	}
	return sub
}

// RecordedBackstagePluginAdds lists, as name@version in sorted order, the
// versions that the recorded plugin adds to the recorded Backstage app.
var RecordedBackstagePluginAdds = []string{
	"@backstage-community/plugin-jenkins-common@0.22.0",
	"@backstage/catalog-model@1.10.3",
	"@backstage/plugin-catalog-common@1.2.2",
	"@backstage/plugin-permission-common@0.9.13",
	"@backstage/plugin-search-common@1.2.27",
	"cross-fetch@4.1.0",
	"node-fetch@2.7.0",
	"tr46@0.0.3",
	"webidl-conversions@3.0.1",
	"whatwg-url@5.0.0",
	"zod-to-json-schema@3.25.2",
	"zod@4.6.7",
}

// RecordedBackstage returns the recorded closure of
// @backstage-community/plugin-jenkins-common 0.22.0 and of the app in
// testdata/apps/backstage. Only the versions that the plugin adds to that
// app have tarballs.
func RecordedBackstage() fs.FS {
	sub, err := fs.Sub(testdata, "testdata/backstage/registry")
	if err != nil {
		panic("npmfixture: embedded Backstage registry data missing: " + err.Error())
	}
	return sub
}

// Registry is a registry server on 127.0.0.1 that a test owns. It stops
// when the test ends.
type Registry struct {
	// URL is the base URL, such as http://127.0.0.1:41234, without a
	// trailing slash.
	URL string

	t       testing.TB
	handler *Handler
}

// New starts a Registry serving the recorded data.
func New(t testing.TB, opts ...Option) *Registry {
	t.Helper()
	return NewFrom(t, Recorded(), opts...)
}

// NewFrom starts a Registry serving the registry layout in files.
func NewFrom(t testing.TB, files fs.FS, opts ...Option) *Registry {
	t.Helper()
	handler := NewHandler(files, opts...)
	server := httptest.NewServer(handler)
	t.Cleanup(server.Close)
	return &Registry{URL: server.URL, t: t, handler: handler}
}

// Handler returns the handler behind the server.
func (r *Registry) Handler() *Handler { return r.handler }

// FailNext makes the next n requests for the decoded urlPath get status.
// See Handler.FailNext.
func (r *Registry) FailNext(urlPath string, n, status int) {
	r.handler.FailNext(urlPath, n, status)
}

// Corrupt serves the tarball of name@version with one byte flipped. It
// fails the test when the version does not exist.
func (r *Registry) Corrupt(name, version string) {
	r.t.Helper()
	if err := r.handler.Corrupt(name, version); err != nil {
		r.t.Fatalf("npmfixture: corrupt %s@%s: %v", name, version, err)
	}
}

// TarballURLPath returns the decoded URL path of the tarball of
// name@version. It fails the test when the version does not exist.
func (r *Registry) TarballURLPath(name, version string) string {
	r.t.Helper()
	urlPath, err := r.handler.TarballURLPath(name, version)
	if err != nil {
		r.t.Fatalf("npmfixture: tarball of %s@%s: %v", name, version, err)
	}
	return urlPath
}

// Requests returns how many requests arrived for paths starting with
// pathPrefix.
func (r *Registry) Requests(pathPrefix string) int { return r.handler.Requests(pathPrefix) }

// TarballRequests returns how many tarball requests arrived.
func (r *Registry) TarballRequests() int { return r.handler.TarballRequests() }

// ResetRequests sets every request counter to zero.
func (r *Registry) ResetRequests() { r.handler.ResetRequests() }

// AddVersion makes a version appear upstream. It fails the test on error.
func (r *Registry) AddVersion(pkg Package) {
	r.t.Helper()
	if err := r.handler.AddVersion(pkg); err != nil {
		r.t.Fatalf("npmfixture: %v", err)
	}
}

// SetPackument replaces or adds a packument. It fails the test on error.
func (r *Registry) SetPackument(name string, packument []byte) {
	r.t.Helper()
	if err := r.handler.SetPackument(name, packument); err != nil {
		r.t.Fatalf("npmfixture: set packument of %s: %v", name, err)
	}
}

// CopyApp writes the recorded app called name (for example "small") into a
// new temporary folder and returns the app's path, so that a test can
// change its lockfiles and run clients in it.
func CopyApp(t testing.TB, name string) string {
	t.Helper()
	app, err := fs.Sub(testdata, "testdata/apps/"+name)
	if err == nil {
		_, err = fs.Stat(app, "package.json")
	}
	if err != nil {
		t.Fatalf("npmfixture: no recorded app %q: %v", name, err)
	}
	dir := filepath.Join(t.TempDir(), name)
	if err := os.CopyFS(dir, app); err != nil {
		t.Fatalf("npmfixture: copy app %q: %v", name, err)
	}
	return dir
}
