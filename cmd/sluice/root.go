package main

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/sluice-dev/sluice/ingest/blobs"
	"github.com/sluice-dev/sluice/ingest/fetch"
	"github.com/sluice-dev/sluice/ingest/state"
)

// usageError marks a command line that cannot be run as given.
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

// globals are the flags every command shares.
type globals struct {
	dataDir   string
	logLevel  string
	logFormat string
	quiet     bool
}

func newRootCommand() *cobra.Command {
	g := &globals{}
	root := &cobra.Command{
		Use:   "sluice",
		Short: "Bring npm packages into an air-gapped network, verified and recorded",
		Long: `Sluice is the gateway between the internet and an air-gapped network.

Manifests kept in Git name what may come in. 'sluice sync' resolves them to
exact versions (npm: the full dependency closure), fetches them with retries,
checks every tarball against its published integrity, stores it by digest,
and publishes the original bytes to the internal mirror. 'sluice pin' then
points lockfiles at that mirror. Every step is recorded in a hash-chained
ledger that 'sluice ledger verify' checks.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Example: `  sluice plan manifests/
  sluice sync manifests/ --npm-mirror http://verdaccio.internal:4873/
  sluice pin app/package-lock.json --npm-mirror http://verdaccio.internal:4873/
  sluice ledger verify`,
	}
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return &usageError{fmt.Errorf("%w; see %s --help", err, c.CommandPath())}
	})
	root.PersistentPreRunE = func(*cobra.Command, []string) error {
		_, err := g.logger()
		return err
	}
	pf := root.PersistentFlags()
	pf.StringVar(&g.dataDir, "data-dir", envOr("SLUICE_DATA_DIR", ".sluice"),
		"folder for the blob store and state database (env SLUICE_DATA_DIR)")
	pf.StringVar(&g.logLevel, "log-level", "info", "log level: debug, info, warn or error")
	pf.StringVar(&g.logFormat, "log-format", "text", "log format: text or json")
	pf.BoolVarP(&g.quiet, "quiet", "q", false, "print no progress, only the summary and errors")
	root.AddCommand(newSyncCommand(g), newPlanCommand(g), newPinCommand(g), newLedgerCommand(g),
		newDBCommand(g), newScanCommand(g), newReportCommand(g), newApprovalsCommand(g),
		newEvidenceCommand(g), newPolicyCommand(g), newPluginCommand(g), newClientsCommand(),
		newKeysCommand(g), newVerifyCommand(g), newProvisionCommand(g), newTechDocsCommand(),
		newServeCommand(g), newRunsCommand(), newExportCommand(g), newImportCommand(g),
		newBundleCommand(), newVersionCommand())
	wrapArgErrors(root)
	return root
}

// wrapArgErrors makes every command's positional-argument check return a
// usageError, so a wrong number of arguments exits 2 like a wrong flag.
func wrapArgErrors(cmd *cobra.Command) {
	if check := cmd.Args; check != nil {
		cmd.Args = func(c *cobra.Command, args []string) error {
			if err := check(c, args); err != nil {
				return &usageError{fmt.Errorf("%w; see %s --help", err, c.CommandPath())}
			}
			return nil
		}
	}
	for _, sub := range cmd.Commands() {
		wrapArgErrors(sub)
	}
}

func envOr(key, fallback string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return fallback
}

func (g *globals) logger() (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(g.logLevel)); err != nil {
		return nil, &usageError{fmt.Errorf("invalid --log-level %q: use debug, info, warn or error", g.logLevel)}
	}
	opts := &slog.HandlerOptions{Level: level}
	switch strings.ToLower(g.logFormat) {
	case "text":
		return slog.New(slog.NewTextHandler(os.Stderr, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(os.Stderr, opts)), nil
	}
	return nil, &usageError{fmt.Errorf("invalid --log-format %q: use text or json", g.logFormat)}
}

// store is an open data directory.
type store struct {
	db    *state.DB
	blobs *blobs.Store
	// cleanup, when set, removes a temporary data directory on Close.
	cleanup func()
}

func (s *store) Close() error {
	err := s.db.Close()
	if s.cleanup != nil {
		s.cleanup()
	}
	return err
}

// openStore opens the state database first, because its file lock keeps a
// second sluice off the same data directory, and only then the blob store,
// which clears temporary files a killed run left behind.
func (g *globals) openStore() (*store, error) {
	db, err := state.Open(filepath.Join(g.dataDir, "sluice.db"))
	if err != nil {
		return nil, err
	}
	b, err := blobs.Open(filepath.Join(g.dataDir, "blobs"))
	if err != nil {
		db.Close()
		return nil, err
	}
	return &store{db: db, blobs: b}, nil
}

// openExistingStore opens the data directory only if a sync has created
// it, so that a mistyped --data-dir fails instead of showing an empty
// store.
func (g *globals) openExistingStore() (*store, error) {
	if _, err := os.Stat(filepath.Join(g.dataDir, "sluice.db")); errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("no Sluice data in %s: pass --data-dir (or set SLUICE_DATA_DIR) to the "+
			"folder sync uses, or run sluice sync first", g.dataDir)
	}
	return g.openStore()
}

func (g *globals) httpClient(log *slog.Logger, retries int) *fetch.Client {
	return fetch.New(fetch.WithLogger(log), fetch.WithRetries(retries),
		fetch.WithBackoff(250*time.Millisecond, 10*time.Second))
}

// interactive reports whether progress bars can be drawn.
func (g *globals) interactive() bool {
	return !g.quiet && term.IsTerminal(int(os.Stderr.Fd()))
}
