package bundle

import (
	"archive/tar"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// A bundle's members (index, signature, parts) live either as files of a
// directory, each named "<bundle id>.<member>", or as entries with the same
// names in one uncompressed tar file: parts first, then the index and its
// signature.

// sink receives the members of a bundle being written.
type sink interface {
	// create starts a member whose size is not known in advance. Only one
	// member may be open at a time.
	create(name string) (io.WriteCloser, error)
	// put writes a small member.
	put(name string, data []byte) error
	// close finishes the bundle; abort removes what was written.
	close() error
	abort()
}

func newSink(to, id string, split bool, modTime time.Time) (sink, error) {
	if info, err := os.Stat(to); (err == nil && info.IsDir()) || strings.HasSuffix(to, "/") {
		if err := os.MkdirAll(to, 0o755); err != nil {
			return nil, fmt.Errorf("create bundle folder: %w", err)
		}
		return &dirSink{dir: to, id: id}, nil
	} else if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s exists: name a folder, or a new file for a single-file bundle", to)
	}
	if split {
		return nil, fmt.Errorf("a single-file bundle cannot be split into parts: give --to a folder (ending in /)")
	}
	f, err := os.OpenFile(to, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return nil, fmt.Errorf("create bundle file: %w", err)
	}
	return &fileSink{f: f, id: id, modTime: modTime}, nil
}

type dirSink struct {
	dir, id string
	written []string
}

func (d *dirSink) path(name string) string { return filepath.Join(d.dir, d.id+"."+name) }

func (d *dirSink) create(name string) (io.WriteCloser, error) {
	f, err := os.OpenFile(d.path(name), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return nil, fmt.Errorf("create bundle member: %w", err)
	}
	d.written = append(d.written, f.Name())
	return syncCloser{f}, nil
}

func (d *dirSink) put(name string, data []byte) error {
	w, err := d.create(name)
	if err != nil {
		return err
	}
	if _, err := w.Write(data); err != nil {
		w.Close()
		return err
	}
	return w.Close()
}

func (d *dirSink) close() error { return nil }

func (d *dirSink) abort() {
	for _, p := range d.written {
		os.Remove(p)
	}
}

// syncCloser syncs a file to disk before closing it, so an export that
// reports success has its bytes on the medium.
type syncCloser struct{ *os.File }

func (s syncCloser) Close() error {
	if err := s.File.Sync(); err != nil {
		s.File.Close()
		return err
	}
	return s.File.Close()
}

// fileSink writes a tar. A streamed member gets a placeholder header that
// is rewritten with the real size when the member is closed.
type fileSink struct {
	f       *os.File
	id      string
	modTime time.Time
}

func (s *fileSink) header(name string, size int64) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	err := tw.WriteHeader(&tar.Header{Name: s.id + "." + name, Size: size, Mode: 0o644,
		ModTime: s.modTime, Typeflag: tar.TypeReg, Format: tar.FormatGNU})
	if err != nil {
		return nil, err
	}
	// The header is written; Flush would demand the member's bytes.
	return buf.Bytes(), nil
}

func (s *fileSink) create(name string) (io.WriteCloser, error) {
	hdr, err := s.header(name, 0)
	if err != nil {
		return nil, err
	}
	start, err := s.f.Seek(0, io.SeekCurrent)
	if err != nil {
		return nil, err
	}
	if _, err := s.f.Write(hdr); err != nil {
		return nil, err
	}
	return &tarMember{sink: s, name: name, start: start, headerLen: int64(len(hdr))}, nil
}

type tarMember struct {
	sink      *fileSink
	name      string
	start     int64
	headerLen int64
	size      int64
}

func (m *tarMember) Write(p []byte) (int, error) {
	n, err := m.sink.f.Write(p)
	m.size += int64(n)
	return n, err
}

func (m *tarMember) Close() error {
	if pad := (512 - m.size%512) % 512; pad > 0 {
		if _, err := m.sink.f.Write(make([]byte, pad)); err != nil {
			return err
		}
	}
	hdr, err := m.sink.header(m.name, m.size)
	if err != nil {
		return err
	}
	if int64(len(hdr)) != m.headerLen {
		return fmt.Errorf("tar header of %s changed length", m.name)
	}
	_, err = m.sink.f.WriteAt(hdr, m.start)
	return err
}

