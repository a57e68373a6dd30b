package scanners

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/ingest/fetch"
	"github.com/sluice-dev/sluice/ingest/npm"
	"github.com/sluice-dev/sluice/ingest/state"
	"github.com/sluice-dev/sluice/internal/npmfixture"
)

// mitLicense is the MIT license text as the Open Source Initiative
// publishes it.
const mitLicense = `MIT License

Copyright (c) 2026 Example Author

Permission is hereby granted, free of charge, to any person obtaining a copy
of this software and associated documentation files (the "Software"), to deal
in the Software without restriction, including without limitation the rights
to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
copies of the Software, and to permit persons to whom the Software is
furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all
copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE
SOFTWARE.
`

func findingIDs(fs []Finding, kind Kind) []string {
	var out []string
	for _, f := range fs {
		if f.Kind == kind {
			out = append(out, f.ID)
		}
	}
	return out
}

func TestNPMPackageFindings(t *testing.T) {
	tests := []struct {
		name        string
		manifest    string
		bindingGyp  bool
		wantScripts []string
		wantNative  []string
	}{
		{name: "plain", manifest: `{"name":"a","version":"1.0.0","scripts":{"test":"node t.js"}}`},
		{name: "postinstall", manifest: `{"name":"a","version":"1.0.0","scripts":{"postinstall":"node x.js"}}`,
			wantScripts: []string{"postinstall"}},
		{name: "all three", manifest: `{"name":"a","version":"1.0.0","scripts":{"install":"i",
			"preinstall":"p","postinstall":"q"}}`, wantScripts: []string{"preinstall", "install", "postinstall"}},
		{name: "implicit node-gyp", manifest: `{"name":"a","version":"1.0.0"}`, bindingGyp: true,
			wantNative: []string{"binding.gyp"}},
		{name: "gypfile", manifest: `{"name":"a","version":"1.0.0","gypfile":true}`,
			wantNative: []string{"gypfile"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "package.json"), []byte(tt.manifest), 0o644); err != nil {
				t.Fatal(err)
			}
			if tt.bindingGyp {
				os.WriteFile(filepath.Join(dir, "binding.gyp"), []byte(`{"targets":[]}`), 0o644)
			}
			got, err := npmPackageFindings(dir)
			if err != nil {
				t.Fatal(err)
			}
			if ids := findingIDs(got, KindInstallScript); !slices.Equal(ids, tt.wantScripts) {
				t.Errorf("install scripts = %v, want %v", ids, tt.wantScripts)
			}
			if ids := findingIDs(got, KindNativeBuild); !slices.Equal(ids, tt.wantNative) {
				t.Errorf("native builds = %v, want %v", ids, tt.wantNative)
			}
		})
	}
}

// fakeUpstream returns what its maps contain.
type fakeUpstream struct {
	exists    map[string]bool
	published map[string]time.Time
}

func (f fakeUpstream) Exists(_ context.Context, name string) (bool, error) {
	return f.exists[name], nil
}

func (f fakeUpstream) PublishTime(_ context.Context, name, version string) (time.Time, error) {
	if name == "@acme/broken" {
		return time.Time{}, errors.New("connection reset")
	}
	t, ok := f.published[name+"@"+version]
	if !ok {
		return time.Time{}, ErrNoPublishTime
	}
	return t, nil
}

func TestUpstreamChecks(t *testing.T) {
	now := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	up := fakeUpstream{
		exists: map[string]bool{"@acme/tools": true},
		published: map[string]time.Time{"@acme/tools@1.0.0": now.Add(-30 * 24 * time.Hour),
			"@acme/private@1.0.0": now.Add(-30 * 24 * time.Hour), "left-pad@2.0.0": now.Add(-2 * time.Hour),
			"left-pad@1.0.0": now.Add(-400 * 24 * time.Hour)},
	}
	checks := &UpstreamChecks{Upstream: up, InternalScopes: []string{"@acme"}, MinReleaseAge: 14 * 24 * time.Hour}
	tests := []struct {
		name, version string
		want          []Kind
		wantErr       bool
	}{
		{"@acme/tools", "1.0.0", []Kind{KindDependencyConfusion}, false},
		{"@acme/private", "1.0.0", nil, false},
		{"left-pad", "2.0.0", []Kind{KindReleaseAge}, false},
		{"left-pad", "1.0.0", nil, false},
		{"left-pad", "3.0.0", []Kind{KindReleaseAge}, false},
		{"@acme/broken", "1.0.0", nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name+"@"+tt.version, func(t *testing.T) {
			got, err := checks.findings(context.Background(), tt.name, tt.version, now)
			if (err != nil) != tt.wantErr {
				t.Fatalf("error = %v, want error %v", err, tt.wantErr)
			}
			var kinds []Kind
			for _, f := range got {
				kinds = append(kinds, f.Kind)
			}
			if !slices.Equal(kinds, tt.want) {
				t.Errorf("findings = %+v, want kinds %v", got, tt.want)
			}
		})
	}
}

