package manifests

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Load reads, parses and validates the manifest file at path. Beyond Parse,
// it checks that every lockfile exists and is a regular file, and reports
// a missing one at the line of its path in the manifest.
func Load(path string) (*Manifest, error) {
	m, errs := load(path)
	if err := errs.join(); err != nil {
		return nil, err
	}
	return m, nil
}

func load(path string) (*Manifest, problems) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, problems{{File: path, Message: readProblem(err), Err: err}}
	}
	m, errs := parse(path, data)
	if m == nil || m.Spec.NPM == nil {
		return m, errs
	}
	dir := manifestDir(path)
	for i, lf := range m.Spec.NPM.Lockfiles {
		field := fmt.Sprintf("spec.npm.lockfiles[%d].path", i)
		info, err := os.Stat(lf.Path)
		switch {
		case os.IsNotExist(err):
			errs.add(lf.Pos, field, "lockfile %s not found: fix the path, which is relative "+
				"to the manifest's folder %s", lf.Path, dir)
		case err != nil:
			errs.add(lf.Pos, field, "lockfile %s: %s", lf.Path, readProblem(err))
		case !info.Mode().IsRegular():
			errs.add(lf.Pos, field, "lockfile %s is not a regular file: point to the "+
				"package-lock.json or yarn.lock itself", lf.Path)
		}
	}
	return m, errs
}

// LoadAll loads manifests from files and directories. A directory
// contributes the *.yaml and *.yml files directly inside it, in name order;
// subdirectories are not searched. Every file is loaded even when an
// earlier one fails, and the problems of all files, including manifests
// that share a metadata.name, are returned together.
func LoadAll(paths ...string) ([]*Manifest, error) {
	var errs problems
	files := manifestFiles(paths, &errs)
	var manifests []*Manifest
	names := make(map[string]*Manifest)
	for _, file := range files {
		m, fileErrs := load(file)
		errs = append(errs, fileErrs...)
		if len(fileErrs) > 0 {
			continue
		}
		if first, dup := names[m.Metadata.Name]; dup {
			errs.add(m.namePos, "metadata.name",
				"manifest name %q is also used by %s: give each manifest its own name",
				m.Metadata.Name, first.Path)
			continue
		}
		names[m.Metadata.Name] = m
		manifests = append(manifests, m)
	}
	if err := errs.join(); err != nil {
		return nil, err
	}
	return manifests, nil
}

// manifestFiles expands directories in paths to the manifest files inside
// them and drops files that are named twice.
func manifestFiles(paths []string, errs *problems) []string {
	var files []string
	seen := make(map[string]bool)
	addFile := func(file string) {
		key := file
		if abs, err := filepath.Abs(file); err == nil {
			key = abs
		}
		if !seen[key] {
			seen[key] = true
			files = append(files, file)
		}
	}
	for _, path := range paths {
		info, err := os.Stat(path)
		if err != nil {
			*errs = append(*errs, &Error{File: path, Message: readProblem(err), Err: err})
			continue
		}
		if !info.IsDir() {
			addFile(path)
			continue
		}
		entries, err := os.ReadDir(path)
		if err != nil {
			*errs = append(*errs, &Error{File: path, Message: readProblem(err), Err: err})
			continue
		}
		var found []string
		for _, e := range entries {
			ext := strings.ToLower(filepath.Ext(e.Name()))
			if !e.IsDir() && (ext == ".yaml" || ext == ".yml") {
				found = append(found, filepath.Join(path, e.Name()))
			}
		}
		if len(found) == 0 {
			errs.add(Position{File: path}, "", "no *.yaml or *.yml manifest files in the directory")
		}
		slices.Sort(found)
		for _, f := range found {
			addFile(f)
		}
	}
	return files
}

// readProblem describes a failed file operation without repeating the
// path, which the *Error already names.
func readProblem(err error) string {
	if pathErr, ok := err.(*os.PathError); ok {
		err = pathErr.Err
	}
	if os.IsNotExist(err) {
		return "file not found"
	}
	return fmt.Sprintf("cannot read: %v", err)
}