func (s *fileSink) put(name string, data []byte) error {
	w, err := s.create(name)
	if err != nil {
		return err
	}
	if _, err := w.Write(data); err != nil {
		return err
	}
	return w.Close()
}

func (s *fileSink) close() error {
	// A tar ends with two zero blocks.
	if _, err := s.f.Write(make([]byte, 1024)); err != nil {
		return err
	}
	if err := s.f.Sync(); err != nil {
		return err
	}
	return s.f.Close()
}

func (s *fileSink) abort() {
	s.f.Close()
	os.Remove(s.f.Name())
}

// source reads the members of a bundle.
type source struct {
	// path is what the user named: the folder or the single file.
	path string
	id   string
	dir  string
	// file and members are set for a single-file bundle.
	file    *os.File
	members map[string]*io.SectionReader
}

// openSource opens a bundle folder holding exactly one bundle, a bundle's
// index file in a folder, or a single-file bundle.
func openSource(path string) (*source, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("open bundle: %w", err)
	}
	if info.IsDir() {
		matches, err := filepath.Glob(filepath.Join(path, "*."+IndexName))
		if err != nil {
			return nil, err
		}
		switch len(matches) {
		case 0:
			return nil, fmt.Errorf("%w: no *.%s in %s", ErrMissing, IndexName, path)
		case 1:
			return dirSource(path, matches[0]), nil
		}
		return nil, fmt.Errorf("%s holds %d bundles: name one of its *.%s files", path, len(matches), IndexName)
	}
	if strings.HasSuffix(path, "."+IndexName) {
		return dirSource(path, path), nil
	}
	return tarSource(path)
}

func dirSource(path, index string) *source {
	base := filepath.Base(index)
	return &source{path: path, dir: filepath.Dir(index), id: strings.TrimSuffix(base, "."+IndexName)}
}

func tarSource(path string) (*source, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open bundle: %w", err)
	}
	s := &source{path: path, file: f, members: map[string]*io.SectionReader{}}
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("%w: %s is neither a bundle folder nor a single-file bundle: %v", ErrFormat, path, err)
		}
		// tar.Reader reads exactly the header blocks, so the file offset
		// is where the member's bytes start.
		off, err := f.Seek(0, io.SeekCurrent)
		if err != nil {
			f.Close()
			return nil, err
		}
		s.members[h.Name] = io.NewSectionReader(f, off, h.Size)
		if id, ok := strings.CutSuffix(h.Name, "."+IndexName); ok {
			s.id = id
		}
	}
	if s.id == "" {
		f.Close()
		return nil, fmt.Errorf("%w: %s holds no %s", ErrMissing, path, IndexName)
	}
	return s, nil
}

// open returns a member's reader and size, or an error wrapping ErrMissing
// that names where the member was expected.
func (s *source) open(name string) (io.ReadCloser, int64, error) {
	if s.file != nil {
		r, ok := s.members[s.id+"."+name]
		if !ok {
			return nil, 0, fmt.Errorf("%w: %s is missing from %s", ErrMissing, name, s.path)
		}
		return io.NopCloser(io.NewSectionReader(r, 0, r.Size())), r.Size(), nil
	}
	f, err := os.Open(s.where(name))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, 0, fmt.Errorf("%w: %s is missing", ErrMissing, s.where(name))
	}
	if err != nil {
		return nil, 0, err
	}
	info, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, err
	}
	return f, info.Size(), nil
}

func (s *source) readAll(name string) ([]byte, error) {
	r, _, err := s.open(name)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return io.ReadAll(r)
}

// where names a member's location for messages.
func (s *source) where(name string) string {
	if s.file != nil {
		return s.path + ": " + s.id + "." + name
	}
	return filepath.Join(s.dir, s.id+"."+name)
}

func (s *source) close() error {
	if s.file != nil {
		return s.file.Close()
	}
	return nil
}
