package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/sluice-dev/sluice/approvals"
	"github.com/sluice-dev/sluice/manifests/policy"
)

func newPolicyCommand(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "policy",
		Short: "Check a risk policy, or test it against the artifacts this gateway recorded",
	}
	check := &cobra.Command{
		Use:   "check POLICY...",
		Short: "Validate risk policy files and print every problem with its line and column",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			failed := 0
			for _, file := range args {
				p, err := policy.Load(file)
				if err != nil {
					fmt.Fprintln(cmd.OutOrStdout(), err)
					failed++
					continue
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s: policy %s ok, %d rules, digest %s\n", file,
					p.Metadata.Name, len(p.Rules), p.Digest)
			}
			if failed > 0 {
				return &offendersError{fmt.Sprintf("%d of %d policy files are invalid", failed, len(args))}
			}
			return nil
		},
	}
	cmd.AddCommand(check, newPolicyTestCommand(g))
	return cmd
}

func newPolicyTestCommand(g *globals) *cobra.Command {
	var asJSON, all, failOnChange bool
	cmd := &cobra.Command{
		Use:   "test POLICY",
		Short: "Show which recorded artifacts a policy would put in another tier, changing nothing",
		Long: `Test evaluates the policy file against the facts recorded with every
artifact this gateway evaluated (findings, licenses, release time, data
class, each as it was at evaluation time) and lists the artifacts whose
tier would change. Run it on a policy change before it is merged: the
list is what the change means for artifacts already in. Nothing is
written; artifacts keep their state and verdict until they are evaluated
again. Exits 3 with --fail-on-change when a tier would change.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := policy.Load(args[0])
			if err != nil {
				return err
			}
			st, err := g.openExistingStore()
			if err != nil {
				return err
			}
			defer st.Close()
			rev, err := approvals.ReviewPolicy(st.db, st.blobs, p)
			if err != nil {
				return err
			}
			changed := 0
			for i := range rev.Changes {
				if rev.Changes[i].TierChanged() {
					changed++
				}
			}
			if asJSON {
				if err := writeIndentedJSON(cmd.OutOrStdout(), rev); err != nil {
					return err
				}
			} else {
				printReview(cmd.OutOrStdout(), rev, all, changed)
			}
			if failOnChange && changed > 0 {
				return &offendersError{fmt.Sprintf("policy %s changes the tier of %d artifacts",
					p.Metadata.Name, changed)}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the review as JSON")
	cmd.Flags().BoolVar(&all, "all", false, "also list artifacts whose tier stays but whose rules change")
	cmd.Flags().BoolVar(&failOnChange, "fail-on-change", false, "exit 3 when any tier would change")
	return cmd
}

func printReview(w io.Writer, rev *approvals.Review, all bool, changed int) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ARTIFACT\tSTATE\tTIER NOW\tTIER UNDER POLICY\tRULES UNDER POLICY")
	for i := range rev.Changes {
		c := &rev.Changes[i]
		if !all && !c.TierChanged() {
			continue
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", c.Artifact, c.State, c.FromTier, c.To.Tier,
			dashIfEmpty(strings.Join(c.To.RuleNames(), ",")))
	}
	tw.Flush()
	fmt.Fprintf(w, "\npolicy %s@%s: %d of %d evaluated artifacts would change tier\n", rev.Policy,
		rev.PolicyDigest, changed, rev.Evaluated)
}
