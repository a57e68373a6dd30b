package main

import (
	"bytes"
	"context"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"text/template"
)

// result is what one in-process CLI run produced.
type result struct {
	stdout, stderr string
	err            error
}

// exitCode maps the error to the code main would exit with.
func (r result) exitCode() int {
	var oe *offendersError
	var ue *usageError
	switch {
	case r.err == nil:
		return exitOK
	case errors.As(r.err, &oe):
		return exitOffenders
	case errors.As(r.err, &ue):
		return exitUsage
	}
	return exitFailure
}

// sluice runs the CLI in-process with args.
func sluice(t *testing.T, args ...string) result {
	t.Helper()
	cmd := newRootCommand()
	var out, errOut bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	cmd.SetArgs(args)
	err := cmd.ExecuteContext(context.Background())
	return result{out.String(), errOut.String(), err}
}

// mustSluice runs the CLI and fails the test when it fails.
func mustSluice(t *testing.T, args ...string) result {
	t.Helper()
	r := sluice(t, args...)
	if r.err != nil {
		t.Fatalf("sluice %s: %v\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), r.err, r.stdout, r.stderr)
	}
	return r
}

// writeManifest renders a manifest template into dir. The template gets
// .Dir, the folder the manifest is written to.
func writeManifest(t *testing.T, dir, text string) string {
	t.Helper()
	var buf bytes.Buffer
	if err := template.Must(template.New("m").Parse(text)).Execute(&buf, map[string]string{"Dir": dir}); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "manifest.yaml")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// packumentVersions fetches a package document from a registry and
// returns each version's dist.
func packumentVersions(t *testing.T, registry, name string) map[string]struct{ Integrity, Shasum, Tarball string } {
	t.Helper()
	resp, err := http.Get(registry + "/" + strings.Replace(name, "/", "%2f", 1))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound {
		return nil
	}
	var doc struct {
		Versions map[string]struct {
			Dist struct{ Integrity, Shasum, Tarball string } `json:"dist"`
		} `json:"versions"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
		t.Fatalf("package document of %s from %s: %v", name, registry, err)
	}
	out := map[string]struct{ Integrity, Shasum, Tarball string }{}
	for v, d := range doc.Versions {
		out[v] = d.Dist
	}
	return out
}

// sriOf downloads url and returns the sha512 integrity of its bytes.
func sriOf(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", url, resp.Status)
	}
	h := sha512.New()
	if _, err := io.Copy(h, resp.Body); err != nil {
		t.Fatal(err)
	}
	return "sha512-" + base64.StdEncoding.EncodeToString(h.Sum(nil))
}
