package provision

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluice-dev/sluice/internal/harbortest"
	"github.com/sluice-dev/sluice/mirrors/harbor"
	"github.com/sluice-dev/sluice/mirrors/provision/backstage"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// techdocsDigest is the digest of the TechDocs image the fake Harbor has.
const techdocsDigest = "sha256:6f1c4e0e6b7d2b1a3c5e7f9a0b2c4d6e8f0a1b3c5d7e9f1a2b4c6d8e0f1a3b5c"

// passwords are the account passwords matching testdata/htpasswd.
var passwords = map[string]string{
	"VERDACCIO_SLUICE_PASSWORD":      "sluice-password",
	"VERDACCIO_CI_PAYMENTS_PASSWORD": "ci-payments-password",
	"VERDACCIO_CI_WEB_PASSWORD":      "ci-web-password",
}

// records are the mirrored artifacts the catalog shows.
var records = []backstage.Record{
	{Key: "npm/@payments/ledger@2.4.0", Ecosystem: "npm", Name: "@payments/ledger", Version: "2.4.0",
		State: "published", Digest: "sha256:0d6e4079e36703ebd37c00722f5891d28b0e2811dc114b129215123adcce3605",
		Owner: "group:default/payments", DataClass: "confidential",
		Approval: "e-approval:DOC-2026-0412", LastScan: "2026-11-30T09:15:00Z",
		Findings: "critical=0 high=0 medium=1 low=2 suppressed=0", Mirrors: []string{"https://npm.internal/"}},
	{Key: "npm/left-pad@1.3.0", Ecosystem: "npm", Name: "left-pad", Version: "1.3.0", State: "pinned",
		Digest:   "sha256:b91c5bbd3bdbb1e8fc5ea17e9ae7d4b1bcb0f3a8e0b2dc5a3b4cf45e9a4a1a1f",
		Approval: "sha256:9e107d9d372bb6826bd81d3542a419d6e0f1b4c2c7d3f0a9b8e7d6c5b4a39281",
		LastScan: "2026-11-29T22:01:07Z", Findings: "critical=0 high=0 medium=0 low=0 suppressed=0"},
}

// fixture is a declaration in a temporary folder and a fake Harbor.
type fixture struct {
	d      *Declaration
	harbor *harbortest.Server
	client *harbor.Client
	opts   Options
}

// newFixture copies testdata/network.yaml and the account file into a
// temporary folder, and starts a fake Harbor with the options that has
// the TechDocs image.
func newFixture(t *testing.T, options ...harbortest.Option) *fixture {
	t.Helper()
	dir := t.TempDir()
	data, err := os.ReadFile(filepath.Join("testdata", "network.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "network.yaml")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	d, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	seed, err := os.ReadFile(filepath.Join("testdata", "htpasswd"))
	if err != nil {
		t.Fatal(err)
	}
	if err := writeFile(d.OutputDir(), File{Path: VerdaccioHtpasswd, Data: seed, Secret: true}); err != nil {
		t.Fatal(err)
	}
	srv := harbortest.New(t, options...)
	c, err := harbor.New(srv.URL, harbor.WithBasicAuth(harbortest.AdminUser, harbortest.AdminPassword))
	if err != nil {
		t.Fatal(err)
	}
	tools := d.Harbor.Projects[2]
	if _, err := c.EnsureProject(context.Background(), tools.Name, d.projectSettings(tools)); err != nil {
		t.Fatal(err)
	}
	err = srv.AddArtifact(tools.Name, harbortest.Artifact{Repository: "techdocs", Digest: techdocsDigest,
		Tags: []string{"v1.2.1"}})
	if err != nil {
		t.Fatal(err)
	}
	getenv := func(k string) string { return passwords[k] }
	return &fixture{d: d, harbor: srv, client: c,
		opts: Options{Harbor: c, Records: records, Getenv: getenv}}
}

func (f *fixture) diff(t *testing.T) *Plan {
	t.Helper()
	p, err := Diff(context.Background(), f.d, f.opts)
	if err != nil {
		t.Fatalf("diff: %v", err)
	}
	return p
}

func (f *fixture) apply(t *testing.T) *Plan {
	t.Helper()
	p, err := Apply(context.Background(), f.d, f.opts)
	if err != nil {
		t.Fatalf("apply: %v", err)
	}
	return p
}

// planText returns the plan as the CLI prints it.
func planText(t *testing.T, p *Plan) string {
	t.Helper()
	var b strings.Builder
	if err := p.Write(&b); err != nil {
		t.Fatal(err)
	}
	return b.String()
}
