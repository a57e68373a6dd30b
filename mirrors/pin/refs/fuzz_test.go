package refs

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// anyMirror pins every reference, so fuzzing reaches the rewriting.
type anyMirror struct{}

func (anyMirror) Lookup(ref string) (string, bool, error) {
	r, err := Normalize(ref)
	if err != nil {
		return "", false, err
	}
	return mirrorOf(r.String())[r.String()], true, nil
}

// fuzzPin checks that pinning never fails on its own output and that
// pinning the output again changes nothing.
func fuzzPin(t *testing.T, kind Kind, data []byte) {
	p := &Pinner{Mirror: anyMirror{}, Registry: internal}
	res, err := p.Pin("input", data, kind)
	if err != nil || len(res.Offenders) > 0 {
		return
	}
	again, err := p.Pin("input", res.Output, kind)
	if err != nil {
		t.Fatalf("pinning the output failed: %v\ninput:\n%q\noutput:\n%q", err, data, res.Output)
	}
	if len(again.Offenders) > 0 || again.Changed != 0 || !bytes.Equal(again.Output, res.Output) {
		t.Fatalf("pinning twice changed the file\ninput:\n%q\nfirst:\n%q\nsecond:\n%q\noffenders: %v",
			data, res.Output, again.Output, again.Offenders)
	}
}

func addSeeds(f *testing.F, dir string) {
	inputs, err := filepath.Glob(filepath.Join("testdata", dir, "input", "*"))
	if err != nil {
		f.Fatal(err)
	}
	for _, path := range inputs {
		data, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
}

func FuzzPinDockerfile(f *testing.F) {
	addSeeds(f, "dockerfile")
	f.Add([]byte("FROM a\\\n\\\n b AS c\nCOPY --from=c --from=d / /\nRUN <<A <<-B\nA\n\tB\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzPin(t, KindDockerfile, data)
	})
}

func FuzzPinYAML(f *testing.F) {
	for _, dir := range []string{"kubernetes", "helm", "backstage"} {
		addSeeds(f, dir)
	}
	f.Add([]byte("a: &x {image: 'n:1'}\nb: *x\n---\nimage: {repository: r, tag: 1, digest: ''}\n"))
	f.Add([]byte("image: &a !!str 'n:1'\nsidecarImage: !!str &b \"n:2\"\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, kind := range []Kind{KindKubernetes, KindHelm, KindBackstage} {
			fuzzPin(t, kind, data)
		}
	})
}
