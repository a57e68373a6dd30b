// Package verdacciotest runs a real Verdaccio npm registry on loopback for
// tests and for the demo. It has storage in a folder of its own, htpasswd
// auth with one publish user and logs in a file. It has no uplinks unless
// WithUplink names a loopback registry. The Verdaccio binary is the one
// pinned in tools/package.json.
package verdacciotest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// stopGrace is how long Stop waits after SIGTERM before it sends SIGKILL.
const stopGrace = 5 * time.Second

// Server is a running (or stopped) Verdaccio process.
type Server struct {
	// URL is the registry's base URL, http://127.0.0.1:<port>, without a
	// trailing slash. It stays the same across Restart.
	URL string
	// User and Password are the publish user's credentials.
	User, Password string
	// Token is the publish user's bearer token, from the adduser request.
	Token string
	// Dir contains config.yaml, htpasswd, storage/ and verdaccio.log.
	Dir string
	// LogPath is the file that receives Verdaccio's stdout and stderr.
	LogPath string

	binary     string
	configPath string
	settings   settings

	mu      sync.Mutex
	process *exec.Cmd
	exited  chan struct{}
}

// Start launches Verdaccio in a temporary folder of t and stops it when the
// test ends. If the test failed, the end of Verdaccio's log is logged.
// A missing binary fails the test: it is never skipped.
func Start(t testing.TB, opts ...Option) *Server {
	t.Helper()
	s := defaultSettings()
	for _, opt := range opts {
		opt(&s)
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.startTimeout)
	defer cancel()
	server, err := Launch(ctx, t.TempDir(), opts...)
	if err != nil {
		t.Fatalf("start verdaccio: %v", err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("verdaccio log (%s):\n%s", server.LogPath, server.LogTail(100))
		}
		if err := server.Stop(); err != nil {
			t.Errorf("stop verdaccio: %v", err)
		}
	})
	return server
}

// Launch writes a configuration into dir, starts Verdaccio on a free port
// of 127.0.0.1, waits until GET /-/ping succeeds and creates the publish
// user (or logs in as that user when dir already holds it). ctx bounds the
// startup only: the process runs until Stop, which the caller must call.
func Launch(ctx context.Context, dir string, opts ...Option) (*Server, error) {
	s := defaultSettings()
	for _, opt := range opts {
		opt(&s)
	}
	binary := s.binary
	if binary == "" {
		var err error
		if binary, err = Binary(); err != nil {
			return nil, err
		}
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Join(dir, "storage"), 0o755); err != nil {
		return nil, fmt.Errorf("create verdaccio storage: %w", err)
	}
	server := &Server{
		Dir:      dir,
		LogPath:  filepath.Join(dir, "verdaccio.log"),
		User:     s.user,
		Password: s.password,
		binary:   binary,
		settings: s,
	}

	// A free port can be taken between the probe and Verdaccio's bind, so
	// a failed bind is retried on another port.
	const attempts = 3
	for attempt := 1; ; attempt++ {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		server.URL = fmt.Sprintf("http://127.0.0.1:%d", port)
		if server.configPath, err = writeConfig(dir, port, s); err != nil {
			return nil, err
		}
		err = server.start(ctx)
		if err == nil {
			break
		}
		if attempt == attempts || !strings.Contains(server.LogTail(20), "EADDRINUSE") {
			return nil, err
		}
	}

	if err := server.addUser(ctx); err != nil {
		_ = server.Stop()
		return nil, err
	}
	return server, nil
}

// Stop sends SIGTERM to the Verdaccio process, waits up to 5 s for it to
// exit, then sends SIGKILL. Stopping a stopped server does nothing.
func (s *Server) Stop() error {
	s.mu.Lock()
	process, exited := s.process, s.exited
	s.process = nil
	s.mu.Unlock()
	if process == nil {
		return nil
	}
	if err := process.Process.Signal(syscall.SIGTERM); err != nil {
		select {
		case <-exited:
			return nil
		default:
			return fmt.Errorf("send SIGTERM to verdaccio (pid %d): %w", process.Process.Pid, err)
		}
	}
	select {
	case <-exited:
		return nil
	case <-time.After(stopGrace):
	}
	if err := process.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("kill verdaccio (pid %d): %w", process.Process.Pid, err)
	}
	<-exited
	return nil
}

// Restart stops Verdaccio if it runs and starts it again with the same
// port, configuration and storage, so published packages, the user and its
// token survive. ctx bounds the wait for GET /-/ping.
func (s *Server) Restart(ctx context.Context) error {
	if err := s.Stop(); err != nil {
		return err
	}
	return s.start(ctx)
}

// PID returns the process id of the running Verdaccio, or 0 when stopped.
func (s *Server) PID() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.process == nil {
		return 0
	}
	return s.process.Process.Pid
}

// Npmrc returns .npmrc lines that point npm at this registry and
// authenticate as the publish user.
func (s *Server) Npmrc() string {
	u, _ := url.Parse(s.URL)
	return fmt.Sprintf("registry=%s/\n//%s/:_authToken=%s\n", s.URL, u.Host, s.Token)
}

// LogTail returns up to the last n lines of Verdaccio's log.
func (s *Server) LogTail(n int) string {
	data, err := os.ReadFile(s.LogPath)
	if err != nil {
		return fmt.Sprintf("(log unreadable: %v)", err)
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// start runs the process and waits until GET /-/ping returns 200.
func (s *Server) start(ctx context.Context) error {
	logFile, err := os.OpenFile(s.LogPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("open verdaccio log: %w", err)
	}
	defer logFile.Close()

	cmd := exec.Command(s.binary, "--config", s.configPath)
	cmd.Dir = s.Dir
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("run %s: %w", s.binary, err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	s.mu.Lock()
	s.process, s.exited = cmd, exited
	s.mu.Unlock()

	if err := s.waitReady(ctx, exited); err != nil {
		_ = s.Stop()
		return fmt.Errorf("%w; verdaccio log %s ends with:\n%s", err, s.LogPath, s.LogTail(20))
	}
	return nil
}

func (s *Server) waitReady(ctx context.Context, exited <-chan struct{}) error {
	ctx, cancel := context.WithTimeout(ctx, s.settings.startTimeout)
	defer cancel()
	client := &http.Client{Timeout: time.Second}
	ticker := time.NewTicker(100 * time.Millisecond)
	defer ticker.Stop()
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.URL+"/-/ping", nil)
		if err != nil {
			return err
		}
		if resp, err := client.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-exited:
			return fmt.Errorf("verdaccio exited before GET %s/-/ping succeeded", s.URL)
		case <-ctx.Done():
			return fmt.Errorf("GET %s/-/ping timed out waiting for verdaccio: %w", s.URL, ctx.Err())
		case <-ticker.C:
		}
	}
}

// freePort returns a TCP port of 127.0.0.1 that was free a moment ago.
func freePort() (int, error) {
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port on 127.0.0.1: %w", err)
	}
	defer listener.Close()
	return listener.Addr().(*net.TCPAddr).Port, nil
}
