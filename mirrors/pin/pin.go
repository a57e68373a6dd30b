// Package pin points lockfiles at the internal mirror. It rewrites only
// the resolved URLs of entries whose exact version Sluice has published,
// leaving every other byte alone, so integrity fields stay valid and
// pinning a pinned lockfile changes nothing. An entry that is not mirrored
// or not approved is an offender: the lockfile is left as it was and the
// offenders are listed with what to do.
//
// The same check is the build gate (sluice pin --check): a lockfile passes
// only when every registry entry is approved, published to the mirror and
// already points at it.
//
// yarn berry and pnpm lockfiles name no URL for registry packages that
// come from the registry the client is configured with. For those entries
// pinning checks that each one is on the mirror and changes nothing; the
// client's registry setting (npmRegistryServer in .yarnrc.yml, registry in
// .npmrc) must point at the mirror, and Result.Note says so. yarn berry's
// checksum fields are hashes of yarn's cache archives, not of tarballs, so
// they are kept as they are: they do not depend on the registry URL.
package pin

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/sluice-dev/sluice/ingest/state"
	"github.com/sluice-dev/sluice/manifests/lockfile"
)

// Mirror is the internal mirror lockfiles are pointed at.
type Mirror interface {
	URL() string
	TarballURL(name, version string) string
}

// Offender is a lockfile entry that cannot be pinned.
type Offender struct {
	File    string `json:"file"`
	Line    int    `json:"line"`
	Name    string `json:"name"`
	Version string `json:"version"`
	Reason  string `json:"reason"`
}

func (o Offender) String() string {
	return fmt.Sprintf("%s:%d: %s@%s: %s", o.File, o.Line, o.Name, o.Version, o.Reason)
}

// Result is the outcome of pinning one lockfile.
type Result struct {
	File string
	// Output is the rewritten lockfile; nil when there are offenders.
	Output    []byte
	Changed   int
	Unchanged int
	// Implicit counts the pinned entries that name no registry URL; the
	// client fetches them from its configured registry.
	Implicit  int
	Format    lockfile.Format
	Offenders []Offender
	// Outside lists the entries that could be pinned but still resolve to
	// another registry. The build gate counts them as offenders; Pin
	// rewrites them.
	Outside []Offender
	// Keys lists the state store keys of the artifacts the lockfile now
	// points at.
	Keys []string
}

// Pinner checks lockfile entries against the state store.
type Pinner struct {
	DB     *state.DB
	Mirror Mirror
}

// Pin rewrites the lockfile at path, whose content is data.
func (p *Pinner) Pin(path string, data []byte) (*Result, error) {
	lf, err := lockfile.Parse(path, data)
	if err != nil {
		return nil, err
	}
	res := &Result{File: path, Format: lf.Format}
	urls := map[string]string{}
	for _, e := range lf.Entries {
		if e.Bundled {
			continue
		}
		if e.Source != lockfile.SourceRegistry {
			if !isLocal(e.Source) {
				res.Offenders = append(res.Offenders, Offender{path, e.Line, e.Name, e.Version,
					fmt.Sprintf("resolves to %s, which is not a registry package; the internal network cannot fetch it", e.Resolved)})
			}
			continue
		}
		target, reason := p.check(e)
		if reason != "" {
			res.Offenders = append(res.Offenders, Offender{path, e.Line, e.Name, e.Version, reason})
			continue
		}
		urls[e.Name+"@"+e.Version] = target
		res.Keys = append(res.Keys, state.ArtifactKey(state.EcosystemNPM, e.Name, e.Version))
		// An entry without a resolved field installs from whatever registry
		// the client is configured with, which the client settings point at
		// the mirror.
		if e.Resolved == "" {
			res.Implicit++
		}
		if e.Resolved == "" || sameURL(e.Resolved, target) {
			res.Unchanged++
		} else {
			res.Changed++
			res.Outside = append(res.Outside, Offender{path, e.Line, e.Name, e.Version,
				fmt.Sprintf("resolves to %s, outside the mirror: run sluice pin %s", e.Resolved, path)})
		}
	}
	if len(res.Offenders) > 0 {
		return res, nil
	}
	out, err := lockfile.Rewrite(lf, data, func(e lockfile.Entry) (string, bool) {
		u, ok := urls[e.Name+"@"+e.Version]
		return u, ok
	})
	if err != nil {
		return nil, err
	}
	res.Output = out
	return res, nil
}

