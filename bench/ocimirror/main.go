// Command ocimirror measures how long Sluice takes to mirror a set of
// multi-platform images between two CNCF distribution registries on
// loopback, beside crane copy (one call per image) and skopeo sync (one
// call for all). Every tool copies into a fresh target registry, behind a
// proxy that counts blob uploads. It then runs Sluice again on the same
// data directory and target, a no-op resync that must upload no blob, and
// prints times, peak memory, uploads and ratios.
package main

import (
	"context"
	"crypto/rand"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/sluice-dev/sluice/internal/registrytest"
)

func main() {
	images := flag.Int("images", 8, "number of images, each with 2 platforms")
	layerMiB := flag.Int("layer-mib", 4, "size of each image's own layer per platform, in MiB of random bytes")
	work := flag.String("work", "", "folder for registries and data (default: a new temporary folder)")
	bin := flag.String("sluice", "bin/sluice", "sluice binary")
	policy := flag.String("policy", "cmd/sluice/testdata/approvals/allow-all.yaml", "risk policy for sluice sync")
	flag.Parse()
	if err := run(*images, *layerMiB, *work, *bin, *policy); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// measurement is one timed tool run.
type measurement struct {
	name    string
	elapsed time.Duration
	maxRSS  int64 // KiB, the largest of the measured processes
	uploads int   // blob uploads the target received
}

func run(images, layerMiB int, work, bin, policy string) error {
	ctx := context.Background()
	if work == "" {
		var err error
		if work, err = os.MkdirTemp("", "sluice-ocibench-"); err != nil {
			return err
		}
		defer os.RemoveAll(work)
	}
	for _, p := range []*string{&bin, &policy} {
		abs, err := filepath.Abs(*p)
		if err != nil {
			return err
		}
		*p = abs
	}
	crane, err := registrytest.Tool("crane")
	if err != nil {
		return err
	}
	skopeo, err := exec.LookPath("skopeo")
	if err != nil {
		return fmt.Errorf("skopeo: %w; install it with apt-get install skopeo", err)
	}
	up, err := registrytest.Launch(ctx, filepath.Join(work, "upstream"))
	if err != nil {
		return err
	}
	defer up.Stop()
	refs, total, err := seed(up.Host, images, layerMiB)
	if err != nil {
		return err
	}
	fmt.Printf("%d images x %d platforms, %.1f MiB of blobs per copy\n", images,
		len(registrytest.Platforms), float64(total)/(1<<20))

	var results []measurement
	// Sluice, cold then the no-op resync on the same data and target.
	err = withTarget(ctx, work, "sluice", func(host string, proxy *registrytest.Proxy) error {
		manifest, err := writeManifest(work, up.Host, refs)
		if err != nil {
			return err
		}
		data := filepath.Join(work, "sluice-data")
		args := []string{"sync", "--quiet", "--no-scan", "--policy", policy, "--data-dir", data,
			"--oci-mirror", proxy.Host + "/mirror", manifest}
		for _, name := range []string{"sluice sync, cold", "sluice sync, no-op resync"} {
			proxy.Reset()
			m, err := measure(name, bin, args)
			if err != nil {
				return err
			}
			m.uploads = proxy.Count("PUT", "uploads")
			results = append(results, m)
		}
		return nil
	})
	if err != nil {
		return err
	}
	err = withTarget(ctx, work, "crane", func(host string, proxy *registrytest.Proxy) error {
		m := measurement{name: "crane copy, one call per image"}
		for _, ref := range refs {
			one, err := measure(m.name, crane, []string{"copy", up.Host + "/" + ref, proxy.Host + "/mirror/" + ref})
			if err != nil {
				return err
			}
			m.elapsed += one.elapsed
			m.maxRSS = max(m.maxRSS, one.maxRSS)
		}
		m.uploads = proxy.Count("PUT", "uploads")
		results = append(results, m)
		return nil
	})
	if err != nil {
		return err
	}
	err = withTarget(ctx, work, "skopeo", func(host string, proxy *registrytest.Proxy) error {
		source := filepath.Join(work, "skopeo-source.yaml")
		var b strings.Builder
		fmt.Fprintf(&b, "%s:\n  tls-verify: false\n  images:\n", up.Host)
		for _, ref := range refs {
			repo, tag, _ := strings.Cut(ref, ":")
			fmt.Fprintf(&b, "    %s: [%q]\n", repo, tag)
		}
		if err := os.WriteFile(source, []byte(b.String()), 0o644); err != nil {
			return err
		}
		m, err := measure("skopeo sync --all", skopeo, []string{"sync", "--all", "--src", "yaml", "--dest", "docker",
			"--dest-tls-verify=false", source, proxy.Host + "/mirror"})
		if err != nil {
			return err
		}
		m.uploads = proxy.Count("PUT", "uploads")
		results = append(results, m)
		return nil
	})
	if err != nil {
		return err
	}
	report(results)
	return nil
}

// seed pushes the images and returns their references (repo:tag) and
// the bytes of one copy of all their blobs.
func seed(host string, images, layerMiB int) ([]string, int64, error) {
	var refs []string
	var total int64
	for i := range images {
		ref := fmt.Sprintf("bench/app%d:1.0.0", i)
		repo, tag, _ := strings.Cut(ref, ":")
		_, err := registrytest.ImageWith(host, repo, tag, func(arch string) ([]v1.Layer, error) {
			data := make([]byte, layerMiB<<20)
			rand.Read(data)
			l, err := registrytest.Layer(map[string][]byte{"opt/app/data": data})
			if err == nil {
				size, _ := l.Size()
				total += size
			}
			return []v1.Layer{l}, err
		})
		if err != nil {
			return nil, 0, err
		}
		refs = append(refs, ref)
	}
	return refs, total, nil
}

func writeManifest(work, host string, refs []string) (string, error) {
	var b strings.Builder
	b.WriteString("apiVersion: sluice.dev/v1\nkind: Manifest\nmetadata:\n  name: bench\n" +
		"  owner: bench\n  dataClass: internal\nspec:\n  images:\n")
	for _, ref := range refs {
		fmt.Fprintf(&b, "    - %s/%s\n", host, ref)
	}
	path := filepath.Join(work, "manifest.yaml")
	return path, os.WriteFile(path, []byte(b.String()), 0o644)
}

// withTarget runs fn against a fresh target registry behind a counting
// proxy.
func withTarget(ctx context.Context, work, name string,
	fn func(host string, proxy *registrytest.Proxy) error) error {
	target, err := registrytest.Launch(ctx, filepath.Join(work, "target-"+name))
	if err != nil {
		return err
	}
	defer target.Stop()
	proxy := registrytest.ServeProxy(target.Host)
	defer proxy.Close()
	return fn(target.Host, proxy)
}

// measure runs one command and returns its wall time and peak RSS. The
// peak comes from GNU time when /usr/bin/time exists: a child's own
// rusage starts from this process's RSS at fork, which would hide
// smaller peaks.
func measure(name, bin string, args []string) (measurement, error) {
	rssFile, err := os.CreateTemp("", "sluice-bench-rss-")
	if err != nil {
		return measurement{}, err
	}
	rssFile.Close()
	defer os.Remove(rssFile.Name())
	cmd := exec.Command(bin, args...)
	timed := false
	if _, err := os.Stat("/usr/bin/time"); err == nil {
		cmd = exec.Command("/usr/bin/time", append([]string{"-f", "%M", "-o", rssFile.Name(), bin}, args...)...)
		timed = true
	}
	cmd.Stderr = os.Stderr
	start := time.Now()
	out, err := cmd.Output()
	elapsed := time.Since(start)
	if err != nil {
		return measurement{}, fmt.Errorf("%s %s: %w\n%s", filepath.Base(bin), strings.Join(args, " "), err, out)
	}
	m := measurement{name: name, elapsed: elapsed}
	if data, err := os.ReadFile(rssFile.Name()); timed && err == nil {
		fmt.Sscan(strings.TrimSpace(string(data)), &m.maxRSS)
	} else if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		m.maxRSS = ru.Maxrss
	}
	return m, nil
}

func report(results []measurement) {
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "run\tseconds\tpeak RSS\tblob uploads\tvs crane")
	var crane time.Duration
	for _, r := range results {
		if strings.HasPrefix(r.name, "crane") {
			crane = r.elapsed
		}
	}
	for _, r := range results {
		ratio := "-"
		if crane > 0 {
			ratio = fmt.Sprintf("%.2f", r.elapsed.Seconds()/crane.Seconds())
		}
		fmt.Fprintf(tw, "%s\t%.2f\t%d MiB\t%d\t%s\n", r.name, r.elapsed.Seconds(), r.maxRSS/1024, r.uploads, ratio)
	}
	tw.Flush()
}
