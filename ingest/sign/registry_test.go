package sign

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/sluice-dev/sluice/internal/registrytest"
)

// findTool returns the path of a program on PATH or in $HOME/go/bin, where
// `go install` puts it.
func findTool(t testing.TB, program string) string {
	t.Helper()
	if p, err := exec.LookPath(program); err == nil {
		return p
	}
	home, _ := os.UserHomeDir()
	p := filepath.Join(home, "go", "bin", program)
	if _, err := os.Stat(p); err == nil {
		return p
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("%s not found on PATH or in ~/go/bin: .ci/run installs it", program)
	}
	t.Skipf("%s not found on PATH or in ~/go/bin", program)
	return ""
}

// startRegistry runs the CNCF distribution registry on a free loopback
// port and returns its host:port.
func startRegistry(t testing.TB) string {
	t.Helper()
	return registrytest.Start(t).Host
}

// pushRandomImage pushes a small random image to repo and returns its
// digest reference.
func pushRandomImage(t testing.TB, repo string) name.Digest {
	t.Helper()
	img, err := random.Image(512, 2)
	if err != nil {
		t.Fatal(err)
	}
	tag, err := name.NewTag(repo + ":v1")
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(tag, img); err != nil {
		t.Fatal(err)
	}
	h, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return tag.Context().Digest(h.String())
}