// Note returns what the client needs besides the lockfile to install the
// entries that name no registry URL from mirrorURL, or "" when every
// entry names its URL.
func (r *Result) Note(mirrorURL string) string {
	if r.Implicit == 0 {
		return ""
	}
	registry := strings.TrimSuffix(mirrorURL, "/") + "/"
	entries := fmt.Sprintf("%d %s", r.Implicit, map[bool]string{true: "entry names",
		false: "entries name"}[r.Implicit == 1])
	switch r.Format {
	case lockfile.YarnBerry:
		return fmt.Sprintf("%s no registry URL (yarn berry lockfiles leave it out), so pinning "+
			"only checked that the mirror has them: set npmRegistryServer: %q in .yarnrc.yml",
			entries, strings.TrimSuffix(mirrorURL, "/"))
	case lockfile.PNPMV6, lockfile.PNPMV9:
		return fmt.Sprintf("%s no registry URL (pnpm leaves it out for the configured "+
			"registry), so pinning only checked that the mirror has them: set registry=%s in .npmrc",
			entries, registry)
	}
	return fmt.Sprintf("%s no resolved URL, so pinning only checked that the mirror has them: "+
		"set registry=%s in .npmrc", entries, registry)
}

// check returns the mirror URL for an entry, or why it cannot be pinned
// and how to request it. Only approved artifacts reach signed, published
// and pinned, so an artifact in one of those states on this mirror passes.
func (p *Pinner) check(e lockfile.Entry) (string, string) {
	a, err := p.DB.Artifact(state.ArtifactKey(state.EcosystemNPM, e.Name, e.Version))
	if errors.Is(err, state.ErrNotFound) {
		return "", fmt.Sprintf("not mirrored: request it by listing %s@%s (or this lockfile) in a "+
			"manifest and running sluice sync", e.Name, e.Version)
	}
	if err != nil {
		return "", err.Error()
	}
	show := fmt.Sprintf("sluice approvals show %s@%s", e.Name, e.Version)
	switch {
	case a.State == state.StateRejected:
		return "", fmt.Sprintf("rejected (%s gives the reason); a rejection is final for this "+
			"version: choose another version", show)
	case a.State == state.StateAwaitingApproval:
		return "", fmt.Sprintf("awaiting approval (%s lists the approvers needed); once approved, "+
			"run sluice sync with --npm-mirror and pin again", show)
	case !state.Reached(a.State, state.StateApproved):
		return "", fmt.Sprintf("not approved (state %s): run sluice sync with --policy to scan "+
			"and evaluate it", a.State)
	case !state.Reached(a.State, state.StatePublished):
		return "", fmt.Sprintf("approved but not published yet (state %s): run sluice sync with "+
			"--npm-mirror", a.State)
	}
	if !slices.Contains(a.Mirrors, p.Mirror.URL()) {
		return "", fmt.Sprintf("not published to %s (published to %s): check --npm-mirror, or sync "+
			"with that mirror", p.Mirror.URL(), strings.Join(a.Mirrors, ", "))
	}
	if e.Integrity != "" && !sameIntegrity(e.Integrity, a.Integrity) {
		return "", fmt.Sprintf("lockfile integrity %s differs from the mirrored tarball's %s: "+
			"the lockfile was edited or made against another registry; regenerate it", e.Integrity, a.Integrity)
	}
	return p.Mirror.TarballURL(e.Name, e.Version), ""
}

// sameIntegrity compares the sha512 entries of two integrity strings. A
// lockfile that records only sha1 cannot be compared and is accepted,
// because the tarball was checked against it on fetch.
func sameIntegrity(lock, mirrored string) bool {
	want := ""
	for _, f := range strings.Fields(lock) {
		if strings.HasPrefix(f, "sha512-") {
			want = f
		}
	}
	return want == "" || strings.Contains(mirrored, want)
}

// isLocal reports whether an entry comes from the project itself, which
// needs no registry. A yarn berry patch entry counts, because the package
// it patches is an entry of its own.
func isLocal(s lockfile.Source) bool {
	return s == lockfile.SourceFile || s == lockfile.SourceLink ||
		s == lockfile.SourceWorkspace || s == lockfile.SourcePatch
}

// sameURL ignores the "#sha1" fragment yarn appends.
func sameURL(resolved, target string) bool {
	base, _, _ := strings.Cut(resolved, "#")
	return base == target
}

// MarkPinned moves the artifacts a pinned lockfile points at from
// published to pinned. Artifacts pinned before stay as they are.
func (p *Pinner) MarkPinned(res *Result, actor string) error {
	var errs []error
	for _, key := range res.Keys {
		a, err := p.DB.Artifact(key)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if a.State != state.StatePublished {
			continue
		}
		_, err = p.DB.Transition(key, state.Change{To: state.StatePinned, Actor: actor,
			Evidence: map[string]string{"lockfile": res.File}})
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Digest returns the sha256 of pinned output, for the ledger.
func Digest(data []byte) string {
	sum := sha256.Sum256(data)
	return "sha256:" + hex.EncodeToString(sum[:])
}
