package provision

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// File is one generated file, Path relative to the output folder.
type File struct {
	Path string
	Data []byte
	// Secret files are written readable by their owner only.
	Secret bool
}

func fileTarget(f File) string { return "file " + f.Path }

// planFile compares a generated file with the one on disk.
func planFile(dir string, f File, last applied) (*Change, error) {
	target := fileTarget(f)
	have, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(f.Path)))
	switch {
	case errors.Is(err, fs.ErrNotExist):
		action := Create
		if last[target] != "" {
			action = Drift
		}
		return &Change{Target: target, Action: action, Field: "content", From: fromMissing(action),
			To: describe(f)}, nil
	case err != nil:
		return nil, fmt.Errorf("plan %s: %w", target, err)
	case bytes.Equal(have, f.Data):
		return nil, nil
	}
	return &Change{Target: target, Action: last.classify(target, fingerprint(f.Data)), Field: "content",
		From: fingerprint(have), To: describe(f)}, nil
}

func fromMissing(a Action) string {
	if a == Drift {
		return "deleted"
	}
	return ""
}

// describe names the new content without printing it, because secret
// files carry credentials.
func describe(f File) string {
	if f.Secret {
		return fmt.Sprintf("credentials (%d bytes)", len(f.Data))
	}
	return fmt.Sprintf("%s (%d bytes)", fingerprint(f.Data), len(f.Data))
}

// writeFile writes f under dir, replacing the old file atomically.
func writeFile(dir string, f File) error {
	path := filepath.Join(dir, filepath.FromSlash(f.Path))
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	mode := os.FileMode(0o644)
	if f.Secret {
		mode = 0o600
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".provision-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(f.Data); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
