package techdocs

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// MapFile is the file in a mirror folder that maps external URLs to
// files of the folder, as a JSON object {"https://host/path?query":
// "relative/file"}.
const MapFile = "urls.json"

// Mirror is a folder of CDN files that Sluice brought in. A URL is found
// by its entry in urls.json, or else, when it has no query, at
// <host>/<path> in the folder.
type Mirror struct {
	dir   string
	byURL map[string]string
}

// OpenMirror reads the mirror folder dir.
func OpenMirror(dir string) (*Mirror, error) {
	info, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("open mirror folder: %w", err)
	}
	if !info.IsDir() {
		return nil, fmt.Errorf("open mirror folder %s: not a folder", dir)
	}
	m := &Mirror{dir: dir, byURL: map[string]string{}}
	data, err := os.ReadFile(filepath.Join(dir, MapFile))
	if errors.Is(err, fs.ErrNotExist) {
		return m, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read mirror map: %w", err)
	}
	if err := json.Unmarshal(data, &m.byURL); err != nil {
		return nil, fmt.Errorf("read mirror map %s: %w: want a JSON object of URL to file",
			filepath.Join(dir, MapFile), err)
	}
	for u, file := range m.byURL {
		clean := path.Clean(file)
		if path.IsAbs(clean) || clean == ".." || strings.HasPrefix(clean, "../") {
			return nil, fmt.Errorf("mirror map %s: file %q of %s is outside the mirror folder",
				filepath.Join(dir, MapFile), file, u)
		}
		m.byURL[u] = clean
	}
	return m, nil
}

// Lookup returns the mirror's file for an absolute URL, relative to the
// mirror folder with slashes, and false when the mirror lacks it.
func (m *Mirror) Lookup(u *url.URL) (string, bool) {
	key := *u
	key.Fragment = ""
	if file, ok := m.byURL[key.String()]; ok {
		return file, m.exists(file)
	}
	if key.RawQuery != "" {
		return "", false
	}
	file := path.Clean(key.Host + "/" + strings.TrimPrefix(key.Path, "/"))
	if strings.HasPrefix(file, "../") || strings.HasSuffix(key.Path, "/") {
		return "", false
	}
	return file, m.exists(file)
}

func (m *Mirror) exists(file string) bool {
	info, err := os.Stat(filepath.Join(m.dir, filepath.FromSlash(file)))
	return err == nil && info.Mode().IsRegular()
}

// read returns the content of a mirror file.
func (m *Mirror) read(file string) ([]byte, error) {
	return os.ReadFile(filepath.Join(m.dir, filepath.FromSlash(file)))
}
