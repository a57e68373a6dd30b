package npm

import (
	"context"
	"crypto/sha1"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/sluice-dev/sluice/ingest/fetch"
	"github.com/sluice-dev/sluice/ingest/state"
	"github.com/sluice-dev/sluice/internal/npmfixture"
	"github.com/sluice-dev/sluice/internal/verdacciotest"
)

// artifact builds a tarball for name@version whose package.json carries
// marker, and returns the artifact and a function opening the tarball.
func artifact(t *testing.T, name, version, marker string, tags ...string) (*state.Artifact, func() (*os.File, error)) {
	t.Helper()
	tgz, err := npmfixture.BuildTarball(map[string]any{"name": name, "version": version, "description": marker}, nil)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "package.tgz")
	if err := os.WriteFile(path, tgz, 0o644); err != nil {
		t.Fatal(err)
	}
	s512, s1 := sha512.Sum512(tgz), sha1.Sum(tgz)
	a := &state.Artifact{Ecosystem: state.EcosystemNPM, Name: name, Version: version, Tags: tags,
		Integrity: "sha512-" + base64.StdEncoding.EncodeToString(s512[:]), Shasum: hex.EncodeToString(s1[:])}
	return a, func() (*os.File, error) { return os.Open(path) }
}

func mirrorDocument(t *testing.T, base, name string) (tags map[string]string, integrity map[string]string) {
	t.Helper()
	resp, err := http.Get(base + "/" + escapeName(name))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var doc struct {
		DistTags map[string]string `json:"dist-tags"`
		Versions map[string]struct {
			Dist struct{ Integrity string } `json:"dist"`
		} `json:"versions"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
		t.Fatal(err)
	}
	integrity = map[string]string{}
	for v, d := range doc.Versions {
		integrity[v] = d.Dist.Integrity
	}
	return doc.DistTags, integrity
}

func TestPublishWithPasswordLogin(t *testing.T) {
	v := verdacciotest.Start(t)
	p, err := New(v.URL, Auth{Username: v.User, Password: v.Password}, fetch.New())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	a, open := artifact(t, "@sluice-test/widget", "1.0.0", "first", "latest")
	present, err := p.Publish(ctx, a, open)
	if err != nil || present {
		t.Fatalf("first publish: present %v, err %v", present, err)
	}
	present, err = p.Publish(ctx, a, open)
	if err != nil || !present {
		t.Fatalf("second publish of the same bytes: present %v, err %v", present, err)
	}
	b, openB := artifact(t, "@sluice-test/widget", "2.0.0-rc.1", "second", "next")
	if _, err := p.Publish(ctx, b, openB); err != nil {
		t.Fatal(err)
	}
	if err := p.SetTags(ctx, b.Name, map[string]string{"latest": "1.0.0", "next": "2.0.0-rc.1", "stable": "1.0.0"}); err != nil {
		t.Fatal(err)
	}
	tags, integrity := mirrorDocument(t, v.URL, a.Name)
	if integrity["1.0.0"] != a.Integrity || integrity["2.0.0-rc.1"] != b.Integrity {
		t.Errorf("mirror integrity %v, want %s and %s", integrity, a.Integrity, b.Integrity)
	}
	want := map[string]string{"latest": "1.0.0", "next": "2.0.0-rc.1", "stable": "1.0.0"}
	for tag, version := range want {
		if tags[tag] != version {
			t.Errorf("dist-tag %s = %q, want %s (all: %v)", tag, tags[tag], version, tags)
		}
	}
}

func TestPublishConflictingBytes(t *testing.T) {
	v := verdacciotest.Start(t)
	p, err := New(v.URL, Auth{Token: v.Token}, fetch.New())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	a, open := artifact(t, "sluice-conflict", "1.0.0", "original")
	if _, err := p.Publish(ctx, a, open); err != nil {
		t.Fatal(err)
	}
	other, openOther := artifact(t, "sluice-conflict", "1.0.0", "altered")
	_, err = p.Publish(ctx, other, openOther)
	if !errors.Is(err, ErrConflict) {
		t.Fatalf("publishing other bytes under an existing version: err = %v, want ErrConflict", err)
	}
	if _, integrity := mirrorDocument(t, v.URL, a.Name); integrity["1.0.0"] != a.Integrity {
		t.Error("the mirror's original version was replaced")
	}
}

func TestNewRejectsBadSettings(t *testing.T) {
	for _, tt := range []struct {
		url  string
		auth Auth
	}{
		{"ftp://mirror", Auth{}},
		{"mirror.internal:4873", Auth{}},
		{"http://mirror.internal", Auth{Username: "sluice"}},
	} {
		if _, err := New(tt.url, tt.auth, fetch.New()); err == nil {
			t.Errorf("New(%q, %+v) succeeded", tt.url, tt.auth)
		}
	}
}
