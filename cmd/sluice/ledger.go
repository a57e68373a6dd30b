package main

import (
	"encoding/hex"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/sluice-dev/sluice/ingest/state"
)

func newLedgerCommand(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "ledger",
		Short: "Verify or export the hash-chained ledger of every step Sluice took",
	}
	var file, anchor string
	verify := &cobra.Command{
		Use:   "verify",
		Short: "Check that no ledger entry was edited or removed",
		Long: `Verify recomputes the hash chain of the ledger in the data directory (or of
an export given with --file) and lists every entry that was edited, removed
or reordered. --expect-head compares the last entry's hash with one an
auditor recorded earlier, which also catches entries cut from the end of an
export. Exits 3 when the ledger is broken.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			v, err := verifyLedger(g, file)
			if err != nil {
				return err
			}
			if anchor != "" && !validHash(anchor) {
				return &usageError{fmt.Errorf("invalid --expect-head %q: give the 64-digit hex hash that ledger verify printed", anchor)}
			}
			if anchor != "" && v.Head != anchor {
				v.Problems = append(v.Problems, state.Problem{Seq: v.Entries,
					Message: fmt.Sprintf("head is %s, expected %s: entries were added or removed since the head was recorded", v.Head, anchor)})
			}
			out := cmd.OutOrStdout()
			for _, p := range v.Problems {
				if p.Subject != "" {
					fmt.Fprintf(out, "entry %d (%s): %s\n", p.Seq, p.Subject, p.Message)
				} else {
					fmt.Fprintf(out, "entry %d: %s\n", p.Seq, p.Message)
				}
			}
			if !v.OK() {
				return &offendersError{fmt.Sprintf("ledger verification failed: %s in %s",
					plural(len(v.Problems), "problem", "problems"), plural(int(v.Entries), "entry", "entries"))}
			}
			fmt.Fprintf(out, "ledger ok: %d entries, head %s\n", v.Entries, v.Head)
			return nil
		},
	}
	verify.Flags().StringVar(&file, "file", "", "verify a ledger export (JSON Lines) instead of the data directory")
	verify.Flags().StringVar(&anchor, "expect-head", "", "hash the last entry must have")
	var output string
	export := &cobra.Command{
		Use:   "export",
		Short: "Write every ledger entry as JSON Lines, for auditors",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, err := g.openExistingStore()
			if err != nil {
				return err
			}
			defer st.Close()
			w := cmd.OutOrStdout()
			if output != "" && output != "-" {
				f, err := os.Create(output)
				if err != nil {
					return err
				}
				defer f.Close()
				w = f
			}
			return st.db.ExportLedger(w)
		},
	}
	export.Flags().StringVarP(&output, "output", "o", "-", "file to write, - for standard output")
	cmd.AddCommand(verify, export)
	return cmd
}

func validHash(s string) bool {
	if len(s) != 64 {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil
}

func verifyLedger(g *globals, file string) (*state.Verification, error) {
	if file != "" {
		f, err := os.Open(file)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		v, err := state.VerifyExport(f)
		if err != nil {
			return nil, &offendersError{fmt.Sprintf("%s: %v", file, err)}
		}
		return v, nil
	}
	st, err := g.openExistingStore()
	if err != nil {
		return nil, err
	}
	defer st.Close()
	return st.db.VerifyLedger()
}
