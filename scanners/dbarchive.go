package scanners

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path"

	v6 "github.com/anchore/grype/grype/db/v6"
	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
)

// Magic numbers of the compressions grype's database archives use.
var (
	magicZstd = []byte{0x28, 0xb5, 0x2f, 0xfd}
	magicGzip = []byte{0x1f, 0x8b}
	magicXZ   = []byte{0xfd, '7', 'z', 'X', 'Z', 0x00}
)

// extractDBArchive unpacks the database file and grype's import metadata
// from a database archive (tar, optionally zstd, gzip or xz compressed)
// into dir. Other entries are ignored.
func extractDBArchive(archive, dir string) error {
	f, err := os.Open(archive)
	if err != nil {
		return err
	}
	defer f.Close()
	br := bufio.NewReader(f)
	head, _ := br.Peek(6)
	var r io.Reader = br
	switch {
	case bytes.HasPrefix(head, magicZstd):
		zr, err := zstd.NewReader(br)
		if err != nil {
			return err
		}
		defer zr.Close()
		r = zr
	case bytes.HasPrefix(head, magicGzip):
		gr, err := gzip.NewReader(br)
		if err != nil {
			return err
		}
		defer gr.Close()
		r = gr
	case bytes.HasPrefix(head, magicXZ):
		xr, err := xz.NewReader(br)
		if err != nil {
			return err
		}
		r = xr
	}

	root, err := os.OpenRoot(dir)
	if err != nil {
		return err
	}
	defer root.Close()
	wanted := map[string]bool{v6.VulnerabilityDBFileName: true, v6.ImportMetadataFileName: true}
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read %s: not a grype database archive (tar, tar.zst, tar.gz or tar.xz): %w",
				archive, err)
		}
		name := path.Base(path.Clean(hdr.Name))
		if hdr.Typeflag != tar.TypeReg || !wanted[name] {
			continue
		}
		if err := writeEntry(root, name, tr); err != nil {
			return fmt.Errorf("extract %s from %s: %w", name, archive, err)
		}
	}
}

// fileSHA256 returns the "sha256:<hex>" digest of a file, the form grype's
// latest.json uses for archive checksums.
func fileSHA256(name string) (string, error) {
	f, err := os.Open(name)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("read %s: %w", name, err)
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil)), nil
}
