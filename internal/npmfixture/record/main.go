// Command record copies a small, closed set of real npm packages from a live
// registry into the directory layout that package npmfixture serves.
//
// For each name@version given (and each package of any -lockfile given) it
// fetches the abbreviated packument and the tarball, then follows
// dependencies, optionalDependencies and peerDependencies, picking the
// maximum version that satisfies each range, until the set is closed. Every
// packument is then trimmed to the recorded versions plus a few neighbours
// that keep their metadata but have no tarball.
//
// Usage:
//
//	go run ./internal/npmfixture/record -registry https://registry.npmjs.org \
//	    -out internal/npmfixture/testdata/registry [-lockfile FILE]... name@version...
//
// The registry has no default so that no run reaches a public host by
// accident. Record into an empty directory.
package main

import (
	"context"
	"crypto/sha1"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"
)

// abbreviatedMediaType is the Accept value that selects npm's abbreviated
// ("corgi") packument, the document install clients read.
const abbreviatedMediaType = "application/vnd.npm.install-v1+json"

func main() {
	var lockfiles []string
	registry := flag.String("registry", "", "base URL of the registry to record from (required)")
	out := flag.String("out", "", "empty directory to write the registry layout into (required)")
	flag.Func("lockfile", "package-lock.json (v2 or v3) whose packages are also recorded; "+
		"may be repeated", func(s string) error {
		lockfiles = append(lockfiles, s)
		return nil
	})
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(),
			"usage: record -registry URL -out DIR [-lockfile FILE]... name@version...\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if *registry == "" || *out == "" || (flag.NArg() == 0 && len(lockfiles) == 0) {
		flag.Usage()
		os.Exit(2)
	}

	roots, err := parseRoots(flag.Args())
	if err != nil {
		log.Fatal(err)
	}
	for _, file := range lockfiles {
		locked, err := readLockfile(file)
		if err != nil {
			log.Fatal(err)
		}
		roots = append(roots, locked...)
	}

	ctx := context.Background()
	rec := &recorder{
		registry:   strings.TrimSuffix(*registry, "/"),
		client:     &http.Client{Timeout: 2 * time.Minute},
		packuments: map[string]*packument{},
		selected:   map[string]map[string]bool{},
	}
	if err := rec.run(ctx, *out, roots); err != nil {
		log.Fatal(err)
	}
}

// spec is an exact package version to record. A locked spec comes from a
// lockfile, which already lists the whole tree, so its dependencies are not
// followed.
type spec struct {
	name, version string
	locked        bool
}

func (s spec) String() string { return s.name + "@" + s.version }

func parseRoots(args []string) ([]spec, error) {
	var roots []spec
	for _, arg := range args {
		at := strings.LastIndex(arg, "@")
		if at <= 0 || at == len(arg)-1 {
			return nil, fmt.Errorf("invalid argument %q: expected name@version, "+
				"for example lodash@4.17.21 or @types/ms@0.7.34", arg)
		}
		roots = append(roots, spec{name: arg[:at], version: arg[at+1:]})
	}
	return roots, nil
}

// readLockfile returns every registry package of an npm v2 or v3 lockfile.
func readLockfile(file string) ([]spec, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("read lockfile: %w", err)
	}
	var lock struct {
		LockfileVersion int `json:"lockfileVersion"`
		Packages        map[string]struct {
			Name    string `json:"name"`
			Version string `json:"version"`
			Link    bool   `json:"link"`
		} `json:"packages"`
	}
	if err := json.Unmarshal(data, &lock); err != nil {
		return nil, fmt.Errorf("parse lockfile %s: %w", file, err)
	}
	if lock.LockfileVersion < 2 {
		return nil, fmt.Errorf("lockfile %s has lockfileVersion %d: only 2 and 3 carry "+
			"the packages map this command reads", file, lock.LockfileVersion)
	}
	var specs []spec
	for key, entry := range lock.Packages {
		if key == "" || entry.Link {
			continue
		}
		name := entry.Name
		if name == "" {
			name = key[strings.LastIndex(key, "node_modules/")+len("node_modules/"):]
		}
		specs = append(specs, spec{name: name, version: entry.Version, locked: true})
	}
	sort.Slice(specs, func(i, j int) bool { return specs[i].String() < specs[j].String() })
	return specs, nil
}

// recorder fetches packuments and tarballs and tracks the versions chosen.
type recorder struct {
	registry   string
	client     *http.Client
	packuments map[string]*packument
	selected   map[string]map[string]bool
}

func (r *recorder) run(ctx context.Context, out string, roots []spec) error {
	if err := requireEmptyDir(out); err != nil {
		return err
	}
	queue := slices.Clone(roots)
	for len(queue) > 0 {
		next := queue[0]
		queue = queue[1:]
		if r.selected[next.name][next.version] {
			continue
		}
		doc, err := r.packument(ctx, next.name)
		if err != nil {
			return err
		}
		meta, err := doc.meta(next.version)
		if err != nil {
			return err
		}
		if r.selected[next.name] == nil {
			r.selected[next.name] = map[string]bool{}
		}
		r.selected[next.name][next.version] = true

		if next.locked {
			continue
		}
		deps, err := r.dependencies(ctx, next, meta)
		if err != nil {
			return err
		}
		queue = append(queue, deps...)
	}

	names := make([]string, 0, len(r.selected))
	for name := range r.selected {
		names = append(names, name)
	}
	sort.Strings(names)
	var total int64
	for _, name := range names {
		size, err := r.write(ctx, out, name)
		if err != nil {
			return err
		}
		total += size
	}
	log.Printf("recorded %d packages, %d tarball bytes, into %s", len(names), total, out)
	return nil
}

