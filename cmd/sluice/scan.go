package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/sluice-dev/sluice/approvals"
	"github.com/sluice-dev/sluice/ingest"
	"github.com/sluice-dev/sluice/ingest/npm"
	"github.com/sluice-dev/sluice/ingest/sign"
	"github.com/sluice-dev/sluice/manifests/policy"
	"github.com/sluice-dev/sluice/scanners"
)

// scanFlags configure the scan stage and rescans.
type scanFlags struct {
	skip           bool
	exceptions     []string
	internalScopes []string
	minReleaseAge  time.Duration
}

func (f *scanFlags) register(cmd *cobra.Command, withSkip bool) {
	fl := cmd.Flags()
	if withSkip {
		fl.BoolVar(&f.skip, "no-scan", false,
			"skip the scan stage (recorded as skipped in the ledger); without it a vulnerability database "+
				"must have been imported")
	}
	fl.StringSliceVar(&f.exceptions, "exceptions", nil,
		"exception files (kind Exceptions) marking vulnerabilities not_affected until they expire")
	fl.StringSliceVar(&f.internalScopes, "internal-scope", nil,
		"npm scope used only by internal packages (@acme); such a package found upstream is flagged")
	fl.DurationVar(&f.minReleaseAge, "min-release-age", 0,
		"flag versions published more recently than this duration before the scan (336h is 14 days); "+
			"0 turns the check off")
}

// scanner opens the current vulnerability database and builds a scanner.
// The caller closes the returned database. reg may be nil, which turns
// the checks that ask the upstream registry off.
func (f *scanFlags) scanner(g *globals, st *store, reg *npm.Registry,
	log *slog.Logger) (*scanners.Scanner, error) {
	var exc *scanners.Exceptions
	if len(f.exceptions) > 0 {
		var err error
		if exc, err = scanners.LoadExceptions(f.exceptions...); err != nil {
			return nil, &usageError{err}
		}
	}
	for _, scope := range f.internalScopes {
		if !strings.HasPrefix(scope, "@") || strings.Contains(strings.Trim(scope, "@/"), "/") {
			return nil, &usageError{fmt.Errorf("invalid --internal-scope %q: use an npm scope such as @acme", scope)}
		}
	}
	db, err := g.vulnDBStore().Open()
	if err != nil {
		return nil, err
	}
	s := &scanners.Scanner{DB: db, Blobs: st.blobs, Exceptions: exc, Log: log,
		ImageSignatures: sign.ImageSignatureFinding(st.db)}
	// Registry signatures are checked once the registry's keys were
	// imported with 'sluice keys import-upstream'.
	keys, err := sign.LoadNPMKeys(st.db, st.blobs)
	if err != nil {
		db.Close()
		return nil, err
	}
	if reg != nil && (len(f.internalScopes) > 0 || f.minReleaseAge > 0 || keys != nil) {
		s.Upstream = &scanners.UpstreamChecks{Upstream: scanners.NPMUpstream{Registry: reg},
			InternalScopes: f.internalScopes, MinReleaseAge: f.minReleaseAge}
		if keys != nil {
			s.Upstream.Signatures = sign.NPMRegistryCheck{Keys: keys, Registry: reg}.Check
		}
	}
	return s, nil
}

// stage builds the sync runner's scan stage, which loads the vulnerability
// database once for the whole run; the caller calls done when the run
// ends. With --no-scan the stage is nil, so the runner records the scanned
// state as skipped.
func (f *scanFlags) stage(g *globals, st *store, reg *npm.Registry, log *slog.Logger) (stage ingest.Stage,
	done func() error, err error) {
	if f.skip {
		return nil, func() error { return nil }, nil
	}
	s, err := f.scanner(g, st, reg, log)
	if errors.Is(err, scanners.ErrNoDB) {
		return nil, nil, &usageError{fmt.Errorf("%w; or pass --no-scan to sync without scanning", err)}
	}
	if err != nil {
		return nil, nil, err
	}
	return &scanners.Stage{Scanner: s, State: st.db}, s.DB.Close, nil
}

