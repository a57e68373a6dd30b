package main

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/sluice-dev/sluice/ingest/bundle"
)

func newBundleCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "bundle",
		Short: "Look into transfer bundles without importing them",
	}
	var key string
	var asJSON bool
	inspect := &cobra.Command{
		Use:   "inspect BUNDLE",
		Short: "List what a bundle holds: artifacts, files, parts and ledger segment",
		Long: `Inspect reads a bundle's index and lists its artifacts, files, parts and the
outside ledger entries it carries. With --key it also checks the signature;
without, it says that the signature was not checked. It reads no part.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			b, err := bundle.Open(args[0])
			if err != nil {
				return err
			}
			defer b.Close()
			signature := "not checked: pass --key"
			if key != "" {
				v, err := bundle.LoadVerifier(key)
				if err != nil {
					return &usageError{err}
				}
				if err := b.Verify(v); err != nil {
					return err
				}
				signature = "valid, key " + b.Index.Signer
			}
			if asJSON {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(b.Index)
			}
			printIndex(cmd.OutOrStdout(), b.Index, signature)
			return nil
		},
	}
	inspect.Flags().StringVar(&key, "key", "", "PEM public key to check the signature with")
	inspect.Flags().BoolVar(&asJSON, "json", false, "print the index as JSON")
	cmd.AddCommand(inspect)
	return cmd
}

func printIndex(w io.Writer, ix *bundle.Index, signature string) {
	fmt.Fprintf(w, "bundle     %s, created %s\n", ix.ID, ix.Created.Format("2006-01-02 15:04:05Z"))
	if ix.From != "" {
		fmt.Fprintf(w, "continues  %s\n", ix.From)
	}
	fmt.Fprintf(w, "signature  %s\n", signature)
	fmt.Fprintf(w, "ledger     outside entries %d to %d, head %s\n", ix.Ledger.Before.Seq+1, ix.Ledger.After.Seq,
		ix.Ledger.After.Hash)
	fmt.Fprintf(w, "files      %d, %s\n", len(ix.Files), humanBytes(ix.Size()))
	for _, p := range ix.Parts {
		fmt.Fprintf(w, "part       %s  %s  %s\n", p.Name, humanBytes(p.Size), p.Digest)
	}
	fmt.Fprintf(w, "artifacts  %d\n", len(ix.Artifacts))
	for _, a := range ix.Artifacts {
		fmt.Fprintf(w, "  %-50s %-9s %s\n", a.Key(), a.Record.State, a.Record.Digest)
	}
}
