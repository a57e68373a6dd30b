package scanners

import (
	"archive/tar"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strings"
)

// Limits on what unpacking one npm tarball may write, so that a hostile
// tarball cannot fill the disk. The largest packages on the npm registry
// unpack to a few hundred megabytes.
const (
	maxUnpackedBytes = 2 << 30
	maxUnpackedFiles = 200_000
)

// ErrUnsafeArchive is returned for a tarball entry that would be written
// outside the folder it is unpacked into, or past the unpacking limits.
var ErrUnsafeArchive = errors.New("unsafe archive")

// unpackNPM unpacks a gzipped npm tarball into dir and returns the folder
// (relative to dir) that holds its package.json: "package" for tarballs
// that npm pack made, another top folder for some older packages.
// Only regular files and folders are written; links are skipped because
// syft reads the tree and a link could point outside it.
func unpackNPM(r io.Reader, dir string) (string, error) {
	gz, err := gzip.NewReader(r)
	if err != nil {
		return "", fmt.Errorf("read tarball: %w", err)
	}
	defer gz.Close()
	root, err := os.OpenRoot(dir)
	if err != nil {
		return "", err
	}
	defer root.Close()

	var total int64
	var files int
	pkgRoot := ""
	tr := tar.NewReader(gz)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return "", fmt.Errorf("read tarball: %w", err)
		}
		name, err := cleanEntryName(hdr.Name)
		if err != nil {
			return "", err
		}
		switch hdr.Typeflag {
		case tar.TypeDir:
			if err := root.MkdirAll(name, 0o755); err != nil {
				return "", err
			}
			continue
		case tar.TypeReg, tar.TypeRegA:
		default:
			continue
		}

		files++
		total += hdr.Size
		if files > maxUnpackedFiles || total > maxUnpackedBytes {
			return "", fmt.Errorf("%w: more than %d files or %d bytes", ErrUnsafeArchive,
				maxUnpackedFiles, int64(maxUnpackedBytes))
		}
		if err := writeEntry(root, name, tr); err != nil {
			return "", err
		}
		if dirName, file := path.Split(name); file == "package.json" && strings.Count(dirName, "/") == 1 &&
			(pkgRoot == "" || dirName == "package/") {
			pkgRoot = strings.TrimSuffix(dirName, "/")
		}
	}
	if pkgRoot == "" {
		return "", errors.New("tarball has no package.json in its top folder: it is not an npm package")
	}
	return pkgRoot, nil
}

// cleanEntryName rejects absolute names and names that climb out of the
// archive's root.
func cleanEntryName(name string) (string, error) {
	clean := path.Clean(strings.ReplaceAll(name, "\\", "/"))
	if path.IsAbs(clean) || clean == ".." || strings.HasPrefix(clean, "../") || clean == "." {
		return "", fmt.Errorf("%w: entry %q leaves the archive's folder", ErrUnsafeArchive, name)
	}
	return clean, nil
}

func writeEntry(root *os.Root, name string, r io.Reader) error {
	if dir := path.Dir(name); dir != "." {
		if err := root.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	}
	f, err := root.OpenFile(name, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
