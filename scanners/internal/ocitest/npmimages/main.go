// Command npmimages wraps npm tarballs into OCI image layouts, one image
// per tarball with the package unpacked under usr/lib/node_modules. The
// grype CLI then catalogs the package.json with the syft cataloger that
// Sluice uses for tarballs, which syft selects for images but not for
// directories.
//
//	go run ./scanners/internal/ocitest/npmimages -out DIR TARBALL...
package main

import (
	"archive/tar"
	"compress/gzip"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/sluice-dev/sluice/scanners/internal/ocitest"
)

func main() {
	out := flag.String("out", "", "folder to write one layout per tarball into (required)")
	flag.Parse()
	if *out == "" || flag.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "usage: npmimages -out DIR TARBALL...")
		os.Exit(2)
	}
	for i, tarball := range flag.Args() {
		files, err := readTarball(tarball)
		if err == nil {
			_, err = ocitest.WriteLayout(filepath.Join(*out, fmt.Sprintf("%03d", i)), files)
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "npmimages: %s: %v\n", tarball, err)
			os.Exit(1)
		}
	}
}

// readTarball returns the regular files of an npm tarball below
// usr/lib/node_modules/<name>/, the name taken from its package.json.
func readTarball(name string) (map[string][]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		return nil, err
	}
	raw := map[string][]byte{}
	tr := tar.NewReader(gz)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		if hdr.Typeflag != tar.TypeReg {
			continue
		}
		_, rest, ok := strings.Cut(path.Clean(hdr.Name), "/")
		if !ok || strings.HasPrefix(rest, "..") {
			continue
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			return nil, err
		}
		raw[rest] = data
	}

	pkgName, err := packageName(raw["package.json"])
	if err != nil {
		return nil, err
	}
	files := make(map[string][]byte, len(raw))
	for p, data := range raw {
		files[path.Join("usr/lib/node_modules", pkgName, p)] = data
	}
	return files, nil
}

func packageName(manifest []byte) (string, error) {
	var p struct {
		Name string `json:"name"`
	}
	if err := json.Unmarshal(manifest, &p); err != nil || p.Name == "" {
		return "", fmt.Errorf("package.json has no name: %v", err)
	}
	return p.Name, nil
}