func newScanCommand(g *globals) *cobra.Command {
	f := &scanFlags{}
	var sinceDB bool
	var policyFile string
	cmd := &cobra.Command{
		Use:   "scan --since-db",
		Short: "Rescan every stored artifact against the current vulnerability database",
		Long: `Scan --since-db scans every artifact that has a scan result again, against
the current vulnerability database, and lists the artifacts that have
vulnerabilities their previous scan did not report, typically because a
newer database was imported. Each such artifact gets a ledger entry, and so
does the rescan. Artifacts keep their state. Checks that ask the upstream
registry are not repeated: their earlier findings are kept. Pass the same
--exceptions files as sync, because a vulnerability that no exception covers
any more counts as new. With --policy, each artifact that became vulnerable
is evaluated again: an approval its new findings no longer support is
withdrawn and the artifact waits for people again. Exits 3 when an artifact
became vulnerable.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !sinceDB {
				return &usageError{errors.New("name what to rescan: --since-db rescans every stored artifact")}
			}
			log, err := g.logger()
			if err != nil {
				return err
			}
			st, err := g.openExistingStore()
			if err != nil {
				return err
			}
			defer st.Close()
			s, err := f.scanner(g, st, nil, log)
			if err != nil {
				return err
			}
			defer s.DB.Close()
			sum, err := scanners.Rescan(cmd.Context(), s, st.db, actor())
			if sum != nil {
				printRescan(cmd, sum)
			}
			if err != nil {
				return err
			}
			if err := reevaluate(cmd, st, policyFile, sum, log); err != nil {
				return err
			}
			if len(sum.Changes) > 0 {
				return &offendersError{fmt.Sprintf("%d artifacts became vulnerable", len(sum.Changes))}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&sinceDB, "since-db", false,
		"rescan every stored artifact and list what became vulnerable since its previous scan")
	cmd.Flags().StringVar(&policyFile, "policy", os.Getenv("SLUICE_POLICY"),
		"risk policy to evaluate newly vulnerable artifacts against again (env SLUICE_POLICY)")
	f.register(cmd, false)
	return cmd
}

// reevaluate runs the policy again on every artifact the rescan found
// newly vulnerable, so that an approval resting on the old findings is
// withdrawn.
func reevaluate(cmd *cobra.Command, st *store, policyFile string, sum *scanners.RescanSummary, log *slog.Logger) error {
	if policyFile == "" || len(sum.Changes) == 0 {
		return nil
	}
	p, err := policy.Load(policyFile)
	if err != nil {
		return &usageError{err}
	}
	stage := approvals.NewStage(p, st.db, st.blobs, approvals.WithLogger(log),
		approvals.WithFindings(approvals.StoredScans{DB: st.db}))
	for _, c := range sum.Changes {
		reason := fmt.Sprintf("rescan against database %s found %d new vulnerabilities", sum.DB.Checksum, len(c.New))
		if err := stage.Reevaluate(cmd.Context(), c.Artifact, reason); err != nil {
			return fmt.Errorf("%s: evaluate again: %w", c.Artifact, err)
		}
		a, err := st.db.Artifact(c.Artifact)
		if err == nil {
			fmt.Fprintf(cmd.OutOrStdout(), "%s: evaluated again under %s, now %s\n", c.Artifact, p.Metadata.Name, a.State)
		}
	}
	return nil
}

func printRescan(cmd *cobra.Command, sum *scanners.RescanSummary) {
	out := cmd.OutOrStdout()
	fmt.Fprintf(out, "rescanned %d artifacts against the database built %s (%s)\n", sum.Rescanned,
		sum.DB.Built.Format(time.RFC3339), sum.DB.Checksum)
	if len(sum.Changes) == 0 {
		fmt.Fprintln(out, "no artifact became vulnerable")
	}
	for _, c := range sum.Changes {
		fmt.Fprintf(out, "%s became vulnerable:\n", c.Artifact)
		printVulnerabilities(out, c.New)
	}
	for _, c := range sum.Cleared {
		fmt.Fprintf(out, "%s is no longer reported vulnerable to:\n", c.Artifact)
		printVulnerabilities(out, c.New)
	}
}

func printVulnerabilities(out io.Writer, vulns []scanners.Finding) {
	for _, v := range vulns {
		fixed := "no fix known"
		if len(v.FixedIn) > 0 {
			fixed = "fixed in " + strings.Join(v.FixedIn, ", ")
		}
		fmt.Fprintf(out, "  %s %s (%s) %s@%s, %s\n", v.ID, v.Severity, strings.Join(v.Aliases, ", "),
			v.Package, v.PackageVersion, fixed)
	}
}
