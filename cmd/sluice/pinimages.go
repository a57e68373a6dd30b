package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/sluice-dev/sluice/ingest/oci"
	"github.com/sluice-dev/sluice/ingest/state"
	"github.com/sluice-dev/sluice/mirrors/pin"
	"github.com/sluice-dev/sluice/mirrors/pin/refs"
)

// openImageMirror returns the look-up of mirrored images for a store and
// internal registry.
var openImageMirror = func(st *store, registry string) (refs.ImageMirror, error) {
	return storeMirror{db: st.db, registry: registry}, nil
}

// storeMirror finds the digest reference an image was published under on
// one registry, as sync recorded it in the state store.
type storeMirror struct {
	db       *state.DB
	registry string
}

// Lookup returns the mirrored digest reference of ref on the registry.
func (m storeMirror) Lookup(ref string) (string, bool, error) {
	pinned, err := oci.MirroredReference(m.db, ref, m.registry+"/")
	if errors.Is(err, state.ErrNotFound) {
		return "", false, nil
	}
	return pinned, err == nil, err
}

// imageFile is a file of image references to pin.
type imageFile struct {
	path string
	kind refs.Kind
	data []byte
}

// splitPinFiles sorts the files given to pin into image files and
// lockfiles. kind, when set, makes every file an image file of that kind.
func splitPinFiles(paths []string, kind string) (images []imageFile, lockfiles []string, err error) {
	var forced refs.Kind
	if kind != "" {
		if forced, err = refs.ParseKind(kind); err != nil {
			return nil, nil, &usageError{err}
		}
	}
	for _, path := range paths {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, nil, fmt.Errorf("read %s: %w", path, err)
		}
		k, ok := refs.Detect(path, data)
		if forced != "" {
			k, ok = forced, true
		}
		if !ok {
			lockfiles = append(lockfiles, path)
			continue
		}
		images = append(images, imageFile{path, k, data})
	}
	return images, lockfiles, nil
}

// imagePinner returns a pinner for the internal registry, or nil when no
// image file is to be pinned.
func imagePinner(st *store, registry string, files []imageFile) (*refs.Pinner, error) {
	if len(files) == 0 {
		return nil, nil
	}
	if strings.Contains(registry, "/") {
		return nil, &usageError{fmt.Errorf("invalid --oci-mirror %q: give host[:port], such as harbor.internal", registry)}
	}
	m, err := openImageMirror(st, registry)
	if err != nil {
		return nil, err
	}
	return &refs.Pinner{Mirror: m, Registry: registry}, nil
}

// checkImages pins every image file in memory and lists what offends or
// is left as it is. Nothing is written, so the caller can keep all files
// unchanged when any one offends.
func checkImages(w io.Writer, p *refs.Pinner, files []imageFile, check bool) ([]*refs.Result, error) {
	var results []*refs.Result
	offenders, unpinned := 0, 0
	for _, f := range files {
		res, err := p.Pin(f.path, f.data, f.kind)
		if err != nil {
			return nil, err
		}
		for _, u := range res.Unresolved {
			fmt.Fprintln(w, u)
		}
		for _, o := range res.Offenders {
			fmt.Fprintln(w, o)
		}
		offenders += len(res.Offenders)
		if check && len(res.Offenders) == 0 && res.Changed > 0 {
			fmt.Fprintf(w, "%s: %s not pinned by digest to %s; run sluice pin %s\n", f.path,
				plural(res.Changed, "image reference is", "image references are"), p.Registry, f.path)
			unpinned += res.Changed
		}
		results = append(results, res)
	}
	switch {
	case offenders > 0:
		return nil, &offendersError{fmt.Sprintf("%s cannot be pinned to %s; no file was changed",
			plural(offenders, "image reference", "image references"), p.Registry)}
	case unpinned > 0:
		return nil, &offendersError{fmt.Sprintf("%s not pinned to %s",
			plural(unpinned, "image reference is", "image references are"), p.Registry)}
	}
	return results, nil
}

// writeImages writes the pinned image files and records each in the
// ledger.
func writeImages(w io.Writer, db *state.DB, registry string, files []imageFile, results []*refs.Result) error {
	for i, res := range results {
		if res.Changed > 0 {
			if err := writeAtomic(files[i].path, res.Output); err != nil {
				return fmt.Errorf("write %s: %w", files[i].path, err)
			}
		}
		fmt.Fprintf(w, "%s: %d image references pinned, %d already pinned, %d left as is\n",
			files[i].path, res.Changed, res.Unchanged, len(res.Unresolved))
		abs, err := filepath.Abs(files[i].path)
		if err != nil {
			return err
		}
		err = db.Record(state.Entry{Type: state.EntryPinned, Subject: abs, Actor: actor(),
			Evidence: map[string]string{"digest": pin.Digest(res.Output), "kind": string(res.Kind),
				"changed": fmt.Sprint(res.Changed), "unchanged": fmt.Sprint(res.Unchanged),
				"registry": registry}})
		if err != nil {
			return err
		}
	}
	return nil
}

// isOffenders reports whether err lists files that cannot be pinned.
func isOffenders(err error) bool {
	var oe *offendersError
	return errors.As(err, &oe)
}
