// Package techdocs makes a built TechDocs site work without the
// internet. Localize rewrites the site's references to external CDN
// files (stylesheets, scripts, fonts, images) to copies Sluice brought
// in, and reports every reference it could not localize. It reads
// mirrored files from a folder and never fetches anything.
package techdocs

import (
	"bytes"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
)

// AssetsDir is the folder of the site that mirrored files are copied to
// when no base URL is given.
const AssetsDir = "_sluice-mirror"

// Options are the targets of the localized references.
type Options struct {
	Mirror *Mirror
	// BaseURL, when set, is the internal URL the mirror folder is served
	// at: references become BaseURL + file and nothing is copied.
	// Otherwise mirrored files are copied into the site under AssetsDir
	// and referenced by relative paths, and mirrored stylesheets are
	// localized the same way.
	BaseURL string
}

// Reference is one external reference that was localized or removed.
type Reference struct {
	// File is the site file, relative to the site with slashes, or the
	// mirror file a stylesheet reference was found in.
	File string
	URL  string
	// To is the new reference; empty when the element was removed.
	To string
}

// Problem is an external reference that was left as it was.
type Problem struct {
	File, URL, Reason string
}

// Report lists what Localize did.
type Report struct {
	Localized []Reference
	// Removed are resource hints (preconnect, dns-prefetch) to external
	// hosts, which have no content to mirror.
	Removed    []Reference
	Unresolved []Problem
	// Changed lists the site files that were rewritten.
	Changed []string
}

// localizer is one run over a site.
type localizer struct {
	site   string
	opts   Options
	report Report
	// copied maps mirror files to their site path, and records whether
	// the copy differs from the mirrored bytes.
	copied map[string]copyResult
}

type copyResult struct {
	sitePath string
	changed  bool
}

