package clientconfig

import (
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// loopbackOnlyEnv is an environment whose proxy settings send every
// request that is not for loopback to a closed loopback port, so a client
// that ignores the generated files fails instead of reaching the upstream.
// Go clients (containerd, containers/image) never proxy loopback requests.
func loopbackOnlyEnv() []string {
	return []string{"PATH=" + os.Getenv("PATH"), "HTTP_PROXY=http://127.0.0.1:9", "HTTPS_PROXY=http://127.0.0.1:9"}
}

// pushRandomImage pushes a small random image to ref on a plain-HTTP
// registry and returns its manifest digest.
func pushRandomImage(t *testing.T, ref string) string {
	t.Helper()
	img, err := random.Image(512, 2)
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(parsed, img); err != nil {
		t.Fatalf("push %s: %v", ref, err)
	}
	digest, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return digest.String()
}

// startContainerd runs a containerd daemon with its own root, state and
// socket, and no CRI plugin, and returns its socket.
func startContainerd(t *testing.T) string {
	t.Helper()
	for _, bin := range []string{"containerd", "ctr"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Skipf("%s is not installed (Debian: apt-get install containerd); hosts.toml is checked by TestGeneratedFilesParse only", bin)
		}
	}
	if os.Geteuid() != 0 {
		t.Skip("containerd needs root")
	}
	// A short folder, because a unix socket path has at most 107 bytes.
	dir, err := os.MkdirTemp("", "ctrd")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	socket := filepath.Join(dir, "containerd.sock")
	config := fmt.Sprintf(`version = 2
root = %q
state = %q
disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.aufs",
  "io.containerd.snapshotter.v1.devmapper"]

[grpc]
  address = %q
`, filepath.Join(dir, "root"), filepath.Join(dir, "state"), socket)
	if err := os.WriteFile(filepath.Join(dir, "config.toml"), []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	logFile, err := os.Create(filepath.Join(dir, "containerd.log"))
	if err != nil {
		t.Fatal(err)
	}
	daemon := exec.Command("containerd", "--config", filepath.Join(dir, "config.toml"))
	daemon.Stdout, daemon.Stderr = logFile, logFile
	daemon.Env = []string{"PATH=" + os.Getenv("PATH")}
	if err := daemon.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		daemon.Process.Kill()
		daemon.Wait()
		logFile.Close()
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		if exec.Command("ctr", "--address", socket, "version").Run() == nil {
			return socket
		}
		if time.Now().After(deadline) {
			output, _ := os.ReadFile(logFile.Name())
			t.Fatalf("containerd did not start within 30s:\n%s", output)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestContainerdPullsThroughHosts has a real containerd fetch images named
// by their upstream registries, which resolve only through the generated
// hosts.toml files to a registry on loopback.
func TestContainerdPullsThroughHosts(t *testing.T) {
	socket := startContainerd(t)

	var mu sync.Mutex
	var paths []string
	reg := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		paths = append(paths, r.URL.Path)
		mu.Unlock()
		reg.ServeHTTP(w, r)
	}))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")

	e := Endpoints{OCI: srv.URL, Upstreams: []Upstream{{Host: "docker.io"}, {Host: "registry.invalid:5000"}}}
	files, err := Generate(e)
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	if err := Write(out, files); err != nil {
		t.Fatal(err)
	}

	tests := []struct{ upstreamRef, mirrorRef string }{
		{"docker.io/library/app:1.0", host + "/docker.io/library/app:1.0"},
		{"registry.invalid:5000/team/app:2.0", host + "/registry.invalid-5000/team/app:2.0"},
	}
	for _, tt := range tests {
		digest := pushRandomImage(t, tt.mirrorRef)

		fetch := exec.Command("ctr", "--address", socket, "content", "fetch",
			"--hosts-dir", filepath.Join(out, "certs.d"), tt.upstreamRef)
		fetch.Env = loopbackOnlyEnv()
		if output, err := fetch.CombinedOutput(); err != nil {
			t.Errorf("ctr content fetch %s: %v\n%s", tt.upstreamRef, err, output)
			continue
		}
		list, err := exec.Command("ctr", "--address", socket, "content", "ls", "-q").Output()
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(list), digest) {
			t.Errorf("content store lacks manifest %s of %s", digest, tt.upstreamRef)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	for _, p := range []string{"/v2/docker.io/library/app/manifests/1.0", "/v2/registry.invalid-5000/team/app/manifests/2.0"} {
		if !slices.Contains(paths, p) {
			t.Errorf("registry was never asked for %s; requests: %v", p, paths)
		}
	}
}
