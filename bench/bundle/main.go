// Command bundle measures transfer bundles with the packages of a real
// lockfile of about a thousand packages: sluice export on an outside data
// directory, and sluice import into an inside one that publishes to a
// Verdaccio on loopback. It compares both with cp of the bundle's files,
// the physical limit of moving the same bytes on the same disk, and
// prints the times, throughputs, ratios and the peak memory of each sluice
// process.
//
// The tarballs come from the recorded cache of bench/npmmirror when it
// exists. Otherwise they are synthesised: random, incompressible bytes
// (like gzipped tarballs) of log-normally distributed sizes, fixed by each
// package's name and version.
package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/sluice-dev/sluice/ingest/blobs"
	"github.com/sluice-dev/sluice/ingest/state"
	"github.com/sluice-dev/sluice/internal/bundletest"
	"github.com/sluice-dev/sluice/internal/verdacciotest"
	"github.com/sluice-dev/sluice/manifests/lockfile"
)

func main() {
	lock := flag.String("lockfile", "bench/testdata/package-lock.json", "package-lock.json whose packages the bundle carries")
	work := flag.String("work", "bench/.work", "folder for the cache and the bundle benchmark's data directories")
	bin := flag.String("sluice", "bin/sluice", "sluice binary")
	partSize := flag.String("max-part-size", "64MiB", "--max-part-size of the export")
	flag.Parse()
	if err := run(*lock, *work, *bin, *partSize); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// measurement is one timed command.
type measurement struct {
	name    string
	elapsed time.Duration
	bytes   int64
	maxRSS  int64 // KiB, of the measured process; 0 when not measured
}

func run(lockPath, work, bin, partSize string) error {
	work, err := filepath.Abs(work)
	if err != nil {
		return err
	}
	if bin, err = filepath.Abs(bin); err != nil {
		return err
	}
	lf, err := lockfile.Load(lockPath)
	if err != nil {
		return err
	}
	runs := filepath.Join(work, "bundle")
	if err := os.RemoveAll(runs); err != nil {
		return err
	}
	outside, inside, media := filepath.Join(runs, "outside"), filepath.Join(runs, "inside"), filepath.Join(runs, "media")+"/"
	cache := filepath.Join(work, "cache")
	n, size, synthetic, err := fill(outside, cache, lf)
	if err != nil {
		return err
	}
	source := "recorded cache " + cache
	if synthetic {
		source = "synthesised tarballs (no recorded cache at " + cache + ")"
	}
	fmt.Printf("outside: %d approved packages, %.1f MiB of tarballs, from %s\n", n, mib(size), source)
	key, pub, err := bundletest.KeyPair(runs, "bench")
	if err != nil {
		return err
	}
	env := append(os.Environ(), "COSIGN_PASSWORD=bench")

	export, err := measure("sluice export", env, bin, "export", "-q", "--data-dir", outside, "--to", media,
		"--key", key, "--max-part-size", partSize)
	if err != nil {
		return err
	}
	bundleBytes, err := dirSize(media)
	if err != nil {
		return err
	}
	export.bytes = bundleBytes
	// The floor of every sluice command: starting the binary and reading
	// a bundle's index.
	floor, err := measure("sluice bundle inspect (start-up floor)", env, bin, "bundle", "inspect", media)
	if err != nil {
		return err
	}
	copied, err := measure("cp -r of the bundle, then sync", nil, "sh", "-c",
		fmt.Sprintf("cp -r %q %q && sync", media, filepath.Join(runs, "media-copy")))
	if err != nil {
		return err
	}
	copied.bytes = bundleBytes
	// Import writes every file of the stream as a file of its own, so the
	// floor for it is unpacking the same stream with the system's zstd and
	// tar, then syncing.
	unpacked := filepath.Join(runs, "unpacked")
	if err := os.MkdirAll(unpacked, 0o755); err != nil {
		return err
	}
	untar, err := measure("cat parts | zstd -d | tar -x, then sync", nil, "sh", "-c",
		fmt.Sprintf("cat %q*.part-*.tar.zst | zstd -dq | tar -x -C %q && sync", media, unpacked))
	if err != nil {
		return err
	}
	untar.bytes = bundleBytes

	ctx := context.Background()
	mirror, err := verdacciotest.Launch(ctx, filepath.Join(runs, "mirror"))
	if err != nil {
		return err
	}
	defer mirror.Stop()
	env = append(env, "SLUICE_NPM_MIRROR_TOKEN="+mirror.Token)
	imp, err := measure("sluice import (verify, stage, publish)", env, bin, "import", "-q", media,
		"--data-dir", inside, "--key", pub, "--npm-mirror", mirror.URL)
	if err != nil {
		return err
	}
	imp.bytes = bundleBytes
	verify, err := verifyPhase(imp)
	if err != nil {
		return err
	}
	report([]measurement{floor, export, copied, untar, verify, imp}, copied)
	return nil
}

// fill approves every name@version of the lockfile in a new outside data
// directory, with tarballs from the cache or synthesised.
func fill(dataDir, cache string, lf *lockfile.Lockfile) (n int, size int64, synthetic bool, err error) {
	db, err := state.Open(filepath.Join(dataDir, "sluice.db"))
	if err != nil {
		return 0, 0, false, err
	}
	defer db.Close()
	bs, err := blobs.Open(filepath.Join(dataDir, "blobs"))
	if err != nil {
		return 0, 0, false, err
	}
	_, statErr := os.Stat(cache)
	synthetic = errors.Is(statErr, os.ErrNotExist)
	seen := map[string]bool{}
	for _, e := range lf.Entries {
		id := e.Name + "@" + e.Version
		if e.Name == "" || seen[id] {
			continue
		}
		seen[id] = true
		var tgz []byte
		if synthetic {
			tgz = bundletest.Tarball(e.Name, e.Version, syntheticSize(id))
		} else if tgz, err = os.ReadFile(filepath.Join(cache, e.Name, "-", path.Base(e.Name)+"-"+e.Version+".tgz")); err != nil {
			return 0, 0, false, fmt.Errorf("%s: %w; record the cache with make bench RECORD_FROM=...", id, err)
		}
		if _, err := bundletest.Approve(db, bs, e.Name, e.Version, tgz); err != nil {
			return 0, 0, false, fmt.Errorf("%s: %w", id, err)
		}
		n++
		size += int64(len(tgz))
	}
	return n, size, synthetic, nil
}

// syntheticSize draws a tarball size from a log-normal distribution with
// a median of 16 KiB and sigma 1.3, capped at 8 MiB, seeded by the
// package. The parameters are an estimate of npm tarball sizes, not a
// measurement of this lockfile.
func syntheticSize(id string) int {
	sum := sha256.Sum256([]byte(id))
	u1 := (float64(binary.BigEndian.Uint32(sum[0:4])) + 1) / (1 << 32)
	u2 := float64(binary.BigEndian.Uint32(sum[4:8])) / (1 << 32)
	z := math.Sqrt(-2*math.Log(u1)) * math.Cos(2*math.Pi*u2)
	return int(math.Min(16<<10*math.Exp(1.3*z), 8<<20))
}

func measure(name string, env []string, prog string, args ...string) (measurement, error) {
	cmd := exec.Command(prog, args...)
	cmd.Env = env
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err := cmd.Run()
	m := measurement{name: name, elapsed: time.Since(start)}
	if err != nil {
		return m, fmt.Errorf("%s: %w\n%s", name, err, out.String())
	}
	if prog != "sh" {
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			m.maxRSS = ru.Maxrss
		}
	}
	lastOutput = out.String()
	return m, nil
}

