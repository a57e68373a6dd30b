package npmfixture_test

import (
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/sluice-dev/sluice/internal/npmfixture"
)

type packument struct {
	Name     string            `json:"name"`
	DistTags map[string]string `json:"dist-tags"`
	Versions map[string]struct {
		Version          string            `json:"version"`
		Dependencies     map[string]string `json:"dependencies"`
		HasInstallScript bool              `json:"hasInstallScript"`
		Dist             struct {
			Tarball   string `json:"tarball"`
			Integrity string `json:"integrity"`
			Shasum    string `json:"shasum"`
		} `json:"dist"`
	} `json:"versions"`
}

// get sends a GET with optional headers given as name, value pairs and
// returns the status, Content-Type and body.
func get(t *testing.T, url string, headers ...string) (int, string, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read body of GET %s: %v", url, err)
	}
	return resp.StatusCode, resp.Header.Get("Content-Type"), body
}

func getPackument(t *testing.T, url string) packument {
	t.Helper()
	status, _, body := get(t, url)
	if status != http.StatusOK {
		t.Fatalf("GET %s: status %d, body %s", url, status, body)
	}
	var doc packument
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatalf("GET %s: invalid packument: %v", url, err)
	}
	return doc
}

func integrity(data []byte) string {
	sum := sha512.Sum512(data)
	return "sha512-" + base64.StdEncoding.EncodeToString(sum[:])
}

func TestPackumentServedWithRewrittenTarballs(t *testing.T) {
	reg := npmfixture.New(t)
	tests := []struct {
		path, name, version string
	}{
		{"/lodash", "lodash", "4.17.21"},
		{"/@types/ms", "@types/ms", "0.7.34"},
		{"/@types%2fms", "@types/ms", "0.7.34"},
		{"/@types%2Fms", "@types/ms", "0.7.34"},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			doc := getPackument(t, reg.URL+tt.path)
			if doc.Name != tt.name {
				t.Errorf("name = %q, want %q", doc.Name, tt.name)
			}
			for version, meta := range doc.Versions {
				if !strings.HasPrefix(meta.Dist.Tarball, reg.URL+"/"+tt.name+"/-/") {
					t.Errorf("version %s: tarball %s is not below %s", version,
						meta.Dist.Tarball, reg.URL)
				}
			}
			meta, ok := doc.Versions[tt.version]
			if !ok {
				t.Fatalf("version %s missing", tt.version)
			}
			status, _, tarball := get(t, meta.Dist.Tarball)
			if status != http.StatusOK {
				t.Fatalf("GET %s: status %d", meta.Dist.Tarball, status)
			}
			if got := integrity(tarball); got != meta.Dist.Integrity {
				t.Errorf("tarball integrity = %s, packument lists %s", got, meta.Dist.Integrity)
			}
		})
	}
}

func TestPackumentContentType(t *testing.T) {
	reg := npmfixture.New(t)
	tests := []struct {
		accept, want string
	}{
		{"application/vnd.npm.install-v1+json; q=1.0, application/json; q=0.8, */*",
			"application/vnd.npm.install-v1+json"},
		{"application/json", "application/json"},
		{"", "application/json"},
	}
	for _, tt := range tests {
		_, contentType, _ := get(t, reg.URL+"/debug", "Accept", tt.accept)
		if contentType != tt.want {
			t.Errorf("Accept %q: Content-Type = %q, want %q", tt.accept, contentType, tt.want)
		}
	}
}

func TestNotFoundUsesNpmErrorShape(t *testing.T) {
	reg := npmfixture.New(t)
	paths := []string{
		"/no-such-package",
		"/@types/no-such-package",
		"/lodash/-/lodash-0.0.1.tgz",
		"/lodash/-/lodash-4.17.19.tgz", // listed as a neighbour, tarball not recorded
		"/lodash/-/../../etc/passwd",
		"/-/whoami",
		"/@types",
	}
	for _, urlPath := range paths {
		status, contentType, body := get(t, reg.URL+urlPath)
		if status != http.StatusNotFound {
			t.Errorf("GET %s: status %d, want 404", urlPath, status)
		}
		if contentType != "application/json" {
			t.Errorf("GET %s: Content-Type %q, want application/json", urlPath, contentType)
		}
		var shape struct {
			Error string `json:"error"`
		}
		if err := json.Unmarshal(body, &shape); err != nil || shape.Error == "" {
			t.Errorf("GET %s: body %q is not {\"error\": ...}", urlPath, body)
		}
	}
}

