package scanners

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/sluice-dev/sluice/ingest"
	"github.com/sluice-dev/sluice/ingest/blobs"
	"github.com/sluice-dev/sluice/ingest/state"
)

// Scanner scans artifacts: SBOM, vulnerabilities, then the further
// checks, then exceptions. One Scanner with one opened VulnDB serves a
// whole run; it is safe for concurrent use.
type Scanner struct {
	DB    *VulnDB
	Blobs *blobs.Store
	// Upstream checks are skipped when nil.
	Upstream *UpstreamChecks
	// ImageSignatures returns an image's upstream signature finding ID
	// ("missing", "invalid") and detail, or "" when there is none. The
	// check itself runs when the image is fetched. Nil skips it.
	ImageSignatures func(ctx context.Context, a *state.Artifact) (id, detail string, err error)
	// Exceptions are applied to vulnerability findings; nil means none.
	Exceptions *Exceptions
	// TempDir is the folder tarballs are unpacked in (default os.TempDir()).
	TempDir string
	Log     *slog.Logger
	// Now returns the time used for expiry and release age (default
	// time.Now).
	Now func() time.Time
}

func (s *Scanner) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

// ScanNPM scans an npm artifact whose tarball opens with open.
func (s *Scanner) ScanNPM(ctx context.Context, a *state.Artifact,
	open func() (*os.File, error)) (*ScanResult, error) {
	return s.Scan(ctx, a, NPMTarball{Name: a.Name, Version: a.Version, Open: open, TempDir: s.TempDir})
}

// Scan scans any subject recorded as artifact a. The npm checks and the
// upstream checks run only for subjects that unpack to an npm package.
func (s *Scanner) Scan(ctx context.Context, a *state.Artifact, subject Subject) (*ScanResult, error) {
	return s.scanSubject(ctx, a, subject, SBOMDigests{})
}

// scanSubject scans a subject. When the blob store holds both documents
// of stored, they are kept as the result's SBOM, and the new SBOM is only
// used for matching.
func (s *Scanner) scanSubject(ctx context.Context, a *state.Artifact, subject Subject,
	stored SBOMDigests) (*ScanResult, error) {
	p, err := subject.Prepare(ctx)
	if err != nil {
		return nil, err
	}
	defer p.Close()
	return s.scan(ctx, a, p, stored)
}

func (s *Scanner) scan(ctx context.Context, a *state.Artifact, p *Prepared,
	stored SBOMDigests) (*ScanResult, error) {
	start := time.Now()
	bom, err := GenerateSBOM(ctx, p)
	if err != nil {
		return nil, err
	}
	digests := stored
	if stored.SPDX == "" || !s.Blobs.Has(stored.SPDX) || !s.Blobs.Has(stored.CycloneDX) {
		docs, err := EncodeSBOM(bom)
		if err != nil {
			return nil, err
		}
		if digests, err = docs.Store(s.Blobs); err != nil {
			return nil, err
		}
	}

	findings, err := s.DB.Match(ctx, bom)
	if err != nil {
		return nil, err
	}
	now := s.now()
	if p.PackageDir != "" {
		more, err := npmPackageFindings(p.PackageDir)
		if err != nil {
			return nil, fmt.Errorf("install-script check: %w", err)
		}
		findings = append(findings, more...)
		upstream, err := s.Upstream.findings(ctx, a.Name, a.Version, now)
		if err != nil {
			return nil, err
		}
		findings = append(findings, upstream...)
	}
	licenses, err := licenseFindings(bom, p.PackageDir)
	if err != nil {
		return nil, fmt.Errorf("license check: %w", err)
	}
	findings = append(findings, licenses...)
	r := &ScanResult{Artifact: a.Key(), Digest: a.Digest, Scanned: now, SBOM: digests,
		DB: dbRef(s.DB.Info), Findings: findings}
	r.ExpiredExceptions = s.Exceptions.Apply(r.Findings, now)
	if s.Log != nil {
		s.Log.Debug("scanned", "artifact", a.Key(), "findings", len(findings), "duration", time.Since(start))
	}
	return r, nil
}

// Stage is the scan stage of a sync run (ingest.Runner.Scan). It stores
// each artifact's ScanResult in the state store and moves the artifact to
// scanned with the SBOM digests, the database and the finding counts as
// evidence. It never rejects: deciding on findings is the evaluation
// stage's work.
type Stage struct {
	Scanner *Scanner
	State   *state.DB
}

var _ ingest.Stage = (*Stage)(nil)

// Name returns "scan".
func (st *Stage) Name() string { return "scan" }

// Process scans one fetched artifact.
func (st *Stage) Process(ctx context.Context, a *state.Artifact,
	tarball func() (*os.File, error)) (ingest.Outcome, error) {
	var r *ScanResult
	var err error
	switch a.Ecosystem {
	case state.EcosystemNPM:
		r, err = st.Scanner.ScanNPM(ctx, a, tarball)
	case state.EcosystemOCI:
		r, err = st.Scanner.ScanImage(ctx, a)
	default:
		return ingest.Outcome{}, fmt.Errorf("scan %s: ecosystem %s is not supported", a.Key(), a.Ecosystem)
	}
	if err != nil {
		return ingest.Outcome{}, fmt.Errorf("scan %s: %w", a.Key(), err)
	}
	if err := st.State.Update(func(tx *state.Tx) error { return SaveResult(tx, r) }); err != nil {
		return ingest.Outcome{}, fmt.Errorf("store scan result of %s: %w", a.Key(), err)
	}
	return ingest.Outcome{To: state.StateScanned, Evidence: r.Evidence()}, nil
}
