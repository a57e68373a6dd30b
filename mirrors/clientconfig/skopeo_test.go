package clientconfig

import (
	"encoding/json"
	"io"
	"log"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/registry"
)

// TestSkopeoReadsRegistriesConf has skopeo, which reads registries.conf
// through the same library as CRI-O and Podman, inspect images by their
// upstream names; the generated file sends it to a registry on loopback.
func TestSkopeoReadsRegistriesConf(t *testing.T) {
	if _, err := exec.LookPath("skopeo"); err != nil {
		t.Skip("skopeo is not installed (Debian: apt-get install skopeo); registries.conf is checked by TestGeneratedFilesParse only")
	}
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")

	e := Endpoints{OCI: srv.URL, Upstreams: []Upstream{{Host: "docker.io"}, {Host: "ghcr.io", Project: "github"}}}
	files, err := Generate(e)
	if err != nil {
		t.Fatal(err)
	}
	// containers/image reads $HOME/.config/containers/registries.conf in
	// place of /etc/containers/registries.conf when it exists.
	home := t.TempDir()
	conf := filepath.Join(home, ".config", "containers")
	for _, f := range files {
		if f.Path == "registries.conf" {
			if err := Write(conf, []File{f}); err != nil {
				t.Fatal(err)
			}
		}
	}

	tests := []struct{ upstreamRef, mirrorRef string }{
		{"docker.io/library/app:1.0", host + "/docker.io/library/app:1.0"},
		{"app:1.1", host + "/docker.io/library/app:1.1"},
		{"ghcr.io/acme/tool:2.0", host + "/github/acme/tool:2.0"},
	}
	for _, tt := range tests {
		digest := pushRandomImage(t, tt.mirrorRef)

		// --no-tags, because listing tags asks the upstream itself.
		inspect := exec.Command("skopeo", "inspect", "--no-tags", "--no-creds", "docker://"+tt.upstreamRef)
		inspect.Env = append(loopbackOnlyEnv(), "HOME="+home)
		output, err := inspect.Output()
		if err != nil {
			var stderr []byte
			if ee, ok := err.(*exec.ExitError); ok {
				stderr = ee.Stderr
			}
			t.Errorf("skopeo inspect %s: %v\n%s", tt.upstreamRef, err, stderr)
			continue
		}
		var info struct{ Digest string }
		if err := json.Unmarshal(output, &info); err != nil {
			t.Fatal(err)
		}
		if info.Digest != digest {
			t.Errorf("skopeo inspect %s: digest %s, want %s", tt.upstreamRef, info.Digest, digest)
		}
	}
}
