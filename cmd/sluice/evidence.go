package main

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/sluice-dev/sluice/approvals"
	"github.com/sluice-dev/sluice/ingest/state"
)

func newEvidenceCommand(g *globals) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "evidence ARTIFACT",
		Short: "Print the evidence of an artifact: verdict, inputs, approvals, ledger, lead time",
		Long: `Evidence collects what Sluice recorded about one artifact: its state and
digest, the policy verdict with the policy's digest, the rules that fired
and the facts they matched, the digests of the SBOM and scan the verdict
rests on, the approval request with every approver, each ledger entry,
and the lead time from request to publication. ARTIFACT is name@version
for npm or a full key such as npm/lodash@4.17.21.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			st, key, err := g.openArtifact(args[0])
			if err != nil {
				return err
			}
			defer st.Close()
			ae, err := approvals.CollectEvidence(st.db, st.blobs, key)
			if err != nil {
				return err
			}
			if asJSON {
				return writeIndentedJSON(cmd.OutOrStdout(), ae)
			}
			printEvidence(cmd.OutOrStdout(), ae)
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the evidence as JSON")
	return cmd
}

func printEvidence(w io.Writer, ae *approvals.ArtifactEvidence) {
	a := ae.Artifact
	fmt.Fprintf(w, "artifact   %s\n", a.Key())
	fmt.Fprintf(w, "state      %s\n", a.State)
	fmt.Fprintf(w, "digest     %s\n", dashIfEmpty(a.Digest))
	fmt.Fprintf(w, "requester  %s (data class %s)\n", dashIfEmpty(a.Requester), dashIfEmpty(a.DataClass))
	if len(a.Skipped) > 0 {
		fmt.Fprintf(w, "skipped    %v\n", a.Skipped)
	}

	if ae.Evidence == nil {
		fmt.Fprintln(w, "verdict    none: the artifact was not evaluated")
	} else {
		d := ae.Evidence.Decision
		fmt.Fprintf(w, "verdict    %s by policy %s@%s (%s), evidence %s\n", d.Tier, d.Policy, d.PolicyDigest,
			ae.Evidence.PolicyFile, ae.Evaluation.Evidence)
		printVerdict(w, ae.Evidence)
	}
	if r := ae.Request; r != nil {
		fmt.Fprintf(w, "request    %s, chain %s\n", r.Status, r.ChainString())
		for _, v := range r.Approvals {
			fmt.Fprintf(w, "  approved by %s as %s, %s: %s\n", v.Identity, v.Role,
				v.Time.UTC().Format(time.RFC3339), dashIfEmpty(v.Reason))
		}
	}

	lt := ae.LeadTime
	if !lt.Published.IsZero() {
		fmt.Fprintf(w, "lead time  %s from request to publication, %s of it awaiting approval\n",
			lt.Total.Round(time.Second), lt.Waiting.Round(time.Second))
	}

	fmt.Fprintln(w, "ledger")
	for _, e := range ae.Ledger {
		move := e.Type
		if e.Type == state.EntryTransition {
			move = fmt.Sprintf("%s -> %s", dashIfEmpty(string(e.From)), e.To)
		}
		fmt.Fprintf(w, "  %d  %s  %-32s  %s  %s\n", e.Seq, e.Time.UTC().Format(time.RFC3339), move,
			dashIfEmpty(e.Actor), evidenceSummary(e.Evidence))
	}
}

// evidenceSummary formats a ledger entry's evidence as key=value pairs.
func evidenceSummary(ev map[string]string) string {
	parts := make([]string, 0, len(ev))
	for _, k := range sortedStringKeys(ev) {
		if ev[k] != "" {
			parts = append(parts, k+"="+ev[k])
		}
	}
	return strings.Join(parts, " ")
}
