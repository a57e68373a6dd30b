// Command demo runs Sluice's main job end to end on one machine: it starts
// a local Verdaccio with no uplinks, syncs the example manifest into it,
// pins the example app's lockfile to it and installs the app with npm ci
// from that mirror alone. By default the upstream is the recorded registry
// of the tests, served on loopback, so the demo needs no network; -upstream
// names a real registry instead.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/sluice-dev/sluice/internal/npmclient"
	"github.com/sluice-dev/sluice/internal/npmfixture"
	"github.com/sluice-dev/sluice/internal/verdacciotest"
)

func main() {
	bin := flag.String("sluice", "bin/sluice", "sluice binary to run")
	work := flag.String("work", "demo/.work", "folder for the demo's data, mirror storage and app copy; emptied first")
	upstream := flag.String("upstream", "", "npm registry to sync from (default: the recorded registry on loopback)")
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
	env := append(os.Environ(), "SLUICE_DATA_DIR="+filepath.Join(work, "data"),
		"SLUICE_NPM_UPSTREAM="+upstream, "SLUICE_NPM_MIRROR="+mirror.URL,
		"SLUICE_NPM_MIRROR_TOKEN="+mirror.Token, "SLUICE_ACTOR=demo")
	lock := filepath.Join(work, "app", "package-lock.json")

	steps := []struct {
		title string
		args  []string
	}{
		{"plan: what would come in", []string{"plan", filepath.Join(work, "manifests")}},
		{"sync: resolve, fetch, verify, store, publish", []string{"sync", filepath.Join(work, "manifests")}},
		{"sync again: nothing to fetch", []string{"sync", "-q", filepath.Join(work, "manifests")}},
		{"pin: point the app's lockfile at the mirror", []string{"pin", lock}},
		{"ledger verify", []string{"ledger", "verify"}},
	}
	for _, s := range steps {
		step("%s\n$ sluice %s", s.title, strings.Join(s.args, " "))
		cmd := exec.CommandContext(ctx, bin, s.args...)
		cmd.Env, cmd.Stdout, cmd.Stderr = env, os.Stdout, os.Stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("sluice %s: %w", s.args[0], err)
		}
	}

	step("npm ci from the mirror alone (any other host is blocked)")
	out, err := npmclient.Exec(ctx, filepath.Join(work, "npm-home"), filepath.Join(work, "app"), mirror.URL, []string{"ci"},
		npmclient.WithConfig("loglevel", "notice"))
	fmt.Print(out)
	if err != nil {
		return err
	}
	step("done: the app installed from %s; data in %s", mirror.URL, work)
	return nil
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
