// Package refs points image references at the internal registry. It finds
// the references in Dockerfiles, Kubernetes manifests, Helm values files
// and Backstage app-config files, looks up the internal copy of each in an
// ImageMirror, and rewrites them to "registry/project/name@sha256:<hex>". Only
// the bytes of the references change, so comments and layout stay as they
// are and pinning a pinned file changes nothing. A reference that was not
// mirrored is an offender: the file is left as it was and every offender
// is listed with what to do. References built from build arguments,
// templates or environment variables are left as they are and reported.
package refs

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
)

// Kind is the format of a file that holds image references.
type Kind string

// Kinds of files that pin rewrites.
const (
	KindDockerfile Kind = "dockerfile"
	KindKubernetes Kind = "kubernetes"
	KindHelm       Kind = "helm"
	KindBackstage  Kind = "backstage"
)

// Kinds lists every Kind, for flag help and validation.
var Kinds = []Kind{KindDockerfile, KindKubernetes, KindHelm, KindBackstage}

// ParseKind returns the Kind named s.
func ParseKind(s string) (Kind, error) {
	if slices.Contains(Kinds, Kind(s)) {
		return Kind(s), nil
	}
	return "", fmt.Errorf("unknown file kind %q: use dockerfile, kubernetes, helm or backstage", s)
}

// Detect returns the kind of the file at path with content data. Names
// mark Dockerfiles (Dockerfile, Dockerfile.*, *.Dockerfile, Containerfile),
// Backstage files (app-config*.yaml) and Helm values (values*.yaml). YAML
// content marks Kubernetes manifests, which have apiVersion and kind at the
// top of a document, and wins over the name. ok is false for other files.
func Detect(path string, data []byte) (kind Kind, ok bool) {
	base := filepath.Base(path)
	lower := strings.ToLower(base)
	switch {
	case lower == "dockerfile", lower == "containerfile",
		strings.HasPrefix(lower, "dockerfile."), strings.HasPrefix(lower, "containerfile."),
		strings.HasSuffix(lower, ".dockerfile"), strings.HasSuffix(lower, ".containerfile"):
		return KindDockerfile, true
	}
	ext := filepath.Ext(lower)
	if ext != ".yaml" && ext != ".yml" {
		return "", false
	}
	switch {
	case isKubernetes(data):
		return KindKubernetes, true
	case strings.HasPrefix(lower, "app-config"):
		return KindBackstage, true
	case strings.HasPrefix(lower, "values"):
		return KindHelm, true
	}
	return "", false
}

// Offender is a reference that cannot be pinned.
type Offender struct {
	File   string `json:"file"`
	Line   int    `json:"line"`
	Ref    string `json:"ref"`
	Reason string `json:"reason"`
}

func (o Offender) String() string {
	return fmt.Sprintf("%s:%d: %s: %s", o.File, o.Line, o.Ref, o.Reason)
}

// Unresolved is a reference that pin leaves as it is because its value is
// only known when the file is used: a Dockerfile ARG, a Helm template or
// an environment variable. Reason names which.
type Unresolved Offender

func (u Unresolved) String() string {
	return fmt.Sprintf("%s:%d: %s: left as is: %s", u.File, u.Line, u.Ref, u.Reason)
}

// Result is the outcome of pinning one file.
type Result struct {
	File string
	Kind Kind
	// Output is the rewritten file; nil when there are offenders.
	Output []byte
	// Changed counts the references rewritten, Unchanged those already
	// pinned to the internal registry by digest.
	Changed    int
	Unchanged  int
	Offenders  []Offender
	Unresolved []Unresolved
}

// Pinner rewrites image references to their internal copies.
type Pinner struct {
	Mirror ImageMirror
	// Registry is the internal registry's host[:port]. References on it
	// by digest count as pinned and are not looked up.
	Registry string
}

// occurrence is one image reference in a file.
type occurrence struct {
	line int
	// ref is the reference as written; for a Helm image map, as composed
	// from its fields.
	ref string
	// unresolved, when set, is why the reference is left as it is.
	unresolved string
	// invalid, when set, is why the reference cannot be rewritten.
	invalid string
	// edits returns the byte edits that make the occurrence point at the
	// pinned reference.
	edits func(pinned Reference) []edit
}

// edit replaces data[start:end] with text.
type edit struct {
	start, end int
	text       string
}

// Pin rewrites the references in the file at path, whose content is data
// and whose format is kind.
func (p *Pinner) Pin(path string, data []byte, kind Kind) (*Result, error) {
	if p.Registry == "" {
		return nil, fmt.Errorf("pin %s: no internal registry set", path)
	}
	occs, err := scan(kind, data)
	if err != nil {
		return nil, fmt.Errorf("pin %s: %w", path, err)
	}
	res := &Result{File: path, Kind: kind}
	var edits []edit
	for _, o := range occs {
		if o.unresolved != "" {
			res.Unresolved = append(res.Unresolved, Unresolved{path, o.line, o.ref, o.unresolved})
			continue
		}
		if o.invalid != "" {
			res.Offenders = append(res.Offenders, Offender{path, o.line, o.ref, o.invalid})
			continue
		}
		pinned, reason, err := p.resolve(o.ref)
		if err != nil {
			return nil, fmt.Errorf("pin %s:%d: %w", path, o.line, err)
		}
		switch {
		case reason != "":
			res.Offenders = append(res.Offenders, Offender{path, o.line, o.ref, reason})
		case pinned == nil:
			res.Unchanged++
		default:
			res.Changed++
			edits = append(edits, o.edits(*pinned)...)
		}
	}
	if len(res.Offenders) > 0 {
		return res, nil
	}
	res.Output = apply(data, edits)
	return res, nil
}

// resolve returns the pinned reference for ref, nil when ref is pinned
// already, or the reason it cannot be pinned.
func (p *Pinner) resolve(ref string) (*Reference, string, error) {
	r, err := Normalize(ref)
	if err != nil {
		return nil, err.Error() + ": correct it", nil
	}
	if r.Registry == p.Registry && r.Digest != "" {
		return nil, "", nil
	}
	pinned, ok, err := p.Mirror.Lookup(r.String())
	if err != nil {
		return nil, "", fmt.Errorf("look up %s: %w", r, err)
	}
	if !ok {
		return nil, fmt.Sprintf("%s is not mirrored: add it to a manifest and sync", r), nil
	}
	target, err := checkPinned(pinned, p.Registry)
	if err != nil {
		return nil, "", fmt.Errorf("look up %s: %w", r, err)
	}
	return &target, "", nil
}

// apply makes edits, which do not overlap, to a copy of data.
func apply(data []byte, edits []edit) []byte {
	slices.SortFunc(edits, func(a, b edit) int { return a.start - b.start })
	out := make([]byte, 0, len(data)+len(edits)*64)
	last := 0
	for _, e := range edits {
		out = append(out, data[last:e.start]...)
		out = append(out, e.text...)
		last = e.end
	}
	return append(out, data[last:]...)
}

// scan finds the image references in a file of the given kind.
func scan(kind Kind, data []byte) ([]occurrence, error) {
	switch kind {
	case KindDockerfile:
		return scanDockerfile(data), nil
	case KindKubernetes, KindHelm, KindBackstage:
		return scanYAML(kind, data)
	}
	return nil, fmt.Errorf("unknown file kind %q", kind)
}
