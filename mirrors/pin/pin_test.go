package pin

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluice-dev/sluice/ingest/state"
	"github.com/sluice-dev/sluice/internal/storetest"
)

type fakeMirror struct{}

func (fakeMirror) URL() string { return "http://mirror.internal/" }
func (fakeMirror) TarballURL(name, version string) string {
	return "http://mirror.internal/" + name + "/-/" + filepath.Base(name) + "-" + version + ".tgz"
}

const lock = `{
  "name": "app",
  "lockfileVersion": 3,
  "requires": true,
  "packages": {
    "": {"name": "app", "dependencies": {"a": "1.0.0"}},
    "node_modules/a": {
      "version": "1.0.0",
      "resolved": "https://registry.npmjs.org/a/-/a-1.0.0.tgz",
      "integrity": "sha512-AAAA"
    },
    "node_modules/b": {
      "version": "1.0.0",
      "resolved": "https://registry.npmjs.org/b/-/b-1.0.0.tgz",
      "integrity": "sha512-BBBB"
    },
    "node_modules/c": {
      "version": "1.0.0",
      "resolved": "https://registry.npmjs.org/c/-/c-1.0.0.tgz",
      "integrity": "sha512-CCCC"
    },
    "node_modules/d": {
      "version": "1.0.0",
      "resolved": "https://registry.npmjs.org/d/-/d-1.0.0.tgz",
      "integrity": "sha512-DDDD"
    },
    "node_modules/e": {
      "version": "1.0.0",
      "resolved": "https://registry.npmjs.org/e/-/e-1.0.0.tgz",
      "integrity": "sha512-EEEE"
    },
    "node_modules/f": {
      "version": "1.0.0",
      "resolved": "https://registry.npmjs.org/f/-/f-1.0.0.tgz",
      "integrity": "sha512-FFFF"
    },
    "node_modules/g": {
      "version": "1.0.0",
      "resolved": "git+ssh://git@github.com/org/g.git#0123456789abcdef0123456789abcdef01234567"
    }
  }
}
`

