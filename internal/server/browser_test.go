package server

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/sluice-dev/sluice/ingest/state"
	"github.com/sluice-dev/sluice/internal/verdacciotest"
)

// chromium returns the Chromium binary: SLUICE_CHROMIUM, or chromium on
// PATH. A missing browser fails the test: it is never skipped.
func chromium(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("SLUICE_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("no Chromium: install it (apt-get install chromium) or set SLUICE_CHROMIUM")
	return ""
}

// artifactsDir is where the browser test keeps its screenshots:
// $SLUICE_TEST_ARTIFACTS/<test name> when set, else a temporary folder.
func artifactsDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if root := os.Getenv("SLUICE_TEST_ARTIFACTS"); root != "" {
		dir = filepath.Join(root, t.Name())
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("screenshots in %s", dir)
	return dir
}

// newBrowser starts headless Chromium with a fresh profile and the
// background services off, because the machine has no network.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium(t)),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 1000),
	)
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(alloc)
	ctx, cancelTimeout := context.WithTimeout(ctx, 3*time.Minute)
	t.Cleanup(func() {
		cancelTimeout()
		cancelCtx()
		cancelAlloc()
	})
	return ctx
}

// TestReviewInBrowser is a reviewer's session in headless Chromium: sign
// in with a token, open the pending request, read its findings, approve
// it, and watch the sync that publishes it to a real Verdaccio.
func TestReviewInBrowser(t *testing.T) {
	mirror := verdacciotest.Start(t)
	f := newFixture(t, fixtureOptions{mirror: mirror.URL, mirrorToken: mirror.Token})
	if run := f.sync(f.idp.token(t, "bob")); run.Status != RunSucceeded {
		t.Fatalf("first sync %s: %s", run.Status, run.Error)
	}
	shots := artifactsDir(t)
	ctx := newBrowser(t)
	do := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, steps...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	text := func(id string) string {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID(id)))
		if err != nil {
			t.Fatalf("text of #%s: %v", id, err)
		}
		return v
	}
	shot := func(name string) {
		t.Helper()
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatalf("screenshot %s: %v", name, err)
		}
		if err := os.WriteFile(filepath.Join(shots, name), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	do("open the review page", chromedp.Navigate(f.url+"/ui/"), chromedp.WaitVisible(chromedp.ID("token")))
	shot("01-sign-in.png")
	do("sign in", chromedp.SetValue(chromedp.ID("token"), f.idp.token(t, "alice")),
		chromedp.Click(chromedp.ID("signin")), chromedp.WaitVisible(chromedp.ID("pending")))
	shot("02-pending.png")
	if pending := text("pending"); !strings.Contains(pending, "npm/lodash@4.17.20") ||
		!strings.Contains(pending, "high-with-fix") {
		t.Fatalf("pending list lacks lodash and its rule: %q", pending)
	}

	do("open the request", chromedp.Click(chromedp.CSS(`a[href="/ui/requests/npm%2Flodash@4.17.20"]`)),
		chromedp.WaitVisible(chromedp.ID("vulnerabilities")))
	shot("03-request.png")
	if vulns := text("vulnerabilities"); !strings.Contains(vulns, "GHSA-35jh-r3h4-6jhm") || !strings.Contains(vulns, "high") {
		t.Errorf("findings table = %q, want GHSA-35jh-r3h4-6jhm high", vulns)
	}
	if tier, rules := text("tier"), text("rules"); tier != "medium" || !strings.Contains(rules, "high-with-fix") {
		t.Errorf("tier %q rules %q, want medium by high-with-fix", tier, rules)
	}

	do("approve", chromedp.SetValue(chromedp.ID("reason"), "the app calls no template function"),
		chromedp.Click(chromedp.ID("approve")), chromedp.WaitVisible(chromedp.ID("message")))
	shot("04-approved.png")
	if message, status := text("message"), text("request-status"); message != "approved" || status != "approved" {
		t.Errorf("after approving: message %q, status %q", message, status)
	}

	// The approval queues a sync, which publishes the artifact.
	var proceed *Run
	runs, err := f.srv.runs.list()
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range runs {
		if r.Trigger == TriggerApproval {
			proceed = r
		}
	}
	if proceed == nil {
		t.Fatal("no sync was queued after the approval")
	}
	f.waitRun(proceed.ID)
	do("open the run", chromedp.Navigate(f.url+"/ui/runs/"+proceed.ID), chromedp.WaitVisible(chromedp.ID("run-published")))
	shot("05-run.png")
	if status, published := text("run-status"), text("run-published"); status != "succeeded" ||
		!strings.HasPrefix(published, "1 ") {
		t.Errorf("run page: status %q, published %q", status, published)
	}
	a, err := f.srv.db.Artifact("npm/lodash@4.17.20")
	if err != nil {
		t.Fatal(err)
	}
	if a.State != state.StatePublished {
		t.Errorf("lodash is %s after approval and sync, want published", a.State)
	}
}
