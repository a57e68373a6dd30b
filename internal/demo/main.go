// Command demo runs Sluice's main job end to end on one machine: it starts
// a local Verdaccio with no uplinks, imports a small offline vulnerability
// database, and syncs the example manifest with every package scanned and
// routed by the example risk policy. One package is approved by the
// policy, one waits for a team lead who approves it, one is blocked; the
// demo prints their evidence, pins the example app's lockfile to the mirror
// and installs the app with npm ci from that mirror alone. By default the upstream is the recorded registry
// of the tests, served on loopback, so the demo needs no network; -upstream
// names a real registry instead.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/sluice-dev/sluice/internal/grypetest"
	"github.com/sluice-dev/sluice/internal/npmclient"
	"github.com/sluice-dev/sluice/internal/npmfixture"
	"github.com/sluice-dev/sluice/internal/verdacciotest"
)

// serveMode is the -serve flag.
var serveMode bool

func main() {
	bin := flag.String("sluice", "bin/sluice", "sluice binary to run")
	work := flag.String("work", "demo/.work", "folder for the demo's data, mirror storage and app copy; emptied first")
	upstream := flag.String("upstream", "", "npm registry to sync from (default: the recorded registry on loopback)")
	flag.BoolVar(&serveMode, "serve", false, "after the first sync, start sluice serve and print the review "+
		"page's address and a reviewer's sign-in token instead of approving on the command line")
	flag.Parse()
	if err := run(*bin, *work, *upstream); err != nil {
		fmt.Fprintln(os.Stderr, "demo failed:", err)
		os.Exit(1)
	}
}

func run(bin, work, upstream string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	if err := os.RemoveAll(work); err != nil {
		return err
	}
	work, err := filepath.Abs(work)
	if err != nil {
		return err
	}
	if upstream == "" {
		url, stop, err := serveRecorded()
		if err != nil {
			return err
		}
		defer stop()
		upstream = url
		step("upstream: the recorded registry at %s (pass UPSTREAM=https://registry.npmjs.org/ for the real one)", url)
	} else {
		step("upstream: %s", upstream)
	}

	mirror, err := verdacciotest.Launch(ctx, filepath.Join(work, "verdaccio"))
	if err != nil {
		return fmt.Errorf("start verdaccio: %w", err)
	}
	defer mirror.Stop()
	step("mirror: Verdaccio 6.8.0 with no uplinks at %s (pid %d)", mirror.URL, mirror.PID())

	if err := os.CopyFS(filepath.Join(work, "app"), os.DirFS("examples/app")); err != nil {
		return err
	}
	if err := os.CopyFS(filepath.Join(work, "manifests"), os.DirFS("examples/manifests")); err != nil {
		return err
	}
	if err := os.CopyFS(filepath.Join(work, "policies"), os.DirFS("examples/policies")); err != nil {
		return err
	}
	env := append(os.Environ(), "SLUICE_DATA_DIR="+filepath.Join(work, "data"),
		"SLUICE_NPM_UPSTREAM="+upstream, "SLUICE_NPM_MIRROR="+mirror.URL,
		"SLUICE_NPM_MIRROR_TOKEN="+mirror.Token, "SLUICE_ACTOR=demo",
		"SLUICE_POLICY="+filepath.Join(work, "policies", "bank.yaml"))
	lock := filepath.Join(work, "app", "package-lock.json")

	archive, err := grypetest.BuildArchive(filepath.Join(work, "vulndb"), grypetest.Options{})
	if err != nil {
		return fmt.Errorf("build the demo vulnerability database: %w", err)
	}
	// sluice runs one step and prints its output, or with a nil show only
	// returns it.
	sluice := func(title string, show io.Writer, args ...string) (string, error) {
		step("%s\n$ sluice %s", title, strings.Join(args, " "))
		var out strings.Builder
		cmd := exec.CommandContext(ctx, bin, args...)
		cmd.Env, cmd.Stdout, cmd.Stderr = env, &out, os.Stderr
		if show != nil {
			cmd.Stdout = io.MultiWriter(show, &out)
		}
		if err := cmd.Run(); err != nil {
			return "", fmt.Errorf("sluice %s: %w", args[0], err)
		}
		return out.String(), nil
	}
	manifestDir := filepath.Join(work, "manifests")
	if _, err := sluice("import the offline vulnerability database (a small demo one with real advisories)",
		os.Stdout, "db", "import", archive); err != nil {
		return err
	}
	if _, err := sluice("plan: what would come in", os.Stdout, "plan", manifestDir); err != nil {
		return err
	}
	out, err := sluice("sync: resolve, fetch, verify, store, scan, evaluate, publish what the policy approves",
		os.Stdout, "sync", manifestDir)
	if err != nil {
		return err
	}
	if run := runID(out); run != "" {
		report, err := sluice("scan summary of that sync (the table of the report)", nil,
			"report", run, "--format", "markdown")
		if err != nil {
			return err
		}
		table, _, _ := strings.Cut(report, "\n## ")
		fmt.Println(table)
	}
	if serveMode {
		return serveReview(bin, work, env, mirror.URL)
	}
	decisions := []struct {
		title string
		args  []string
	}{
		{"what waits for people", []string{"approvals", "list"}},
		{"a team lead approves the held package", []string{"approvals", "approve", "npm/lodash@4.17.20",
			"--as", "alice", "--reason", "the app calls no template function; upgrade planned"}},
		{"sync again: publishes what was approved, fetches nothing", []string{"sync", "-q", manifestDir}},
		{"evidence: approved by the policy's verdict", []string{"evidence", "chalk@4.1.2"}},
		{"evidence: approved by a team lead", []string{"evidence", "lodash@4.17.20"}},
		{"evidence: blocked by the policy", []string{"evidence", "minimist@1.2.5"}},
	}
	for _, d := range decisions {
		if _, err := sluice(d.title, os.Stdout, d.args...); err != nil {
			return err
		}
	}
	if _, err := sluice("pin: point the app's lockfile at the mirror", os.Stdout, "pin", lock); err != nil {
		return err
	}
	if _, err := sluice("ledger verify", os.Stdout, "ledger", "verify"); err != nil {
		return err
	}

	step("npm ci from the mirror alone (any other host is blocked)")
	out, err = npmclient.Exec(ctx, filepath.Join(work, "npm-home"), filepath.Join(work, "app"),
		mirror.URL, []string{"ci"}, npmclient.WithConfig("loglevel", "notice"))
	fmt.Print(out)
	if err != nil {
		return err
	}
	step("done: the app installed from %s; data in %s", mirror.URL, work)
	return nil
}

// runID returns the run ID from a sync summary's "run <id> finished" line.
func runID(summary string) string {
	for _, line := range strings.Split(summary, "\n") {
		if rest, ok := strings.CutPrefix(line, "run "); ok {
			id, _, _ := strings.Cut(rest, " ")
			return id
		}
	}
	return ""
}

func step(format string, args ...any) {
	fmt.Printf("\n==> "+format+"\n", args...)
}

// serveRecorded serves the tests' recorded registry on a loopback port.
func serveRecorded() (string, func(), error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: npmfixture.NewHandler(npmfixture.Recorded()), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			fmt.Fprintln(os.Stderr, "recorded registry:", err)
		}
	}()
	return "http://" + l.Addr().String(), func() { srv.Close() }, nil
}