func TestPinListsEveryOffender(t *testing.T) {
	db, err := state.Open(filepath.Join(t.TempDir(), "sluice.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	toPublished := []state.State{state.StateResolved, state.StateFetched, state.StateScanned, state.StateEvaluated,
		state.StateApproved, state.StateSigned, state.StatePublished}
	storetest.SeedNPM(t, db, "a", "sha512-AAAA", "http://mirror.internal/", toPublished...)
	storetest.SeedNPM(t, db, "b", "sha512-XXXX", "http://mirror.internal/", toPublished...)
	storetest.SeedNPM(t, db, "f", "sha512-FFFF", "http://other-mirror.internal/", toPublished...)
	storetest.SeedNPM(t, db, "c", "sha512-CCCC", "", state.StateResolved, state.StateFetched, state.StateScanned,
		state.StateEvaluated, state.StateRejected)
	storetest.SeedNPM(t, db, "d", "sha512-DDDD", "", state.StateResolved, state.StateFetched)

	res, err := (&Pinner{DB: db, Mirror: fakeMirror{}}).Pin("package-lock.json", []byte(lock))
	if err != nil {
		t.Fatal(err)
	}
	if res.Output != nil {
		t.Error("Pin produced output although entries offend")
	}
	want := map[string]string{
		"b": "differs from the mirrored tarball's",
		"c": "rejected (sluice approvals show c@1.0.0 gives the reason)",
		"d": "not approved (state fetched): run sluice sync with --policy",
		"e": "not mirrored: request it by listing e@1.0.0 (or this lockfile) in a manifest",
		"f": "not published to http://mirror.internal/ (published to http://other-mirror.internal/)",
		"g": "not a registry package",
	}
	got := map[string]string{}
	for _, o := range res.Offenders {
		got[o.Name] = o.String()
	}
	for name, reason := range want {
		if !strings.Contains(got[name], reason) {
			t.Errorf("offender %s = %q, want it to mention %q", name, got[name], reason)
		}
	}
	if _, ok := got["a"]; ok || len(got) != len(want) {
		t.Errorf("offenders %v, want exactly %v", got, want)
	}
}

func TestPinRewritesAndIsStable(t *testing.T) {
	db, err := state.Open(filepath.Join(t.TempDir(), "sluice.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	storetest.SeedNPM(t, db, "a", "sha512-AAAA", "http://mirror.internal/", state.StateResolved, state.StateFetched, state.StateScanned,
		state.StateEvaluated, state.StateApproved, state.StateSigned, state.StatePublished)
	one := `{
  "lockfileVersion": 3,
  "packages": {
    "": {"name": "app"},
    "node_modules/a": {
      "version": "1.0.0",
      "resolved": "https://registry.npmjs.org/a/-/a-1.0.0.tgz",
      "integrity": "sha512-AAAA"
    }
  }
}
`
	p := &Pinner{DB: db, Mirror: fakeMirror{}}
	res, err := p.Pin("package-lock.json", []byte(one))
	if err != nil || len(res.Offenders) > 0 {
		t.Fatalf("pin: %v %v", err, res.Offenders)
	}
	want := strings.Replace(one, "https://registry.npmjs.org/", "http://mirror.internal/", 1)
	if string(res.Output) != want {
		t.Errorf("pinned:\n%s\nwant:\n%s", res.Output, want)
	}
	if res.Changed != 1 || res.Unchanged != 0 {
		t.Errorf("changed %d unchanged %d", res.Changed, res.Unchanged)
	}
	again, err := p.Pin("package-lock.json", res.Output)
	if err != nil || string(again.Output) != want || again.Changed != 0 || again.Unchanged != 1 {
		t.Errorf("pinning twice: %v changed %d, output equal %v", err, again.Changed, string(again.Output) == want)
	}
	if err := p.MarkPinned(res, "test"); err != nil {
		t.Fatal(err)
	}
	if a, _ := db.Artifact("npm/a@1.0.0"); a.State != state.StatePinned {
		t.Errorf("artifact state after MarkPinned = %s", a.State)
	}
}

// TestGateReasons checks each state a build gate meets, and that an
// approved and published entry still resolving upstream is listed as
// outside the mirror.
func TestGateReasons(t *testing.T) {
	db, err := state.Open(filepath.Join(t.TempDir(), "sluice.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	evaluated := []state.State{state.StateResolved, state.StateFetched, state.StateScanned,
		state.StateEvaluated}
	storetest.SeedNPM(t, db, "a", "sha512-AAAA", "http://mirror.internal/", append(evaluated, state.StateApproved,
		state.StateSigned, state.StatePublished, state.StatePinned)...)
	storetest.SeedNPM(t, db, "b", "sha512-BBBB", "", append(evaluated, state.StateAwaitingApproval)...)
	storetest.SeedNPM(t, db, "c", "sha512-CCCC", "", append(evaluated, state.StateRejected)...)
	storetest.SeedNPM(t, db, "d", "sha512-DDDD", "", append(evaluated, state.StateApproved, state.StateSigned)...)
	tests := []struct {
		name, want string
	}{
		{"b", "awaiting approval (sluice approvals show b@1.0.0 lists the approvers needed)"},
		{"c", "rejected (sluice approvals show c@1.0.0 gives the reason)"},
		{"d", "approved but not published yet (state signed): run sluice sync with --npm-mirror"},
		{"e", "not mirrored: request it"},
	}
	res, err := (&Pinner{DB: db, Mirror: fakeMirror{}}).Pin("package-lock.json", []byte(lock))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, o := range res.Offenders {
		got[o.Name] = o.Reason
	}
	for _, tt := range tests {
		if !strings.Contains(got[tt.name], tt.want) {
			t.Errorf("offender %s = %q, want it to mention %q", tt.name, got[tt.name], tt.want)
		}
	}
	if _, ok := got["a"]; ok {
		t.Errorf("pinned entry a listed as offender: %s", got["a"])
	}
	if len(res.Outside) != 1 || res.Outside[0].Name != "a" {
		t.Fatalf("outside = %v, want only a", res.Outside)
	}
	want := "resolves to https://registry.npmjs.org/a/-/a-1.0.0.tgz, outside the mirror: run sluice pin package-lock.json"
	if res.Outside[0].Reason != want {
		t.Errorf("outside reason = %q, want %q", res.Outside[0].Reason, want)
	}
}
