package scanners

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/sluice-dev/sluice/ingest/npm"
)

// ErrNoPublishTime is returned by Upstream.PublishTime when the registry
// states no publish time for a version.
var ErrNoPublishTime = errors.New("no publish time")

// Upstream is the public registry artifacts come from, as the checks that
// compare an artifact with it need it.
type Upstream interface {
	// Exists reports whether the registry has a package of that name.
	Exists(ctx context.Context, name string) (bool, error)
	// PublishTime returns when a version was published, or
	// ErrNoPublishTime.
	PublishTime(ctx context.Context, name, version string) (time.Time, error)
}

// NPMUpstream is an Upstream backed by an npm registry.
type NPMUpstream struct {
	Registry *npm.Registry
}

// Exists fetches the package's abbreviated packument.
func (u NPMUpstream) Exists(ctx context.Context, name string) (bool, error) {
	_, err := u.Registry.Packument(ctx, name)
	if errors.Is(err, npm.ErrPackageNotFound) {
		return false, nil
	}
	return err == nil, err
}

// PublishTime reads the version's entry in the full packument's "time"
// field.
func (u NPMUpstream) PublishTime(ctx context.Context, name, version string) (time.Time, error) {
	times, err := u.Registry.PublishTimes(ctx, name)
	if err != nil {
		return time.Time{}, err
	}
	t, ok := times[version]
	if !ok {
		return time.Time{}, fmt.Errorf("%s@%s: %w in the registry's packument", name, version, ErrNoPublishTime)
	}
	return t, nil
}

// UpstreamChecks configures the checks that ask the upstream registry.
type UpstreamChecks struct {
	Upstream Upstream
	// InternalScopes are npm scopes ("@acme") that only internal packages
	// use: such a package existing on the upstream registry is a
	// dependency-confusion risk.
	InternalScopes []string
	// MinReleaseAge flags versions published more recently than this; zero
	// turns the check off.
	MinReleaseAge time.Duration
	// Signatures verifies a version's upstream signatures; nil turns the
	// check off. It returns "" when they verify, or the finding ID
	// ("missing", or a failure such as "invalid") and a detail sentence.
	Signatures func(ctx context.Context, name, version string) (id, detail string, err error)
}

// inInternalScope reports whether name is in one of the internal scopes.
func (c *UpstreamChecks) inInternalScope(name string) bool {
	for _, scope := range c.InternalScopes {
		scope = "@" + strings.TrimSuffix(strings.TrimPrefix(scope, "@"), "/") + "/"
		if strings.HasPrefix(name, scope) {
			return true
		}
	}
	return false
}

// findings runs the dependency-confusion, upstream signature and
// release-age checks for one npm package version.
func (c *UpstreamChecks) findings(ctx context.Context, name, version string,
	now time.Time) ([]Finding, error) {
	if c == nil || c.Upstream == nil {
		return nil, nil
	}
	var out []Finding
	if c.inInternalScope(name) {
		exists, err := c.Upstream.Exists(ctx, name)
		if err != nil {
			return nil, fmt.Errorf("dependency-confusion check of %s: %w", name, err)
		}
		if exists {
			out = append(out, Finding{Kind: KindDependencyConfusion, ID: name, Package: name,
				PackageVersion: version, Severity: SeverityHigh,
				Detail: "the name is in an internal scope but exists on the upstream registry"})
		}
	}
	if c.Signatures != nil {
		id, detail, err := c.Signatures(ctx, name, version)
		if err != nil {
			return nil, fmt.Errorf("upstream signature check of %s@%s: %w", name, version, err)
		}
		if id != "" {
			out = append(out, Finding{Kind: KindUpstreamSignature, ID: id, Package: name,
				PackageVersion: version, Detail: detail})
		}
	}
	if c.MinReleaseAge > 0 {
		published, err := c.Upstream.PublishTime(ctx, name, version)
		switch {
		case errors.Is(err, ErrNoPublishTime):
			// The age cannot be checked, which the evaluation stage should
			// see rather than a failed scan.
			out = append(out, Finding{Kind: KindReleaseAge, ID: "publish-time-unknown", Package: name,
				PackageVersion: version, Detail: "the upstream registry states no publish time for this version"})
		case err != nil:
			return nil, fmt.Errorf("release-age check of %s@%s: %w", name, version, err)
		case now.Sub(published) < c.MinReleaseAge:
			age := now.Sub(published)
			out = append(out, Finding{Kind: KindReleaseAge, ID: "min-release-age",
				Package: name, PackageVersion: version,
				Detail: fmt.Sprintf("published %s, %s before the scan; the minimum is %s",
					published.UTC().Format(time.RFC3339),
					roundAge(age), roundAge(c.MinReleaseAge))})
		}
	}
	return out, nil
}
