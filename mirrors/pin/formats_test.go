package pin

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluice-dev/sluice/ingest/state"
	"github.com/sluice-dev/sluice/internal/storetest"
)

const berryLock = `__metadata:
  version: 8
  cacheKey: 10c0

"a@npm:^1.0.0":
  version: 1.0.0
  resolution: "a@npm:1.0.0"
  checksum: 10c0/0123
  languageName: node
  linkType: hard

"a@patch:a@npm%3A^1.0.0#~/.yarn/patches/a.patch":
  version: 1.0.0
  resolution: "a@patch:a@npm%3A1.0.0#~/.yarn/patches/a.patch::version=1.0.0&hash=abc"
  languageName: node
  linkType: hard

"app@workspace:.":
  version: 0.0.0-use.local
  resolution: "app@workspace:."
  languageName: unknown
  linkType: soft

"t@https://files.example.com/t/-/t-1.0.0.tgz":
  version: 1.0.0
  resolution: "t@https://files.example.com/t/-/t-1.0.0.tgz"
  languageName: node
  linkType: hard
`

const pnpmLock = `lockfileVersion: '9.0'

packages:

  a@1.0.0:
    resolution: {integrity: sha512-AAAA}

  t@1.0.0:
    resolution: {integrity: sha512-TTTT, tarball: https://npm.corp.example/t/-/t-1.0.0.tgz}
`

// TestPinYAMLFormats pins a berry and a pnpm lockfile: the entry without a
// URL is checked and counted as implicit, the tarball URL moves to the
// mirror, and the patch and workspace entries need nothing.
func TestPinYAMLFormats(t *testing.T) {
	db, err := state.Open(filepath.Join(t.TempDir(), "sluice.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	toPublished := []state.State{state.StateResolved, state.StateFetched, state.StateScanned,
		state.StateEvaluated, state.StateApproved, state.StateSigned, state.StatePublished}
	storetest.SeedNPM(t, db, "a", "sha512-AAAA", "http://mirror.internal/", toPublished...)
	storetest.SeedNPM(t, db, "t", "sha512-TTTT", "http://mirror.internal/", toPublished...)

	tests := []struct {
		file, data, wantURL, wantNote string
	}{
		{"yarn.lock", berryLock, `resolution: "t@http://mirror.internal/t/-/t-1.0.0.tgz"`,
			`1 entry names no registry URL (yarn berry lockfiles leave it out), so pinning only ` +
				`checked that the mirror has them: set npmRegistryServer: "http://mirror.internal" in .yarnrc.yml`},
		{"pnpm-lock.yaml", pnpmLock, "tarball: http://mirror.internal/t/-/t-1.0.0.tgz}",
			"1 entry names no registry URL (pnpm leaves it out for the configured registry), so " +
				"pinning only checked that the mirror has them: set registry=http://mirror.internal/ in .npmrc"},
	}
	p := &Pinner{DB: db, Mirror: fakeMirror{}}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			res, err := p.Pin(tt.file, []byte(tt.data))
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Offenders) > 0 {
				t.Fatalf("offenders: %v", res.Offenders)
			}
			if res.Changed != 1 || res.Unchanged != 1 || res.Implicit != 1 {
				t.Errorf("changed %d, unchanged %d, implicit %d; want 1, 1, 1", res.Changed,
					res.Unchanged, res.Implicit)
			}
			if !strings.Contains(string(res.Output), tt.wantURL) {
				t.Errorf("output lacks %q:\n%s", tt.wantURL, res.Output)
			}
			if got := res.Note(fakeMirror{}.URL()); got != tt.wantNote {
				t.Errorf("note = %q\nwant %q", got, tt.wantNote)
			}
			again, err := p.Pin(tt.file, res.Output)
			if err != nil || string(again.Output) != string(res.Output) || again.Changed != 0 {
				t.Errorf("pinning twice: %v, changed %d", err, again.Changed)
			}
		})
	}
}

// TestPinYAMLOffenders lists, with their lines, the berry entries that are
// not mirrored.
func TestPinYAMLOffenders(t *testing.T) {
	db, err := state.Open(filepath.Join(t.TempDir(), "sluice.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	res, err := (&Pinner{DB: db, Mirror: fakeMirror{}}).Pin("yarn.lock", []byte(berryLock))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"yarn.lock:7: a@1.0.0: not mirrored",
		"yarn.lock:26: t@1.0.0: not mirrored",
	}
	if len(res.Offenders) != len(want) {
		t.Fatalf("offenders %v, want %d", res.Offenders, len(want))
	}
	for i, o := range res.Offenders {
		if !strings.HasPrefix(o.String(), want[i]) {
			t.Errorf("offender %d = %q, want prefix %q", i, o, want[i])
		}
	}
	if res.Output != nil {
		t.Error("Pin produced output although entries offend")
	}
}