func TestUpstreamSignatureFindings(t *testing.T) {
	checks := &UpstreamChecks{Upstream: fakeUpstream{},
		Signatures: func(_ context.Context, name, version string) (string, string, error) {
			switch name {
			case "signed":
				return "", "", nil
			case "broken":
				return "", "", errors.New("connection reset")
			}
			return name, "detail of " + name, nil
		}}
	tests := []struct {
		name    string
		wantID  string
		wantErr bool
	}{
		{"signed", "", false},
		{"missing", "missing", false},
		{"invalid", "invalid", false},
		{"broken", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := checks.findings(context.Background(), tt.name, "1.0.0", time.Now())
			if (err != nil) != tt.wantErr {
				t.Fatalf("error = %v, want error %v", err, tt.wantErr)
			}
			if tt.wantID == "" {
				if len(got) != 0 {
					t.Errorf("findings = %+v, want none", got)
				}
				return
			}
			if len(got) != 1 || got[0].Kind != KindUpstreamSignature || got[0].ID != tt.wantID {
				t.Fatalf("findings = %+v, want one %s finding %q", got, KindUpstreamSignature, tt.wantID)
			}
			if got[0].Detail != "detail of "+tt.name {
				t.Errorf("detail = %q", got[0].Detail)
			}
		})
	}
}

func TestNPMUpstreamReadsPublishTime(t *testing.T) {
	fx := npmfixture.New(t)
	raw, err := os.ReadFile(filepath.Join(registryDir, "minimist", "packument.json"))
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	doc["time"] = map[string]string{"created": "2013-06-25T00:00:00.000Z", "1.2.6": "2022-03-21T23:02:55.456Z"}
	patched, _ := json.Marshal(doc)
	fx.SetPackument("minimist", patched)
	reg, err := npm.NewRegistry(fx.URL, "", fetch.New(fetch.WithRetries(0)))
	if err != nil {
		t.Fatal(err)
	}
	up := NPMUpstream{Registry: reg}
	got, err := up.PublishTime(context.Background(), "minimist", "1.2.6")
	if err != nil {
		t.Fatal(err)
	}
	if want := time.Date(2022, 3, 21, 23, 2, 55, 456e6, time.UTC); !got.Equal(want) {
		t.Errorf("publish time = %s, want %s", got, want)
	}
	if _, err := up.PublishTime(context.Background(), "minimist", "1.2.5"); !errors.Is(err, ErrNoPublishTime) {
		t.Errorf("a version without a time entry: %v, want ErrNoPublishTime", err)
	}
	for name, want := range map[string]bool{"minimist": true, "@acme/not-there": false} {
		if got, err := up.Exists(context.Background(), name); err != nil || got != want {
			t.Errorf("Exists(%s) = %v, %v, want %v", name, got, err, want)
		}
	}
}

func TestScanFindsScriptsAndLicenses(t *testing.T) {
	_, db := openDemoDB(t)
	manifest := map[string]any{"name": "native-thing", "version": "1.0.0", "license": "MIT",
		"scripts": map[string]string{"postinstall": "node-gyp rebuild"}}
	tarball, err := npmfixture.BuildTarball(manifest, map[string][]byte{
		"LICENSE": []byte(mitLicense), "binding.gyp": []byte(`{"targets":[]}`), "index.js": []byte("")})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "native-thing-1.0.0.tgz")
	if err := os.WriteFile(path, tarball, 0o644); err != nil {
		t.Fatal(err)
	}
	s := &Scanner{DB: db, Blobs: newBlobStore(t), TempDir: t.TempDir()}
	a := &state.Artifact{Ecosystem: state.EcosystemNPM, Name: "native-thing", Version: "1.0.0"}
	r, err := s.ScanNPM(context.Background(), a, openFile(path))
	if err != nil {
		t.Fatal(err)
	}
	if ids := findingIDs(r.Findings, KindInstallScript); !slices.Equal(ids, []string{"postinstall"}) {
		t.Errorf("install scripts = %v", ids)
	}
	if ids := findingIDs(r.Findings, KindNativeBuild); !slices.Equal(ids, []string{"binding.gyp"}) {
		t.Errorf("native builds = %v", ids)
	}
	if ids := findingIDs(r.Findings, KindLicense); !slices.Equal(ids, []string{"MIT"}) {
		t.Fatalf("licenses = %v, want MIT", ids)
	}
	for _, f := range r.Findings {
		if f.Kind == KindLicense && f.Detail != licenseDeclared+" and "+licenseDetected {
			t.Errorf("MIT detail = %q, want it declared and detected", f.Detail)
		}
	}
}
