package techdocs

import (
	"flag"
	"html"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// copyTree copies the folder src to a new temporary folder.
func copyTree(t *testing.T, src string) string {
	t.Helper()
	dst := t.TempDir()
	err := filepath.WalkDir(src, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if e.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

func localize(t *testing.T, site, mirror, baseURL string) *Report {
	t.Helper()
	m, err := OpenMirror(mirror)
	if err != nil {
		t.Fatal(err)
	}
	r, err := Localize(site, Options{Mirror: m, BaseURL: baseURL})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// assetReference finds the values of src, href and srcset attributes,
// CSS url() and @import, independently of the localizer's own parsing.
var assetReference = regexp.MustCompile(`(?i)(?:\b(?:src|href|srcset)\s*=\s*["']?([^"'>]+)|url\(\s*['"]?([^'")\s]+)|@import\s+["']([^"']+))`)

// pageLinks are external URLs that name pages, not resources to load.
var pageLinks = []string{"https://github.com/acme/payments", "https://docs.example.com/payments/"}

// externalReferences lists every external URL an HTML or CSS file of the
// site still refers to, other than links to pages.
func externalReferences(t *testing.T, site string, allowedPrefix string) []string {
	t.Helper()
	var found []string
	err := filepath.WalkDir(site, func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() || !(strings.HasSuffix(p, ".html") || strings.HasSuffix(p, ".css")) {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		// Attribute values may spell quotes as entities, such as &#39;.
		text := html.UnescapeString(string(data))
		for _, m := range assetReference.FindAllStringSubmatch(text, -1) {
			for _, list := range m[1:] {
				for _, candidate := range strings.Split(list, ",") {
					fields := strings.Fields(candidate)
					if len(fields) == 0 {
						continue
					}
					ref := fields[0]
					isExternal := strings.HasPrefix(ref, "//") || strings.HasPrefix(ref, "http://") ||
						strings.HasPrefix(ref, "https://")
					allowed := (allowedPrefix != "" && strings.HasPrefix(ref, allowedPrefix)) ||
						containsString(pageLinks, ref)
					if isExternal && !allowed {
						rel, _ := filepath.Rel(site, p)
						found = append(found, rel+": "+ref)
					}
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return found
}

func containsString(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// cdnHosts are the hosts the fixture site loads files from.
var cdnHosts = []string{"fonts.googleapis.com", "fonts.gstatic.com", "unpkg.com", "cdn.jsdelivr.net", "img.shields.io"}

func TestLocalizeCopiesIntoSite(t *testing.T) {
	site := copyTree(t, filepath.Join("testdata", "site"))
	r := localize(t, site, filepath.Join("testdata", "mirror"), "")
	if len(r.Unresolved) > 0 {
		t.Errorf("unresolved references: %+v", r.Unresolved)
	}
	if left := externalReferences(t, site, ""); len(left) > 0 {
		t.Errorf("external references remain:\n%s", strings.Join(left, "\n"))
	}
	for _, p := range []string{"index.html", "operations/index.html", "assets/stylesheets/main.css"} {
		data, _ := os.ReadFile(filepath.Join(site, p))
		for _, host := range cdnHosts {
			if strings.Contains(string(data), "//"+host) {
				t.Errorf("%s still names %s", p, host)
			}
		}
	}
	if len(r.Removed) != 1 || r.Removed[0].URL != "https://fonts.gstatic.com" {
		t.Errorf("removed resource hints = %+v, want the preconnect to fonts.gstatic.com", r.Removed)
	}
	checkTreeGolden(t, site, "copy")
}

func TestLocalizeBaseURL(t *testing.T) {
	site := copyTree(t, filepath.Join("testdata", "site"))
	const base = "https://files.internal/cdn/"
	r := localize(t, site, filepath.Join("testdata", "mirror"), base)
	if left := externalReferences(t, site, base); len(left) > 0 {
		t.Errorf("external references remain:\n%s", strings.Join(left, "\n"))
	}
	if _, err := os.Stat(filepath.Join(site, AssetsDir)); err == nil {
		t.Errorf("files were copied into the site although a base URL was given")
	}
	// The mirrored Google Fonts stylesheets name fonts.gstatic.com, and
	// they are served unchanged, so those fonts are reported.
	want := map[string]bool{
		"https://fonts.gstatic.com/s/roboto/v30/KFOmCnqEu92Fr1Mu4mxK.woff2":                             true,
		"https://fonts.gstatic.com/s/robotomono/v23/L0xuDF4xlVMF-BfR8bXMIhJHg45mwgGEFl0_3vq_ROW4.woff2": true,
		"https://fonts.gstatic.com/s/materialsymbolsoutlined/v156/symbols.woff2":                        true,
	}
	for _, p := range r.Unresolved {
		if !want[p.URL] || !strings.HasPrefix(p.File, "mirror:fonts.googleapis.com/") {
			t.Errorf("unexpected problem %+v", p)
		}
		delete(want, p.URL)
	}
	for u := range want {
		t.Errorf("%s is not reported", u)
	}
	checkTreeGolden(t, site, "base-url")
}

func TestLocalizeReportsMissingFiles(t *testing.T) {
	site := copyTree(t, filepath.Join("testdata", "site"))
	mirror := copyTree(t, filepath.Join("testdata", "mirror"))
	missing := []string{"unpkg.com/mermaid@10.9.1/dist/mermaid.min.js",
		"fonts.gstatic.com/s/roboto/v30/KFOmCnqEu92Fr1Mu4mxK.woff2"}
	for _, f := range missing {
		if err := os.Remove(filepath.Join(mirror, filepath.FromSlash(f))); err != nil {
			t.Fatal(err)
		}
	}
	r := localize(t, site, mirror, "")
	got := map[string][]string{}
	for _, p := range r.Unresolved {
		got[p.URL] = append(got[p.URL], p.File)
	}
	wantFiles := map[string][]string{
		"https://unpkg.com/mermaid@10.9.1/dist/mermaid.min.js": {"index.html", "operations/index.html"},
		"https://fonts.gstatic.com/s/roboto/v30/KFOmCnqEu92Fr1Mu4mxK.woff2": {
			AssetsDir + "/fonts.googleapis.com/roboto.css"},
	}
	for u, files := range wantFiles {
		if strings.Join(got[u], " ") != strings.Join(files, " ") {
			t.Errorf("%s reported in %v, want %v", u, got[u], files)
		}
	}
	if len(got) != len(wantFiles) {
		t.Errorf("reported %d URLs, want %d: %v", len(got), len(wantFiles), got)
	}
	left := externalReferences(t, site, "")
	if len(left) != 3 {
		t.Errorf("remaining external references = %v, want the two scripts and the font", left)
	}
}

func TestLocalizeTwiceChangesNothing(t *testing.T) {
	for _, base := range []string{"", "https://files.internal/cdn/"} {
		site := copyTree(t, filepath.Join("testdata", "site"))
		localize(t, site, filepath.Join("testdata", "mirror"), base)
		r := localize(t, site, filepath.Join("testdata", "mirror"), base)
		if len(r.Changed) != 0 || len(r.Localized) != 0 {
			t.Errorf("base %q: second run changed %v", base, r.Changed)
		}
	}
}

func TestLookupByPathAndMap(t *testing.T) {
	m, err := OpenMirror(filepath.Join("testdata", "mirror"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		url, file string
		ok        bool
	}{
		{"https://unpkg.com/mermaid@10.9.1/dist/mermaid.min.js", "unpkg.com/mermaid@10.9.1/dist/mermaid.min.js", true},
		{"https://fonts.googleapis.com/css2?family=Material+Symbols+Outlined",
			"fonts.googleapis.com/material-symbols-outlined.css", true},
		{"https://fonts.googleapis.com/css2?family=Inter", "", false},
		{"https://unpkg.com/../../etc/passwd", "", false},
		{"https://unpkg.com/mermaid@10.9.1/dist/", "", false},
	}
	for _, tt := range tests {
		u, _ := url.Parse(tt.url)
		file, ok := m.Lookup(u)
		if ok != tt.ok || (ok && file != tt.file) {
			t.Errorf("Lookup(%s) = %q, %v; want %q, %v", tt.url, file, ok, tt.file, tt.ok)
		}
	}
}

func TestOpenMirrorRejectsEscapingMap(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, MapFile), []byte(`{"https://a.example/x.js": "../x.js"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenMirror(dir); err == nil || !strings.Contains(err.Error(), "outside the mirror folder") {
		t.Errorf("OpenMirror = %v, want an error about a file outside the folder", err)
	}
}

// checkTreeGolden compares every HTML and CSS file of the site with
// testdata/golden/<name>, or rewrites them with -update. Other files are
// copied unchanged.
func checkTreeGolden(t *testing.T, site, name string) {
	t.Helper()
	golden := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.RemoveAll(golden); err != nil {
			t.Fatal(err)
		}
	}
	err := filepath.WalkDir(site, func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() || !(strings.HasSuffix(p, ".html") || strings.HasSuffix(p, ".css")) {
			return err
		}
		rel, _ := filepath.Rel(site, p)
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		path := filepath.Join(golden, rel)
		if *update {
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				return err
			}
			return os.WriteFile(path, data, 0o644)
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Errorf("%v (run go test -update to create it)", err)
			return nil
		}
		if string(want) != string(data) {
			t.Errorf("%s/%s differs from the golden file; got:\n%s", name, rel, data)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
