// Package registrytest runs real CNCF distribution registries on loopback
// for tests and benchmarks, puts a counting, fault-injecting proxy in
// front of one when asked, and seeds registries with small multi-platform
// images whose layers hold real Alpine package databases.
package registrytest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// RegistryVersion is the distribution registry version .ci/run installs.
const RegistryVersion = "v3.1.2"

// ErrNotInstalled is returned when a tool the tests run is missing.
var ErrNotInstalled = errors.New("not installed")

// Tool finds an executable on PATH or in $HOME/go/bin, where go install
// puts it.
func Tool(name string) (string, error) {
	if path, err := exec.LookPath(name); err == nil {
		return path, nil
	}
	home, err := os.UserHomeDir()
	if err == nil {
		path := filepath.Join(home, "go", "bin", name)
		if _, err := os.Stat(path); err == nil {
			return path, nil
		}
	}
	return "", fmt.Errorf("%s: %w on PATH or in $HOME/go/bin; run .ci/run, which installs "+
		"the distribution registry %s and crane v0.22.1 with go install", name, ErrNotInstalled,
		RegistryVersion)
}

// Registry is a running distribution registry.
type Registry struct {
	// Host is "127.0.0.1:<port>", the registry part of image references.
	Host string
	Dir  string
	cmd  *exec.Cmd
	done chan error
}

// Start runs a registry with storage in a temporary folder of t and stops
// it when the test ends. A missing binary fails the test: it is never
// skipped.
func Start(t testing.TB) *Registry {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	r, err := Launch(ctx, t.TempDir())
	if err != nil {
		t.Fatalf("start distribution registry: %v", err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			log, _ := os.ReadFile(filepath.Join(r.Dir, "registry.log"))
			t.Logf("registry log:\n%s", tail(string(log), 4000))
		}
		r.Stop()
	})
	return r
}

// Launch starts a registry with storage under dir on a free port of
// 127.0.0.1 and waits until it responds to /v2/. The caller calls Stop.
func Launch(ctx context.Context, dir string) (*Registry, error) {
	bin, err := Tool("registry")
	if err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	r := &Registry{Host: fmt.Sprintf("127.0.0.1:%d", port), Dir: dir, done: make(chan error, 1)}
	config := fmt.Sprintf(`version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: %s
  delete:
    enabled: true
http:
  addr: %s
`, filepath.Join(dir, "storage"), r.Host)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	configPath := filepath.Join(dir, "config.yml")
	if err := os.WriteFile(configPath, []byte(config), 0o644); err != nil {
		return nil, err
	}
	logFile, err := os.Create(filepath.Join(dir, "registry.log"))
	if err != nil {
		return nil, err
	}
	r.cmd = exec.Command(bin, "serve", configPath)
	r.cmd.Stdout, r.cmd.Stderr = logFile, logFile
	// OTEL_TRACES_EXPORTER=none keeps the registry v3 from trying to
	// export traces anywhere.
	r.cmd.Env = append(os.Environ(), "OTEL_TRACES_EXPORTER=none")
	if err := r.cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	go func() { r.done <- r.cmd.Wait(); logFile.Close() }()
	for {
		resp, err := http.Get("http://" + r.Host + "/v2/")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return r, nil
			}
		}
		select {
		case err := <-r.done:
			return nil, fmt.Errorf("registry exited during startup: %v; see %s/registry.log", err, dir)
		case <-ctx.Done():
			r.Stop()
			return nil, fmt.Errorf("registry on %s did not respond: %w", r.Host, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Stop ends the registry process and waits for it.
func (r *Registry) Stop() {
	if r.cmd.Process == nil {
		return
	}
	_ = r.cmd.Process.Kill()
	<-r.done
	r.done <- nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "..." + s[strings.IndexByte(s[len(s)-n:], '\n')+len(s)-n:]
}
