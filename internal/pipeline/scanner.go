package pipeline

import (
	"fmt"
	"log/slog"
	"strings"

	"github.com/sluice-dev/sluice/ingest/blobs"
	"github.com/sluice-dev/sluice/ingest/npm"
	"github.com/sluice-dev/sluice/ingest/sign"
	"github.com/sluice-dev/sluice/ingest/state"
	"github.com/sluice-dev/sluice/scanners"
)

// NewScanner opens the vulnerability database of s.VulnDBDir and sets the
// exceptions and the checks that ask the upstream registry reg. A nil reg
// turns those checks off. Registry signatures are checked once the
// registry's keys were imported with 'sluice keys import-upstream'. The
// caller closes the scanner's DB.
func NewScanner(s Settings, db *state.DB, bs *blobs.Store, reg *npm.Registry, log *slog.Logger) (
	*scanners.Scanner, error) {
	var exc *scanners.Exceptions
	if len(s.Exceptions) > 0 {
		var err error
		if exc, err = scanners.LoadExceptions(s.Exceptions...); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrInvalidSettings, err)
		}
	}
	for _, scope := range s.InternalScopes {
		if !strings.HasPrefix(scope, "@") || strings.Contains(strings.Trim(scope, "@/"), "/") {
			return nil, fmt.Errorf("%w: invalid internal scope %q: use an npm scope such as @acme",
				ErrInvalidSettings, scope)
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
	scanner := &scanners.Scanner{DB: vdb, Blobs: bs, Exceptions: exc, Log: log,
		ImageSignatures: sign.ImageSignatureFinding(db)}
	if reg != nil && (len(s.InternalScopes) > 0 || s.MinReleaseAge > 0 || keys != nil) {
		scanner.Upstream = &scanners.UpstreamChecks{Upstream: scanners.NPMUpstream{Registry: reg},
			InternalScopes: s.InternalScopes, MinReleaseAge: s.MinReleaseAge}
		if keys != nil {
			scanner.Upstream.Signatures = sign.NPMRegistryCheck{Keys: keys, Registry: reg}.Check
		}
	}
	return scanner, nil
}
