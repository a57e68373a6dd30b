package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/sluice-dev/sluice/scanners"
)

// vulnDBStore returns the vulnerability database store of the data
// directory.
func (g *globals) vulnDBStore() *scanners.VulnDBStore {
	return scanners.NewVulnDBStore(filepath.Join(g.dataDir, "vulndb"))
}

func newDBCommand(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "db",
		Short: "Import, inspect and roll back the offline vulnerability database",
		Long: `Scans match packages against a grype vulnerability database (schema v6)
kept in the data directory. Nothing is downloaded at scan time: a database
enters only through 'sluice db import', from an archive carried across the
boundary together with grype's latest.json listing.`,
	}
	cmd.AddCommand(newDBImportCommand(g), newDBStatusCommand(g), newDBRollbackCommand(g))
	return cmd
}

func newDBImportCommand(g *globals) *cobra.Command {
	var opts scanners.ImportOptions
	cmd := &cobra.Command{
		Use:   "import ARCHIVE",
		Short: "Check a grype database archive and make it the current database",
		Long: `Import checks a grype database archive (vulnerability-db_v6...tar.zst) before
using it: its sha256 against grype's latest.json next to it (or --checksum),
the database file against the xxh64 digest in the archive's import.json, the
schema version, and the build time. A database built longer ago than
--max-age is rejected unless --allow-stale is given; such an import is
recorded in the ledger as stale. The database it replaces is kept for
'sluice db rollback'.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			// A missing archive must not leave a new data directory behind.
			if _, err := os.Stat(args[0]); err != nil {
				return fmt.Errorf("vulnerability database archive: %w", err)
			}
			st, err := g.openStore()
			if err != nil {
				return err
			}
			defer st.Close()
			info, err := g.vulnDBStore().Import(args[0], opts)
			if err != nil {
				return err
			}
			if err := scanners.RecordImport(st.db, info, actor()); err != nil {
				return fmt.Errorf("database imported, but recording it in the ledger failed: %w", err)
			}
			out := cmd.OutOrStdout()
			fmt.Fprintln(out, "imported vulnerability database")
			printDBInfo(out, info)
			if info.Stale {
				fmt.Fprintf(out, "  warning    the database is older than %s; imported because of --allow-stale\n",
					opts.MaxAge)
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.DurationVar(&opts.MaxAge, "max-age", scanners.DefaultMaxDBAge,
		"oldest database build time accepted, as a duration before now (120h is five days)")
	fl.BoolVar(&opts.AllowStale, "allow-stale", false,
		"import a database older than --max-age anyway; the ledger records the override")
	fl.BoolVar(&opts.AllowOlder, "allow-older", false,
		"replace the current database with one built before it; the ledger records the override")
	fl.StringVar(&opts.Checksum, "checksum", "",
		"expected sha256 of the archive (sha256:<hex>), when grype's latest.json is not next to it")
	return cmd
}

func newDBStatusCommand(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "status",
		Short: "Show the current and the previous vulnerability database",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cur, prev, err := g.vulnDBStore().Status()
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if cur == nil {
				fmt.Fprintln(out, "no vulnerability database imported: run 'sluice db import ARCHIVE'")
				return nil
			}
			fmt.Fprintln(out, "current")
			printDBInfo(out, cur)
			fmt.Fprintf(out, "  age        %s\n", time.Since(cur.Built).Round(time.Minute))
			if prev != nil {
				fmt.Fprintln(out, "previous (sluice db rollback returns to it)")
				printDBInfo(out, prev)
			}
			return nil
		},
	}
}

func newDBRollbackCommand(g *globals) *cobra.Command {
	var opts scanners.ImportOptions
	cmd := &cobra.Command{
		Use:   "rollback",
		Short: "Make the previous vulnerability database current again",
		Long: `Rollback swaps the current and the previous database, so running it twice
returns to where it started. A previous database built longer ago than
--max-age is refused unless --allow-stale is given, as on import. The ledger
records every rollback.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, err := g.openExistingStore()
			if err != nil {
				return err
			}
			defer st.Close()
			info, err := g.vulnDBStore().Rollback(opts)
			if errors.Is(err, scanners.ErrNoPreviousDB) {
				return err
			}
			if err != nil {
				return err
			}
			if err := scanners.RecordRollback(st.db, info, actor()); err != nil {
				return fmt.Errorf("database rolled back, but recording it in the ledger failed: %w", err)
			}
			fmt.Fprintln(cmd.OutOrStdout(), "rolled back to vulnerability database")
			printDBInfo(cmd.OutOrStdout(), info)
			return nil
		},
	}
	cmd.Flags().DurationVar(&opts.MaxAge, "max-age", scanners.DefaultMaxDBAge,
		"oldest database build time accepted, as a duration before now")
	cmd.Flags().BoolVar(&opts.AllowStale, "allow-stale", false,
		"roll back to a database older than --max-age anyway; the ledger records the override")
	return cmd
}

func printDBInfo(w io.Writer, info *scanners.DBInfo) {
	fmt.Fprintf(w, "  schema     %s\n", info.SchemaVersion)
	fmt.Fprintf(w, "  built      %s\n", info.Built.Format(time.RFC3339))
	fmt.Fprintf(w, "  archive    %s (%s, checked against %s)\n", info.Archive, info.ArchiveDigest,
		info.ChecksumSource)
	fmt.Fprintf(w, "  checksum   %s\n", info.Checksum)
	fmt.Fprintf(w, "  imported   %s\n", info.Imported.Format(time.RFC3339))
}
