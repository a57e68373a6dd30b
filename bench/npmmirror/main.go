// Command npmmirror measures how long Sluice takes to mirror a real
// lockfile of about a thousand packages into a Verdaccio with no uplinks,
// cold and warm. Beside it, it times the way people mirror today: npm ci
// of the same lockfile through a Verdaccio whose uplink pulls through from
// the upstream. Both sides read from the same loopback copy of the upstream,
// recorded once into a cache folder, so the network does not enter the
// figures. It prints the times and their ratios.
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
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/sluice-dev/sluice/internal/npmclient"
	"github.com/sluice-dev/sluice/internal/npmfixture"
	"github.com/sluice-dev/sluice/internal/verdacciotest"
)

func main() {
	lockfile := flag.String("lockfile", "bench/testdata/package-lock.json", "package-lock.json to mirror")
	work := flag.String("work", "bench/.work", "folder for the cache, mirrors and data directories")
	record := flag.String("record-from", "", "registry to record the cache from when it is missing (for example https://registry.npmjs.org/)")
	bin := flag.String("sluice", "bin/sluice", "sluice binary")
	flag.Parse()
	if err := run(*lockfile, *work, *record, *bin); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// measurement is one timed command.
type measurement struct {
	name    string
	elapsed time.Duration
	maxRSS  int64 // KiB, of the measured process
}

func run(lockfile, work, recordFrom, bin string) error {
	ctx := context.Background()
	work, err := filepath.Abs(work)
	if err != nil {
		return err
	}
	lockfile, err = filepath.Abs(lockfile)
	if err != nil {
		return err
	}
	cache := filepath.Join(work, "cache")
	if _, err := os.Stat(cache); errors.Is(err, os.ErrNotExist) {
		if recordFrom == "" {
			return fmt.Errorf("no recorded cache at %s: run once with -record-from https://registry.npmjs.org/ "+
				"(make bench RECORD_FROM=https://registry.npmjs.org/)", cache)
		}
		fmt.Printf("recording %s from %s into %s (once)\n", lockfile, recordFrom, cache)
		rec := exec.Command("go", "run", "./internal/npmfixture/record", "-registry", recordFrom,
			"-lockfile", lockfile, "-out", cache)
		rec.Stdout, rec.Stderr = os.Stdout, os.Stderr
		if err := rec.Run(); err != nil {
			os.RemoveAll(cache)
			return fmt.Errorf("record: %w", err)
		}
	}
	upstream, stop, err := serve(npmfixture.NewHandler(os.DirFS(cache)))
	if err != nil {
		return err
	}
	defer stop()
	runs := filepath.Join(work, "runs")
	if err := os.RemoveAll(runs); err != nil {
		return err
	}

	// Sluice: sync into a Verdaccio with no uplinks, cold then warm.
	mirror, err := verdacciotest.Launch(ctx, filepath.Join(runs, "mirror"))
	if err != nil {
		return err
	}
	defer mirror.Stop()
	manifest := filepath.Join(runs, "manifest.yaml")
	rel, err := filepath.Rel(runs, lockfile)
	if err != nil {
		return err
	}
	if err := os.WriteFile(manifest, []byte(fmt.Sprintf(`apiVersion: sluice.dev/v1
kind: Manifest
metadata: {name: bench, owner: bench, dataClass: internal}
spec:
  npm:
    lockfiles:
      - path: %s
`, rel)), 0o644); err != nil {
		return err
	}
	// Mirroring alone: no scan, and a policy that approves everything, so
	// the figures compare moving bytes with moving bytes.
	allowAll := filepath.Join(runs, "allow-all.yaml")
	if err := os.WriteFile(allowAll, []byte("apiVersion: sluice.dev/v1\nkind: RiskPolicy\n"+
		"metadata: {name: allow-all}\ntiers:\n  low: {approval: auto}\n"+
		"rules:\n  - {name: unscanned-allowed, when: {scanned: false}, then: low}\ndefault: low\n"), 0o644); err != nil {
		return err
	}
	sync := func(name string) (measurement, error) {
		cmd := exec.Command(bin, "sync", "--no-scan", "--policy", allowAll, "--data-dir", filepath.Join(runs, "data"),
			"--npm-upstream", upstream, "--npm-mirror", mirror.URL, manifest)
		cmd.Env = append(os.Environ(), "SLUICE_NPM_MIRROR_TOKEN="+mirror.Token)
		return measure(name, cmd)
	}
	var results []measurement
	for _, name := range []string{"sluice sync, cold", "sluice sync, warm"} {
		m, err := sync(name)
		if err != nil {
			return err
		}
		results = append(results, m)
	}

	// The peer: npm ci through a pull-through Verdaccio, cold then warm.
	proxy, err := verdacciotest.Launch(ctx, filepath.Join(runs, "pull-through"), verdacciotest.WithUplink(upstream))
	if err != nil {
		return err
	}
	defer proxy.Stop()
	for i, name := range []string{"npm ci via pull-through Verdaccio, cold", "npm ci via pull-through Verdaccio, warm"} {
		app := filepath.Join(runs, fmt.Sprintf("app-%d", i))
		if err := copyApp(lockfile, app); err != nil {
			return err
		}
		start := time.Now()
		out, err := npmclient.Exec(ctx, filepath.Join(runs, fmt.Sprintf("npm-home-%d", i)), app, proxy.URL,
			[]string{"ci"}, npmclient.WithConfig("replace-registry-host", "always"),
			npmclient.WithTimeout(30*time.Minute))
		if err != nil {
			return fmt.Errorf("%s: %w\n%s", name, err, out)
		}
		results = append(results, measurement{name: name, elapsed: time.Since(start)})
	}

	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "\nRUN\tSECONDS\tPEAK RSS")
	for _, m := range results {
		rss := "-"
		if m.maxRSS > 0 {
			rss = fmt.Sprintf("%d MiB", m.maxRSS/1024)
		}
		fmt.Fprintf(tw, "%s\t%.2f\t%s\n", m.name, m.elapsed.Seconds(), rss)
	}
	tw.Flush()
	fmt.Printf("\nratio cold: sluice / pull-through = %.2f\n", results[0].elapsed.Seconds()/results[2].elapsed.Seconds())
	fmt.Printf("ratio warm: sluice / pull-through = %.2f\n", results[1].elapsed.Seconds()/results[3].elapsed.Seconds())
	return nil
}

func measure(name string, cmd *exec.Cmd) (measurement, error) {
	start := time.Now()
	out, err := cmd.CombinedOutput()
	elapsed := time.Since(start)
	if err != nil {
		return measurement{}, fmt.Errorf("%s: %w\n%s", name, err, out)
	}
	fmt.Printf("%s:\n%s", name, out)
	m := measurement{name: name, elapsed: elapsed}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		m.maxRSS = ru.Maxrss
	}
	return m, nil
}

// copyApp writes a project folder holding only the lockfile and its
// package.json, which npm ci needs.
func copyApp(lockfile, dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, name := range []string{"package-lock.json", "package.json"} {
		data, err := os.ReadFile(filepath.Join(filepath.Dir(lockfile), name))
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			return err
		}
	}
	return nil
}

func serve(h http.Handler) (string, func(), error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(l)
	return "http://" + l.Addr().String(), func() { srv.Close() }, nil
}
