package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/sluice-dev/sluice/approvals"
	"github.com/sluice-dev/sluice/ingest/state"
)

// approverFlags are the identity flags of approve and reject.
type approverFlags struct {
	as     string
	role   string
	reason string
}

// identity returns --as, or SLUICE_ACTOR when --as is not given.
func (f *approverFlags) identity() (string, error) {
	id := f.as
	if id == "" {
		id = os.Getenv("SLUICE_ACTOR")
	}
	if strings.TrimSpace(id) == "" {
		return "", &usageError{errors.New("no identity: pass --as NAME or set SLUICE_ACTOR")}
	}
	return id, nil
}

func newApprovalsCommand(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "approvals",
		Short: "List, show, approve and reject artifacts that wait for people",
		Long: `Artifacts whose risk tier needs people wait in awaiting-approval with a
request: the tier's approval chain, the requester and an expiry. The
requester never approves their own request, each identity counts once,
and a step with "after" waits for the step it names. An expired request
is rejected. Every approval and rejection is recorded in the ledger with
identity, time and reason.`,
	}
	cmd.AddCommand(newApprovalsListCommand(g), newApprovalsShowCommand(g),
		newApprovalsDecideCommand(g, true), newApprovalsDecideCommand(g, false),
		newApprovalsExternalCommand(g))
	return cmd
}

func newApprovalsListCommand(g *globals) *cobra.Command {
	var all, asJSON bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List pending approval requests, oldest first",
		Long: `List rejects requests whose expiry has passed, then prints the pending
ones (with --all, every request) and what each still waits for.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, err := g.openExistingStore()
			if err != nil {
				return err
			}
			defer st.Close()
			expired, err := approvals.ExpireDue(st.db)
			if err != nil {
				return err
			}
			reqs, err := approvals.Requests(st.db, func(r *approvals.Request) bool {
				return all || r.Status == approvals.StatusPending
			})
			if err != nil {
				return err
			}
			if asJSON {
				return writeIndentedJSON(cmd.OutOrStdout(), reqs)
			}
			for _, key := range expired {
				fmt.Fprintf(cmd.ErrOrStderr(), "expired: %s is rejected\n", key)
			}
			printRequests(cmd.OutOrStdout(), reqs)
			return nil
		},
	}
	cmd.Flags().BoolVar(&all, "all", false, "list closed requests too")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the requests as JSON")
	return cmd
}

func printRequests(w io.Writer, reqs []*approvals.Request) {
	if len(reqs) == 0 {
		fmt.Fprintln(w, "no approval requests")
		return
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ARTIFACT\tTIER\tSTATUS\tREQUESTER\tEXPIRES\tWAITING FOR")
	for _, r := range reqs {
		waiting := strings.Join(r.Waiting(), "; ")
		if r.Status != approvals.StatusPending {
			waiting = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", r.Artifact, r.Tier, r.Status, r.Requester,
			formatExpiry(r.Expires), waiting)
	}
	tw.Flush()
}

func formatExpiry(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return t.UTC().Format(time.RFC3339)
}

func newApprovalsShowCommand(g *globals) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "show ARTIFACT",
		Short: "Show an approval request with the verdict and the facts behind it",
		Long: `Show prints an artifact's approval request: tier, chain and who has
approved, then the policy verdict from the evidence document: each rule
that fired and the facts it matched. ARTIFACT is name@version for npm
(lodash@4.17.21, @scope/name@1.0.0) or a full key such as
npm/lodash@4.17.21.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			st, key, err := g.openArtifact(args[0])
			if err != nil {
				return err
			}
			defer st.Close()
			r, err := approvals.LoadRequest(st.db, key)
			if err != nil {
				return err
			}
			ev, _, err := approvals.LoadEvidence(st.blobs, r.Evidence)
			if err != nil {
				return err
			}
			if asJSON {
				return writeIndentedJSON(cmd.OutOrStdout(), struct {
					Request  *approvals.Request  `json:"request"`
					Evidence *approvals.Evidence `json:"evidence"`
				}{r, ev})
			}
			printRequest(cmd.OutOrStdout(), r, ev)
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the request and its evidence as JSON")
	return cmd
}

func printRequest(w io.Writer, r *approvals.Request, ev *approvals.Evidence) {
	fmt.Fprintf(w, "artifact   %s\n", r.Artifact)
	fmt.Fprintf(w, "digest     %s\n", r.Digest)
	fmt.Fprintf(w, "status     %s\n", r.Status)
	fmt.Fprintf(w, "tier       %s (policy %s@%s)\n", r.Tier, r.Policy, r.PolicyDigest)
	fmt.Fprintf(w, "requester  %s, %s\n", r.Requester, r.Created.UTC().Format(time.RFC3339))
	fmt.Fprintf(w, "expires    %s\n", formatExpiry(r.Expires))
	fmt.Fprintf(w, "chain      %s\n", r.ChainString())
	for _, v := range r.Approvals {
		fmt.Fprintf(w, "  approved by %s as %s, %s: %s\n", v.Identity, v.Role,
			v.Time.UTC().Format(time.RFC3339), dashIfEmpty(v.Reason))
	}
	for _, s := range r.Waiting() {
		fmt.Fprintf(w, "  waiting for %s\n", s)
	}
	if r.Status != approvals.StatusPending {
		fmt.Fprintf(w, "closed     by %s, %s: %s\n", r.ClosedBy, r.Closed.UTC().Format(time.RFC3339),
			dashIfEmpty(r.Reason))
	}
	if r.External != nil {
		fmt.Fprintf(w, "external   %s document %s %s\n", r.External.System, r.External.DocumentID,
			r.External.URL)
	}
	fmt.Fprintf(w, "verdict    %s, evidence %s\n", ev.Decision.Tier, r.Evidence)
	printVerdict(w, ev)
}

