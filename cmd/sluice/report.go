package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/sluice-dev/sluice/ingest/state"
	"github.com/sluice-dev/sluice/scanners"
)

func newReportCommand(g *globals) *cobra.Command {
	var format, output string
	cmd := &cobra.Command{
		Use:   "report ARTIFACT|RUN",
		Short: "Write the scan report of an artifact or of a sync run",
		Long: `Report writes the stored scan results of one artifact (lodash@4.17.21 or
npm/lodash@4.17.21) or of every artifact a sync run touched (its run ID), as JSON (schema
sluice.dev/scan-report/v1, see docs/report-schema.md), Markdown or SARIF
2.1.0.`,
		Example: `  sluice report npm/lodash@4.17.20 --format markdown
  sluice report 20261204T101500Z-3f2a --format sarif -o scan.sarif`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if format != "json" && format != "markdown" && format != "sarif" {
				return &usageError{fmt.Errorf("invalid --format %q: use json, markdown or sarif", format)}
			}
			st, err := g.openExistingStore()
			if err != nil {
				return err
			}
			defer st.Close()
			target := args[0]
			if strings.Contains(target, "@") {
				// An artifact, given as name@version or as its full key.
				if target, err = resolveArtifactArg(st.db, target); err != nil {
					return err
				}
			}
			rep, err := scanners.BuildReport(st.db, target, time.Now())
			if errors.Is(err, state.ErrNotFound) || errors.Is(err, scanners.ErrNoResult) {
				return &usageError{err}
			}
			if err != nil {
				return err
			}
			if output == "" || output == "-" {
				return writeReport(cmd.OutOrStdout(), rep, format)
			}
			f, err := os.Create(output)
			if err != nil {
				return err
			}
			if err := writeReport(f, rep, format); err != nil {
				f.Close()
				return err
			}
			return f.Close()
		},
	}
	cmd.Flags().StringVar(&format, "format", "json", "report format: json, markdown or sarif")
	cmd.Flags().StringVarP(&output, "output", "o", "-", "file to write, - for standard output")
	return cmd
}

func writeReport(w io.Writer, rep *scanners.Report, format string) error {
	switch format {
	case "markdown":
		return rep.WriteMarkdown(w)
	case "sarif":
		return rep.WriteSARIF(w)
	}
	return rep.WriteJSON(w)
}
