package main

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/sluice-dev/sluice/approvals/eapproval"
)

func newApprovalsExternalCommand(g *globals) *cobra.Command {
	var url, system, callback string
	var retries int
	cmd := &cobra.Command{
		Use:   "external",
		Short: "Submit pending requests to an e-approval system and apply its decisions",
		Long: `External rejects requests past their expiry, creates a document in the
e-approval system for every pending request that has none, and applies the
decisions of every submitted document: approvals count as approvals by
those identities under the chain's rules, rejections reject. Decisions that
break separation of duties are recorded and not counted. Run it on a
schedule. The bearer token comes from SLUICE_EAPPROVAL_TOKEN. The protocol
is described in docs/e-approval.md.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log, err := g.logger()
			if err != nil {
				return err
			}
			if strings.TrimSpace(url) == "" {
				return &usageError{errors.New("no e-approval system: pass --url or set SLUICE_EAPPROVAL_URL")}
			}
			c, err := eapproval.New(url, eapproval.WithToken(os.Getenv("SLUICE_EAPPROVAL_TOKEN")),
				eapproval.WithSystem(system), eapproval.WithCallbackURL(callback),
				eapproval.WithHTTP(g.httpClient(log, retries)), eapproval.WithLogger(log))
			if err != nil {
				return &usageError{err}
			}
			st, err := g.openExistingStore()
			if err != nil {
				return err
			}
			defer st.Close()
			sum, err := c.Sync(cmd.Context(), st.db, st.blobs)
			w := cmd.OutOrStdout()
			for _, line := range []struct {
				what string
				keys []string
			}{{"submitted", sum.Submitted}, {"approved", sum.Approved}, {"rejected", sum.Rejected},
				{"expired", sum.Expired}, {"not counted", sum.NotCounted}} {
				for _, k := range line.keys {
					fmt.Fprintf(w, "%-11s  %s\n", line.what, k)
				}
			}
			return err
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&url, "url", os.Getenv("SLUICE_EAPPROVAL_URL"),
		"base URL of the e-approval system (env SLUICE_EAPPROVAL_URL)")
	fl.StringVar(&system, "system", "e-approval", "name of the system in the ledger")
	fl.StringVar(&callback, "callback-url", "", "URL the system should POST outcomes to")
	fl.IntVar(&retries, "retries", 4, "retries of a failed request, with exponential backoff")
	return cmd
}
