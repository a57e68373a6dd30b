// Package pipeline assembles an ingest.Runner from plain settings: the npm
// upstream, the scan stage on the data directory's vulnerability database,
// the risk policy's evaluation stage and the gated mirror publisher. The
// server builds one runner per sync with it. It holds no logic of its own
// beyond choosing which stages a setting turns on, and PublishPlugin,
// which runs an approved plugin request through such a runner.
//
// NOTE: sluice sync still builds its runner in cmd/sluice, with signing
// and the container image mirror, which Settings lack.
package pipeline

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/sluice-dev/sluice/approvals"
	"github.com/sluice-dev/sluice/ingest"
	"github.com/sluice-dev/sluice/ingest/blobs"
	"github.com/sluice-dev/sluice/ingest/fetch"
	"github.com/sluice-dev/sluice/ingest/npm"
	"github.com/sluice-dev/sluice/ingest/sign"
	"github.com/sluice-dev/sluice/ingest/state"
	"github.com/sluice-dev/sluice/manifests/policy"
	mirrornpm "github.com/sluice-dev/sluice/mirrors/npm"
	"github.com/sluice-dev/sluice/scanners"
)

// Settings select the upstream, stages and mirror of a runner.
type Settings struct {
	// Upstream is the npm registry to ingest from; UpstreamToken is sent
	// to it when set.
	Upstream      string
	UpstreamToken string
	// Mirror is the npm registry to publish to; empty publishes nothing.
	Mirror     string
	MirrorAuth mirrornpm.Auth
	// Policy is the risk policy file. It is required with a Mirror,
	// because nothing is published without a recorded verdict.
	Policy string
	// Scan turns the scan stage on; it needs a vulnerability database
	// imported into VulnDBDir.
	Scan      bool
	VulnDBDir string
	// Exceptions are exception files (kind Exceptions) for the scan
	// stage. InternalScopes are npm scopes such as @acme that only
	// internal packages use, and MinReleaseAge flags versions published
	// more recently than that; both ask the upstream registry.
	Exceptions     []string
	InternalScopes []string
	MinReleaseAge  time.Duration
	// Concurrency bounds parallel requests (default 8); Retries is the
	// number of retries of a failed request (default 4).
	Concurrency int
	Retries     int
}

// Build returns a runner on db and bs that records actor in the ledger.
// The caller calls done when the run ends, which closes the vulnerability
// database.
func Build(s Settings, db *state.DB, bs *blobs.Store, actor string, log *slog.Logger) (
	r *ingest.Runner, done func() error, err error) {
	if s.Retries <= 0 {
		s.Retries = 4
	}
	client := fetch.New(fetch.WithLogger(log), fetch.WithRetries(s.Retries),
		fetch.WithBackoff(250*time.Millisecond, 10*time.Second))
	reg, err := npm.NewRegistry(s.Upstream, s.UpstreamToken, client)
	if err != nil {
		return nil, nil, err
	}
	r = &ingest.Runner{DB: db, Blobs: bs, NPM: reg, Concurrency: s.Concurrency, Log: log, Actor: actor}
	done = func() error { return nil }
	if s.Scan {
		scanner, err := NewScanner(s, db, bs, reg, log)
		if err != nil {
			return nil, nil, fmt.Errorf("scan stage: %w", err)
		}
		r.Scan = &scanners.Stage{Scanner: scanner, State: db}
		done = scanner.DB.Close
	}
	if s.Mirror != "" {
		if s.Policy == "" {
			done()
			return nil, nil, errors.New("a mirror needs a policy: nothing is published without a recorded verdict")
		}
		pub, err := mirrornpm.New(s.Mirror, s.MirrorAuth, client)
		if err != nil {
			done()
			return nil, nil, err
		}
		r.Publish = approvals.Gate(pub)
	}
	if s.Policy != "" {
		p, err := policy.Load(s.Policy)
		if err != nil {
			done()
			return nil, nil, err
		}
		opts := []approvals.Option{approvals.WithLogger(log)}
		if r.Scan != nil {
			opts = append(opts, approvals.WithFindings(approvals.StoredScans{DB: db}))
		}
		if approvals.NeedsReleaseTime(p) {
			opts = append(opts, approvals.WithReleaseTimes(scanners.NPMUpstream{Registry: reg}))
		}
		r.Evaluate = approvals.NewStage(p, db, bs, opts...)
	}
	return r, done, nil
}

// NewScanner opens the vulnerability database of s.VulnDBDir and sets the
// exceptions and the checks that ask the upstream registry reg; a nil reg
// turns those checks off. Registry signatures are checked once the
// registry's keys were imported with 'sluice keys import-upstream'. The
// caller closes the scanner's DB.
func NewScanner(s Settings, db *state.DB, bs *blobs.Store, reg *npm.Registry, log *slog.Logger) (
	*scanners.Scanner, error) {
	var exc *scanners.Exceptions
	if len(s.Exceptions) > 0 {
		var err error
		if exc, err = scanners.LoadExceptions(s.Exceptions...); err != nil {
			return nil, err
		}
	}
	for _, scope := range s.InternalScopes {
		if !strings.HasPrefix(scope, "@") || strings.Contains(strings.Trim(scope, "@/"), "/") {
			return nil, fmt.Errorf("invalid internal scope %q: use an npm scope such as @acme", scope)
		}
	}
	keys, err := sign.LoadNPMKeys(db, bs)
	if err != nil {
		return nil, err
	}
	vdb, err := scanners.NewVulnDBStore(s.VulnDBDir).Open()
	if err != nil {
		return nil, err
	}
	scanner := &scanners.Scanner{DB: vdb, Blobs: bs, Exceptions: exc, Log: log}
	if reg != nil && (len(s.InternalScopes) > 0 || s.MinReleaseAge > 0 || keys != nil) {
		scanner.Upstream = &scanners.UpstreamChecks{Upstream: scanners.NPMUpstream{Registry: reg},
			InternalScopes: s.InternalScopes, MinReleaseAge: s.MinReleaseAge}
		if keys != nil {
			scanner.Upstream.Signatures = sign.NPMRegistryCheck{Keys: keys, Registry: reg}.Check
		}
	}
	return scanner, nil
}
