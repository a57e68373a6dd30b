package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
)

// serveReview starts sluice serve on the demo's data directory with a
// static sign-in token for alice, the example policy's team lead, and
// runs it until the demo is interrupted.
func serveReview(bin, work string, env []string, mirror string) error {
	raw := make([]byte, 16)
	if _, err := rand.Read(raw); err != nil {
		return err
	}
	token := "demo-" + hex.EncodeToString(raw)
	sum := sha256.Sum256([]byte(token))
	config := fmt.Sprintf(`listen: 127.0.0.1:0
dataDir: %q
manifests: [%q]
policy: %q
scan: true
npm: {upstream: %q, mirror: %q}
tokens:
  - {name: alice, sha256: %s, roles: [approver]}
`, filepath.Join(work, "data"), filepath.Join(work, "manifests"), filepath.Join(work, "policies", "bank.yaml"),
		envValue(env, "SLUICE_NPM_UPSTREAM"), mirror, hex.EncodeToString(sum[:]))
	path := filepath.Join(work, "serve.yaml")
	if err := os.WriteFile(path, []byte(config), 0o600); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	step("sluice serve: the review page for what waits for people\n$ sluice serve --config %s", path)
	fmt.Printf("sign in to the review page that sluice serve prints below as alice (approver), "+
		"with the token:\n  %s\npress Ctrl-C to stop\n", token)
	cmd := exec.Command(bin, "serve", "--config", path)
	cmd.Env, cmd.Stdout, cmd.Stderr = env, os.Stdout, os.Stderr
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		cmd.Process.Signal(syscall.SIGTERM)
		err := <-done
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			return nil
		}
		return err
	}
}

// envValue returns the value of key in env.
func envValue(env []string, key string) string {
	for i := len(env) - 1; i >= 0; i-- {
		if k, v, ok := strings.Cut(env[i], "="); ok && k == key {
			return v
		}
	}
	return ""
}