func TestTokenRequired(t *testing.T) {
	reg := npmfixture.New(t, npmfixture.WithToken("s3cret"))
	tests := []struct {
		name          string
		authorization string
		want          int
	}{
		{"no header", "", http.StatusUnauthorized},
		{"wrong token", "Bearer wrong", http.StatusUnauthorized},
		{"basic scheme", "Basic czNjcmV0", http.StatusUnauthorized},
		{"right token", "Bearer s3cret", http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, _, _ := get(t, reg.URL+"/ms", "Authorization", tt.authorization)
			if status != tt.want {
				t.Errorf("packument: status %d, want %d", status, tt.want)
			}
			status, _, _ = get(t, reg.URL+"/ms/-/ms-2.1.2.tgz", "Authorization", tt.authorization)
			if status != tt.want {
				t.Errorf("tarball: status %d, want %d", status, tt.want)
			}
		})
	}
}

func TestFailNextRecovers(t *testing.T) {
	reg := npmfixture.New(t)
	tarballPath := reg.TarballURLPath("@types/ms", "0.7.34")
	reg.FailNext(tarballPath, 2, http.StatusInternalServerError)
	reg.FailNext("/chalk", 1, http.StatusServiceUnavailable)

	want := []int{http.StatusInternalServerError, http.StatusInternalServerError, http.StatusOK}
	for i, wantStatus := range want {
		// The escaped spelling of the scoped name must count as the same path.
		status, _, _ := get(t, reg.URL+strings.Replace(tarballPath, "/ms/", "%2fms/", 1))
		if status != wantStatus {
			t.Errorf("tarball request %d: status %d, want %d", i+1, status, wantStatus)
		}
	}
	if status, _, _ := get(t, reg.URL+"/chalk"); status != http.StatusServiceUnavailable {
		t.Errorf("first /chalk: status %d, want 503", status)
	}
	if status, _, _ := get(t, reg.URL+"/chalk"); status != http.StatusOK {
		t.Errorf("second /chalk: status %d, want 200", status)
	}
	if got := reg.Requests(tarballPath); got != 3 {
		t.Errorf("Requests(%s) = %d, want 3", tarballPath, got)
	}
}

func TestCorruptTarball(t *testing.T) {
	reg := npmfixture.New(t)
	doc := getPackument(t, reg.URL+"/minimist")
	meta := doc.Versions["1.2.6"]
	_, _, before := get(t, meta.Dist.Tarball)

	reg.Corrupt("minimist", "1.2.6")
	_, _, after := get(t, meta.Dist.Tarball)
	if len(after) != len(before) {
		t.Errorf("corrupted length = %d, want %d", len(after), len(before))
	}
	if integrity(before) != meta.Dist.Integrity {
		t.Errorf("tarball before Corrupt does not match the packument integrity")
	}
	if integrity(after) == meta.Dist.Integrity {
		t.Errorf("tarball after Corrupt still matches the packument integrity")
	}
	_, _, other := get(t, doc.Versions["1.2.5"].Dist.Tarball)
	if integrity(other) != doc.Versions["1.2.5"].Dist.Integrity {
		t.Errorf("Corrupt of 1.2.6 changed the tarball of 1.2.5")
	}
	if err := reg.Handler().Corrupt("minimist", "9.9.9"); err == nil {
		t.Errorf("Corrupt of a missing version returned no error")
	}
}

func TestRequestCounters(t *testing.T) {
	reg := npmfixture.New(t)
	doc := getPackument(t, reg.URL+"/chalk")
	getPackument(t, reg.URL+"/debug")
	get(t, doc.Versions["4.1.2"].Dist.Tarball)
	get(t, reg.URL+"/chalk/-/chalk-0.0.0.tgz")

	tests := []struct {
		prefix string
		want   int
	}{
		{"/", 4},
		{"/chalk", 3},
		{"/chalk/-/", 2},
		{"/debug", 1},
		{"/lodash", 0},
	}
	for _, tt := range tests {
		if got := reg.Requests(tt.prefix); got != tt.want {
			t.Errorf("Requests(%q) = %d, want %d", tt.prefix, got, tt.want)
		}
	}
	if got := reg.TarballRequests(); got != 2 {
		t.Errorf("TarballRequests() = %d, want 2", got)
	}
	reg.ResetRequests()
	getPackument(t, reg.URL+"/chalk")
	if got := reg.TarballRequests(); got != 0 {
		t.Errorf("TarballRequests() after reset and a packument read = %d, want 0", got)
	}
	if got := reg.Requests("/"); got != 1 {
		t.Errorf("Requests(\"/\") after reset = %d, want 1", got)
	}
}