// lastOutput is the output of the last measured command.
var lastOutput string

// verifyPhase reads the verify time that import printed.
func verifyPhase(imp measurement) (measurement, error) {
	m := regexp.MustCompile(`new blobs in (\S+)`).FindStringSubmatch(lastOutput)
	if m == nil {
		return measurement{}, fmt.Errorf("import printed no verify time:\n%s", lastOutput)
	}
	d, err := time.ParseDuration(m[1])
	if err != nil {
		return measurement{}, err
	}
	return measurement{name: "  of which verify and stage", elapsed: d, bytes: imp.bytes}, nil
}

func dirSize(dir string) (int64, error) {
	var n int64
	err := filepath.Walk(dir, func(_ string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			n += info.Size()
		}
		return err
	})
	return n, err
}

func mib(n int64) float64 { return float64(n) / (1 << 20) }

func report(ms []measurement, limit measurement) {
	w := tabwriter.NewWriter(os.Stdout, 2, 0, 2, ' ', 0)
	fmt.Fprintln(w, "step\ttime\tMiB/s\tof cp\tpeak RSS")
	for _, m := range ms {
		rate, ratio := "-", "-"
		if m.bytes > 0 {
			rate = fmt.Sprintf("%.1f", mib(m.bytes)/m.elapsed.Seconds())
			ratio = fmt.Sprintf("%.2f", limit.elapsed.Seconds()/m.elapsed.Seconds())
		}
		rss := "-"
		if m.maxRSS > 0 {
			rss = fmt.Sprintf("%.0f MiB", float64(m.maxRSS)/1024)
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", m.name, m.elapsed.Round(time.Millisecond), rate, ratio, rss)
	}
	w.Flush()
	fmt.Printf("bundle: %.1f MiB; \"of cp\" is cp's time divided by the step's (1.00 = as fast as cp)\n",
		mib(limit.bytes))
}