// Localize rewrites the HTML and CSS files of the site in the folder
// site.
func Localize(site string, opts Options) (*Report, error) {
	if opts.Mirror == nil {
		return nil, fmt.Errorf("localize %s: no mirror folder given", site)
	}
	if opts.BaseURL != "" {
		u, err := url.Parse(opts.BaseURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("invalid base URL %q: give the http or https URL the mirror folder is served at",
				opts.BaseURL)
		}
		if !strings.HasSuffix(opts.BaseURL, "/") {
			opts.BaseURL += "/"
		}
	}
	l := &localizer{site: site, opts: opts, copied: map[string]copyResult{}}
	var files []string
	err := filepath.WalkDir(site, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if e.IsDir() && e.Name() == AssetsDir && p != site {
			return filepath.SkipDir
		}
		if !e.IsDir() && (isPage(p) || isStylesheet(p)) {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("localize %s: %w", site, err)
	}
	for _, p := range files {
		if err := l.file(p); err != nil {
			return nil, err
		}
	}
	return &l.report, nil
}

func isPage(p string) bool {
	ext := strings.ToLower(filepath.Ext(p))
	return ext == ".html" || ext == ".htm"
}

func isStylesheet(p string) bool { return strings.EqualFold(filepath.Ext(p), ".css") }

// file localizes one HTML or CSS file of the site in place.
func (l *localizer) file(p string) error {
	data, err := os.ReadFile(p)
	if err != nil {
		return fmt.Errorf("localize %s: %w", p, err)
	}
	rel, _ := filepath.Rel(l.site, p)
	rel = filepath.ToSlash(rel)
	var out []byte
	if isPage(p) {
		out = l.page(rel, data)
	} else {
		out = []byte(rewriteCSS(string(data), func(ref string) string { return l.reference(rel, nil, ref) }))
	}
	if bytes.Equal(out, data) {
		return nil
	}
	info, err := os.Stat(p)
	if err != nil {
		return fmt.Errorf("localize %s: %w", p, err)
	}
	if err := os.WriteFile(p, out, info.Mode().Perm()); err != nil {
		return fmt.Errorf("localize %s: %w", p, err)
	}
	l.report.Changed = append(l.report.Changed, rel)
	return nil
}

// external parses ref and returns it as an absolute http(s) URL when it
// names another host; protocol-relative references count as https. A
// relative ref is resolved against base when base is set.
func external(ref string, base *url.URL) (*url.URL, bool) {
	u, err := url.Parse(strings.TrimSpace(ref))
	if err != nil {
		return nil, false
	}
	if base != nil {
		u = base.ResolveReference(u)
	}
	if u.Scheme == "" && u.Host != "" {
		u.Scheme = "https"
	}
	return u, (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

// reference returns what replaces ref in the file from: the internal URL
// or site path of its mirrored copy, or ref itself when it is not
// external or the mirror lacks it. base is the original URL of a mirrored
// stylesheet, against which its relative references resolve.
func (l *localizer) reference(from string, base *url.URL, ref string) string {
	u, ok := external(ref, base)
	if !ok {
		return ref
	}
	file, ok := l.opts.Mirror.Lookup(u)
	if !ok {
		l.report.Unresolved = append(l.report.Unresolved, Problem{File: from, URL: u.String(),
			Reason: "not in the mirror folder: bring it in through Sluice and add it to " + MapFile})
		return ref
	}
	to, err := l.target(from, file, u)
	if err != nil {
		l.report.Unresolved = append(l.report.Unresolved, Problem{File: from, URL: u.String(), Reason: err.Error()})
		return ref
	}
	if u.Fragment != "" {
		to += "#" + u.Fragment
	}
	l.report.Localized = append(l.report.Localized, Reference{File: from, URL: u.String(), To: to})
	return to
}

// target returns the new reference to a mirror file from the site file
// from, copying the file into the site unless a base URL is set.
func (l *localizer) target(from, file string, original *url.URL) (string, error) {
	if l.opts.BaseURL != "" {
		if strings.HasSuffix(file, ".css") {
			l.checkMirroredStylesheet(file)
		}
		return l.opts.BaseURL + file, nil
	}
	c, err := l.copyFile(file, original)
	if err != nil {
		return "", err
	}
	rel, err := filepath.Rel(filepath.Dir(filepath.FromSlash(from)), filepath.FromSlash(c.sitePath))
	if err != nil {
		return "", err
	}
	return filepath.ToSlash(rel), nil
}

// copyFile copies a mirror file into the site once; a stylesheet is
// localized on the way, relative to its original URL.
func (l *localizer) copyFile(file string, original *url.URL) (copyResult, error) {
	if c, ok := l.copied[file]; ok {
		return c, nil
	}
	sitePath := path.Join(AssetsDir, file)
	c := copyResult{sitePath: sitePath}
	l.copied[file] = c // a stylesheet that imports itself stops here
	data, err := l.opts.Mirror.read(file)
	if err != nil {
		return c, fmt.Errorf("read mirrored copy: %w", err)
	}
	out := data
	if strings.HasSuffix(file, ".css") {
		out = []byte(rewriteCSS(string(data), func(ref string) string {
			return l.reference(sitePath, original, ref)
		}))
	}
	c.changed = !bytes.Equal(out, data)
	dest := filepath.Join(l.site, filepath.FromSlash(sitePath))
	if err := os.MkdirAll(filepath.Dir(dest), 0o755); err != nil {
		return c, fmt.Errorf("copy mirrored file: %w", err)
	}
	if err := os.WriteFile(dest, out, 0o644); err != nil {
		return c, fmt.Errorf("copy mirrored file: %w", err)
	}
	l.copied[file] = c
	l.report.Changed = append(l.report.Changed, sitePath)
	return c, nil
}

// checkMirroredStylesheet reports the external references inside a
// mirrored stylesheet that is served as it is, because the browser will
// follow them to the internet.
func (l *localizer) checkMirroredStylesheet(file string) {
	if _, done := l.copied[file]; done {
		return
	}
	l.copied[file] = copyResult{}
	data, err := l.opts.Mirror.read(file)
	if err != nil {
		return
	}
	// Relative references resolve against the internal URL the
	// stylesheet is served at, so only absolute ones leave the network.
	rewriteCSS(string(data), func(ref string) string {
		if u, ok := external(ref, nil); ok && !l.served(u) {
			l.report.Unresolved = append(l.report.Unresolved, Problem{File: "mirror:" + file, URL: u.String(),
				Reason: "the mirrored stylesheet refers to it and is served unchanged: localize the stylesheet " +
					"in the mirror folder, or run without a base URL to copy it into the site"})
		}
		return ref
	})
}

// served reports whether u is under the internal base URL.
func (l *localizer) served(u *url.URL) bool {
	return strings.HasPrefix(u.String(), l.opts.BaseURL)
}

// sortedProblems returns the problems sorted by file and URL.
func sortedProblems(p []Problem) []Problem {
	out := slices.Clone(p)
	slices.SortFunc(out, func(a, b Problem) int {
		return strings.Compare(a.File+"\x00"+a.URL, b.File+"\x00"+b.URL)
	})
	return out
}
