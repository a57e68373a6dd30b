package npm

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/ingest/fetch"
	"github.com/sluice-dev/sluice/internal/npmfixture"
)

func testRegistry(t *testing.T, upstream *npmfixture.Registry, token string) *Registry {
	t.Helper()
	client := fetch.New(fetch.WithBackoff(time.Millisecond, 10*time.Millisecond), fetch.WithRetries(3))
	r, err := NewRegistry(upstream.URL, token, client)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func keys(res *Result) []string {
	var out []string
	for _, p := range res.Packages {
		out = append(out, p.Key())
	}
	return out
}

func TestResolveClosure(t *testing.T) {
	upstream := npmfixture.New(t)
	tests := []struct {
		name string
		req  Request
		opts Options
		want []string
	}{
		{"exact with dependencies", Request{Name: "chalk", Spec: "4.1.2"}, Options{},
			[]string{"ansi-styles@4.3.0", "chalk@4.1.2", "color-convert@2.0.1", "color-name@1.1.4",
				"has-flag@4.0.0", "supports-color@7.2.0"}},
		{"range prefers latest tag", Request{Name: "lodash", Spec: "^4.17.0"}, Options{},
			[]string{"lodash@4.17.21"}},
		{"range below latest", Request{Name: "lodash", Spec: "<4.17.21"}, Options{},
			[]string{"lodash@4.17.20"}},
		{"dist-tag", Request{Name: "minimist", Spec: "latest"}, Options{}, []string{"minimist@1.2.6"}},
		{"default is latest", Request{Name: "is-number"}, Options{}, []string{"is-number@7.0.0"}},
		{"latest N", Request{Name: "lodash", Latest: 2}, Options{}, []string{"lodash@4.17.20", "lodash@4.17.21"}},
		{"prerelease excluded from ranges", Request{Name: "ms", Spec: ">=2.1.3"}, Options{},
			[]string{"ms@2.1.3"}},
		{"platform optional package kept", Request{Name: "chokidar", Spec: "3.5.3"}, Options{Optional: true},
			[]string{"anymatch@3.1.3", "binary-extensions@2.3.0", "braces@3.0.3", "chokidar@3.5.3",
				"fill-range@7.1.1", "fsevents@2.3.3", "glob-parent@5.1.2", "is-binary-path@2.1.0",
				"is-extglob@2.1.1", "is-glob@4.0.3", "is-number@7.0.0", "normalize-path@3.0.0",
				"picomatch@2.3.2", "readdirp@3.6.0", "to-regex-range@5.0.1"}},
		{"peer dependencies followed", Request{Name: "use-sync-external-store", Spec: "1.2.0"}, Options{Peer: true},
			[]string{"js-tokens@4.0.0", "loose-envify@1.4.0", "react@18.3.1", "use-sync-external-store@1.2.0"}},
		{"peer dependencies not followed", Request{Name: "use-sync-external-store", Spec: "1.2.0"}, Options{},
			[]string{"use-sync-external-store@1.2.0"}},
		{"lockfile entry stops the closure", Request{Name: "chalk", Spec: "4.1.2", NoDependencies: true}, Options{},
			[]string{"chalk@4.1.2"}},
		{"scoped", Request{Name: "@types/ms", Spec: "^0.7.0"}, Options{}, []string{"@types/ms@0.7.34"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := NewResolver(testRegistry(t, upstream, ""), tt.opts).Resolve(context.Background(), []Request{tt.req})
			if err != nil {
				t.Fatal(err)
			}
			if got := keys(res); !slices.Equal(got, tt.want) {
				t.Errorf("resolved %v\nwant     %v", got, tt.want)
			}
		})
	}
}

func TestResolveOptionalWithoutFollowing(t *testing.T) {
	upstream := npmfixture.New(t)
	res, err := NewResolver(testRegistry(t, upstream, ""), Options{}).Resolve(context.Background(),
		[]Request{{Name: "chokidar", Spec: "3.5.3"}})
	if err != nil {
		t.Fatal(err)
	}
	if slices.Contains(keys(res), "fsevents@2.3.3") {
		t.Error("fsevents resolved although optional dependencies are off")
	}
}

func TestResolveErrors(t *testing.T) {
	upstream := npmfixture.New(t)
	tests := []struct {
		name    string
		req     Request
		wantErr error
		wantMsg string
	}{
		{"unknown package", Request{Name: "no-such-package-sluice", Origin: "app.yaml:7"},
			ErrPackageNotFound, "app.yaml:7: package not found at http://127.0.0.1:"},
		{"range matches nothing", Request{Name: "lodash", Spec: "^5.0.0", Origin: "app.yaml:9"},
			ErrNoMatch, "app.yaml:9: no version matches; the latest version is 4.17.21"},
		{"exact version missing", Request{Name: "lodash", Spec: "4.17.99", Origin: "app.yaml:3"},
			ErrNoMatch, "app.yaml:3: no version matches"},
		{"git spec", Request{Name: "lodash", Spec: "git+https://example.invalid/x.git", Origin: "x"},
			ErrUnsupportedSpec, "registry packages only"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewResolver(testRegistry(t, upstream, ""), Options{}).Resolve(context.Background(), []Request{tt.req})
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("err = %q, want it to contain %q", err, tt.wantMsg)
			}
		})
	}
}

func TestResolveRetriesServerErrors(t *testing.T) {
	upstream := npmfixture.New(t)
	upstream.FailNext("/lodash", 2, http.StatusInternalServerError)
	res, err := NewResolver(testRegistry(t, upstream, ""), Options{}).Resolve(context.Background(),
		[]Request{{Name: "lodash", Spec: "4.17.21"}})
	if err != nil {
		t.Fatalf("resolve after two 500s: %v", err)
	}
	if got := keys(res); !slices.Equal(got, []string{"lodash@4.17.21"}) {
		t.Errorf("resolved %v", got)
	}
	if n := upstream.Requests("/lodash"); n != 3 {
		t.Errorf("upstream saw %d packument requests, want 3", n)
	}
}

func TestResolveSendsToken(t *testing.T) {
	upstream := npmfixture.New(t, npmfixture.WithToken("s3cret"))
	req := []Request{{Name: "is-number", Spec: "7.0.0"}}
	if _, err := NewResolver(testRegistry(t, upstream, ""), Options{}).Resolve(context.Background(), req); err == nil {
		t.Error("resolve without a token succeeded against a registry that requires one")
	}
	if _, err := NewResolver(testRegistry(t, upstream, "s3cret"), Options{}).Resolve(context.Background(), req); err != nil {
		t.Errorf("resolve with the token: %v", err)
	}
}

func TestResolveRejectsWrongLockfileIntegrity(t *testing.T) {
	upstream := npmfixture.New(t)
	req := Request{Name: "ms", Spec: "2.1.2", NoDependencies: true, Origin: "package-lock.json:251",
		Integrity: "sha512-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=="}
	_, err := NewResolver(testRegistry(t, upstream, ""), Options{}).Resolve(context.Background(), []Request{req})
	if !errors.Is(err, ErrIntegrity) {
		t.Fatalf("err = %v, want ErrIntegrity", err)
	}
	for _, want := range []string{"package-lock.json:251", "regenerate it"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}
}
