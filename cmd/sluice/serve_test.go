package main

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/internal/npmfixture"
)

// TestServeAndTriggerRun starts sluice serve in-process and queues a sync
// with sluice runs trigger through its API, as a build agent would.
func TestServeAndTriggerRun(t *testing.T) {
	upstream := npmfixture.New(t)
	dir := t.TempDir()
	manifests := filepath.Join(dir, "manifests")
	if err := os.Mkdir(manifests, 0o755); err != nil {
		t.Fatal(err)
	}
	writeManifest(t, manifests, "apiVersion: sluice.dev/v1\nkind: Manifest\nmetadata: {name: tools, owner: team-platform, "+
		"dataClass: internal}\nspec:\n  npm:\n    packages: [ms@2.1.3]\n")
	const token = "agent-secret-token"
	sum := sha256.Sum256([]byte(token))
	config := filepath.Join(dir, "serve.yaml")
	err := os.WriteFile(config, fmt.Appendf(nil, "listen: 127.0.0.1:0\ndataDir: data\nmanifests: [%s]\n"+
		"npm: {upstream: %q}\ntokens:\n  - {name: build-agent, sha256: %s, roles: [requester]}\n",
		manifests, upstream.URL, hex.EncodeToString(sum[:])), 0o644)
	if err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	served := make(chan error, 1)
	go func() {
		cmd := newRootCommand()
		cmd.SetOut(pw)
		cmd.SetErr(io.Discard)
		cmd.SetArgs([]string{"serve", "--config", config, "--log-level", "error"})
		served <- cmd.ExecuteContext(ctx)
		pw.Close()
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatalf("serve printed no address: %v", <-served)
	}
	go io.Copy(io.Discard, pr)
	addr := strings.TrimSpace(strings.TrimPrefix(line, "serving on "))

	if r := sluice(t, "runs", "trigger", "tools", "--server", addr); r.exitCode() != exitUsage {
		t.Errorf("trigger without SLUICE_TOKEN exited %d, want %d", r.exitCode(), exitUsage)
	}
	t.Setenv("SLUICE_TOKEN", token)
	r := mustSluice(t, "runs", "trigger", "tools", "--server", addr, "--wait")
	if !strings.Contains(r.stdout, " succeeded") {
		t.Errorf("trigger output = %q, want the run to succeed", r.stdout)
	}
	r = sluice(t, "runs", "trigger", "unknown", "--server", addr)
	if r.err == nil || !strings.Contains(r.err.Error(), "404 not_found") {
		t.Errorf("unknown manifest: %v, want a 404 not_found error", r.err)
	}

	cancel()
	select {
	case err := <-served:
		if err != nil {
			t.Errorf("serve ended with %v", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("serve did not stop")
	}
	if r := sluice(t, "serve"); r.exitCode() != exitUsage {
		t.Errorf("serve without --config exited %d, want %d", r.exitCode(), exitUsage)
	}
}