// printVerdict prints the rules that fired and the evidence's inputs.
func printVerdict(w io.Writer, ev *approvals.Evidence) {
	if len(ev.Decision.Fired) == 0 {
		fmt.Fprintln(w, "  no rule fired: the policy's default tier applies")
	}
	for _, f := range ev.Decision.Fired {
		fmt.Fprintf(w, "  rule %s (line %d) -> %s: %s\n", f.Rule, f.Line, f.Then,
			strings.Join(f.Matched, "; "))
	}
	for _, k := range sortedStringKeys(ev.Inputs) {
		fmt.Fprintf(w, "  input %s %s\n", k, ev.Inputs[k])
	}
}

func dashIfEmpty(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func newApprovalsDecideCommand(g *globals, approve bool) *cobra.Command {
	f := &approverFlags{}
	verb, short := "reject", "Reject an artifact that waits for approval; this is final"
	if approve {
		verb, short = "approve", "Approve an artifact as one step of its approval chain"
	}
	cmd := &cobra.Command{
		Use:   verb + " ARTIFACT",
		Short: short,
		Long: `The identity comes from --as, or from SLUICE_ACTOR. An approval counts for
the first step of the chain that the identity's role may approve now;
--role picks one when the identity holds several roles. The artifact is
approved when every step has its approvals. A rejection needs --reason
and is final for the artifact's digest.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := f.identity()
			if err != nil {
				return err
			}
			if !approve && strings.TrimSpace(f.reason) == "" {
				return &usageError{errors.New("reject needs --reason: say why for the ledger")}
			}
			st, key, err := g.openArtifact(args[0])
			if err != nil {
				return err
			}
			defer st.Close()
			act := approvals.Action{Identity: id, Role: f.role, Reason: f.reason, Via: "cli"}
			if !approve {
				if _, err := approvals.Reject(st.db, key, act); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s rejected by %s: %s\n", key, id, f.reason)
				return nil
			}
			r, err := approvals.Approve(st.db, key, act)
			if err != nil {
				return err
			}
			v := r.Approvals[len(r.Approvals)-1]
			if r.Status == approvals.StatusApproved {
				fmt.Fprintf(cmd.OutOrStdout(), "%s approved: %s completed the chain as %s\n", key, id, v.Role)
				return nil
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: approval by %s as %s recorded; waiting for %s\n", key, id,
				v.Role, strings.Join(r.Waiting(), "; "))
			return nil
		},
	}
	cmd.Flags().StringVar(&f.as, "as", "", "identity that decides (default: env SLUICE_ACTOR)")
	cmd.Flags().StringVar(&f.reason, "reason", "", "why, recorded in the ledger (required to reject)")
	if approve {
		cmd.Flags().StringVar(&f.role, "role", "", "role to approve as, when the identity holds several")
	}
	return cmd
}

// resolveArtifactArg turns name@version or a full key into an artifact key that
// the store holds. Without a version it lists the versions it holds.
// openArtifact opens the data directory a sync created and resolves an
// ARTIFACT argument to its state store key.
func (g *globals) openArtifact(arg string) (*store, string, error) {
	st, err := g.openExistingStore()
	if err != nil {
		return nil, "", err
	}
	key, err := resolveArtifactArg(st.db, arg)
	if err != nil {
		st.Close()
		return nil, "", err
	}
	return st, key, nil
}

func resolveArtifactArg(db *state.DB, arg string) (string, error) {
	key := arg
	if !strings.HasPrefix(arg, string(state.EcosystemNPM)+"/") &&
		!strings.HasPrefix(arg, string(state.EcosystemOCI)+"/") {
		key = string(state.EcosystemNPM) + "/" + arg
	}
	if _, err := db.Artifact(key); err == nil {
		return key, nil
	} else if !errors.Is(err, state.ErrNotFound) {
		return "", err
	}
	name := strings.TrimPrefix(key, string(state.EcosystemNPM)+"/")
	arts, err := db.Artifacts(func(a *state.Artifact) bool {
		return a.Name == name || strings.HasPrefix(a.Key(), key+"@")
	})
	if err != nil {
		return "", err
	}
	if len(arts) == 0 {
		return "", fmt.Errorf("artifact %s: %w: give name@version, as sluice ledger export shows it", arg,
			state.ErrNotFound)
	}
	keys := make([]string, len(arts))
	for i, a := range arts {
		keys[i] = a.Key()
	}
	return "", &usageError{fmt.Errorf("artifact %s: name a version: %s", arg, strings.Join(keys, ", "))}
}

func writeIndentedJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func sortedStringKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