func TestAddVersionAppearsUpstream(t *testing.T) {
	reg := npmfixture.New(t)
	before := getPackument(t, reg.URL+"/is-number")

	reg.AddVersion(npmfixture.Package{Manifest: map[string]any{
		"name": "is-number", "version": "7.0.1",
		"dependencies": map[string]string{"ms": "^2.1.2"},
		"scripts":      map[string]string{"postinstall": "node setup.js"},
	}, Files: map[string][]byte{"index.js": []byte("module.exports = 1\n")}})
	reg.AddVersion(npmfixture.Package{
		Manifest: map[string]any{"name": "@sluice-test/new", "version": "1.0.0-rc.1"},
		Tags:     []string{"next"},
	})

	after := getPackument(t, reg.URL+"/is-number")
	if len(after.Versions) != len(before.Versions)+1 {
		t.Errorf("is-number has %d versions, want %d", len(after.Versions), len(before.Versions)+1)
	}
	if after.DistTags["latest"] != "7.0.1" {
		t.Errorf("latest = %q, want 7.0.1", after.DistTags["latest"])
	}
	added := after.Versions["7.0.1"]
	if added.Dependencies["ms"] != "^2.1.2" {
		t.Errorf("dependencies = %v, want ms ^2.1.2", added.Dependencies)
	}
	if !added.HasInstallScript {
		t.Errorf("hasInstallScript not set for a postinstall script")
	}
	status, _, tarball := get(t, added.Dist.Tarball)
	if status != http.StatusOK || integrity(tarball) != added.Dist.Integrity {
		t.Errorf("added tarball: status %d, integrity match %v", status,
			integrity(tarball) == added.Dist.Integrity)
	}
	if _, ok := after.Versions["7.0.0"]; !ok {
		t.Errorf("recorded version 7.0.0 lost after AddVersion")
	}

	scoped := getPackument(t, reg.URL+"/@sluice-test%2fnew")
	if scoped.DistTags["next"] != "1.0.0-rc.1" {
		t.Errorf("new scoped package dist-tags = %v, want next: 1.0.0-rc.1", scoped.DistTags)
	}
	if !strings.HasSuffix(scoped.Versions["1.0.0-rc.1"].Dist.Tarball, "/@sluice-test/new/-/new-1.0.0-rc.1.tgz") {
		t.Errorf("scoped tarball URL = %s", scoped.Versions["1.0.0-rc.1"].Dist.Tarball)
	}
}

func TestSetPackument(t *testing.T) {
	reg := npmfixture.New(t)
	reg.SetPackument("left-pad", []byte(`{"name":"left-pad","dist-tags":{"latest":"1.3.0"},`+
		`"versions":{"1.3.0":{"name":"left-pad","version":"1.3.0","dist":`+
		`{"tarball":"https://registry.npmjs.org/left-pad/-/left-pad-1.3.0.tgz"}}}}`))
	doc := getPackument(t, reg.URL+"/left-pad")
	want := reg.URL + "/left-pad/-/left-pad-1.3.0.tgz"
	if got := doc.Versions["1.3.0"].Dist.Tarball; got != want {
		t.Errorf("tarball = %s, want %s", got, want)
	}
	if status, _, _ := get(t, want); status != http.StatusNotFound {
		t.Errorf("tarball never added: status %d, want 404", status)
	}
	if err := reg.Handler().SetPackument("left-pad", []byte("{")); err == nil {
		t.Errorf("SetPackument accepted invalid JSON")
	}
}

func TestBuildTarballIsDeterministic(t *testing.T) {
	manifest := map[string]any{"name": "a", "version": "1.0.0"}
	files := map[string][]byte{"b.js": []byte("b"), "a.js": []byte("a")}
	first, err := npmfixture.BuildTarball(manifest, files)
	if err != nil {
		t.Fatal(err)
	}
	second, err := npmfixture.BuildTarball(manifest, files)
	if err != nil {
		t.Fatal(err)
	}
	if integrity(first) != integrity(second) {
		t.Errorf("two builds of the same input differ")
	}
}
