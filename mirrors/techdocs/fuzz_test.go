package techdocs

import (
	"bytes"
	"path/filepath"
	"testing"
)

// FuzzPage checks that a page whose references the mirror lacks comes
// out byte for byte as it went in, whatever the markup.
func FuzzPage(f *testing.F) {
	f.Add([]byte(`<link rel="stylesheet" href="https://cdn.example/a.css"><style>@import "x.css";</style>`))
	f.Add([]byte(`<img srcset="https://cdn.example/a.png 1x,, b.png 2x" style="background:url(//x.example/y)">`))
	f.Add([]byte(`<script src=https://cdn.example/x.js></script><p>text & more</p><!-- c -->`))
	m, err := OpenMirror(filepath.Join("testdata", "mirror"))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		l := &localizer{site: t.TempDir(), opts: Options{Mirror: m, BaseURL: "https://files.internal/"},
			copied: map[string]copyResult{}}
		out := l.page("index.html", data)
		if len(l.report.Localized) == 0 && len(l.report.Removed) == 0 && !bytes.Equal(out, data) {
			t.Errorf("page changed without a localized reference:\n%q\n%q", data, out)
		}
	})
}