// dependencies resolves every dependency range of one version to an exact
// version, following npm: "npm:" aliases name another package, and any
// other non-registry specifier is an error.
func (r *recorder) dependencies(ctx context.Context, from spec, meta versionMeta) ([]spec, error) {
	var deps []spec
	for _, group := range []map[string]string{
		meta.Dependencies, meta.OptionalDependencies, meta.PeerDependencies,
	} {
		names := make([]string, 0, len(group))
		for name := range group {
			names = append(names, name)
		}
		sort.Strings(names)
		for _, name := range names {
			target, rangeText := name, group[name]
			if alias, ok := strings.CutPrefix(rangeText, "npm:"); ok {
				at := strings.LastIndex(alias, "@")
				if at <= 0 {
					target, rangeText = alias, "latest"
				} else {
					target, rangeText = alias[:at], alias[at+1:]
				}
			}
			doc, err := r.packument(ctx, target)
			if err != nil {
				return nil, fmt.Errorf("%s depends on %s: %w", from, name, err)
			}
			version, err := doc.maxSatisfying(rangeText)
			if err != nil {
				return nil, fmt.Errorf("%s depends on %s@%q: %w", from, target, rangeText, err)
			}
			deps = append(deps, spec{name: target, version: version})
		}
	}
	return deps, nil
}

func (r *recorder) packument(ctx context.Context, name string) (*packument, error) {
	if doc, ok := r.packuments[name]; ok {
		return doc, nil
	}
	body, contentType, err := r.get(ctx, r.registry+"/"+escapeName(name), abbreviatedMediaType)
	if err != nil {
		return nil, fmt.Errorf("fetch packument of %s: %w", name, err)
	}
	doc, err := parsePackument(name, body)
	if err != nil {
		return nil, err
	}
	if !strings.HasPrefix(contentType, abbreviatedMediaType) {
		log.Printf("%s: registry returned %q, not the abbreviated form: "+
			"keeping only the abbreviated fields", name, contentType)
		if err := doc.abbreviate(); err != nil {
			return nil, err
		}
	}
	r.packuments[name] = doc
	return doc, nil
}

// write stores the trimmed packument of name and the tarballs of its
// selected versions, and returns the tarball bytes written.
func (r *recorder) write(ctx context.Context, out, name string) (int64, error) {
	doc := r.packuments[name]
	dir := filepath.Join(out, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Join(dir, "-"), 0o755); err != nil {
		return 0, err
	}
	var total int64
	versions := make([]string, 0, len(r.selected[name]))
	for version := range r.selected[name] {
		versions = append(versions, version)
	}
	sort.Strings(versions)
	for _, version := range versions {
		meta, err := doc.meta(version)
		if err != nil {
			return 0, err
		}
		data, _, err := r.get(ctx, meta.Dist.Tarball, "application/octet-stream")
		if err != nil {
			return 0, fmt.Errorf("fetch tarball of %s@%s: %w", name, version, err)
		}
		if err := meta.Dist.verify(data); err != nil {
			return 0, fmt.Errorf("tarball of %s@%s from %s: %w",
				name, version, meta.Dist.Tarball, err)
		}
		file := filepath.Join(dir, "-", tarballFile(meta.Dist.Tarball))
		if err := os.WriteFile(file, data, 0o644); err != nil {
			return 0, err
		}
		total += int64(len(data))
		log.Printf("%s@%s: %d bytes", name, version, len(data))
	}

	trimmed, err := doc.trim(r.selected[name])
	if err != nil {
		return 0, err
	}
	return total, os.WriteFile(filepath.Join(dir, "packument.json"), trimmed, 0o644)
}

// get returns the body and the Content-Type of a 200 response.
func (r *recorder) get(ctx context.Context, rawURL, accept string) ([]byte, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return nil, "", err
	}
	req.Header.Set("Accept", accept)
	req.Header.Set("User-Agent", "sluice-fixture-recorder")
	resp, err := r.client.Do(req)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, "", fmt.Errorf("read %s: %w", rawURL, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, "", fmt.Errorf("GET %s: status %s", rawURL, resp.Status)
	}
	return body, resp.Header.Get("Content-Type"), nil
}

// verify checks data against the integrity (sha512) or, for old packages,
// the shasum (sha1) that the packument lists.
func (d dist) verify(data []byte) error {
	if algo, want, ok := strings.Cut(d.Integrity, "-"); ok && algo == "sha512" {
		sum := sha512.Sum512(data)
		if got := base64.StdEncoding.EncodeToString(sum[:]); got != want {
			return fmt.Errorf("integrity mismatch: packument lists sha512-%s, data has sha512-%s",
				want, got)
		}
		return nil
	}
	if d.Shasum == "" {
		return errors.New("packument lists neither a sha512 integrity nor a shasum")
	}
	sum := sha1.Sum(data)
	if got := hex.EncodeToString(sum[:]); got != d.Shasum {
		return fmt.Errorf("shasum mismatch: packument lists %s, data has %s", d.Shasum, got)
	}
	return nil
}

// escapeName returns name as a registry path segment: a scoped name keeps
// its "@" and has its slash encoded, as npm clients send it.
func escapeName(name string) string {
	return url.PathEscape(name)
}

func tarballFile(tarballURL string) string {
	if u, err := url.Parse(tarballURL); err == nil {
		return path.Base(u.Path)
	}
	return path.Base(tarballURL)
}

func requireEmptyDir(dir string) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return os.MkdirAll(dir, 0o755)
	}
	if err != nil {
		return err
	}
	if len(entries) > 0 {
		return fmt.Errorf("output directory %s is not empty: record into an empty directory "+
			"so that no stale package stays behind", dir)
	}
	return nil
}
