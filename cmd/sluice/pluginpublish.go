package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/sluice-dev/sluice/approvals"
	"github.com/sluice-dev/sluice/ingest/state"
	"github.com/sluice-dev/sluice/internal/pipeline"
)

// printPluginRequest prints a request's diff, the verdict of each added
// package and what happens next, or the request as JSON.
func printPluginRequest(w io.Writer, db *state.DB, r *approvals.PluginRequest, asJSON bool) error {
	if asJSON {
		return writeIndentedJSON(w, r)
	}
	status, arts, err := r.Status(db)
	if err != nil {
		return err
	}
	d := r.Diff
	fmt.Fprintf(w, "plugin request %s: %s\n", r.ID, d.Plugin)
	fmt.Fprintf(w, "  status      %s\n", status)
	fmt.Fprintf(w, "  tier        %s (policy %s)\n", r.Tier, r.Policy)
	fmt.Fprintf(w, "  requester   %s for %s, data class %s\n", dashIfEmpty(r.Requester), r.Body.Owner,
		r.Body.DataClass)
	fmt.Fprintf(w, "  app         %s (%s)\n", d.Lockfile, d.LockfileDigest)
	fmt.Fprintf(w, "  closure     %d packages: %d locked by the app, %d added\n", d.Closure, d.Locked,
		len(d.Added))
	source := dashIfEmpty(r.Source.Repository)
	if r.Source.Directory != "" {
		source += " (folder " + r.Source.Directory + ")"
	}
	fmt.Fprintf(w, "  source      %s, tarball %s\n", source, r.Tarball)
	fmt.Fprintf(w, "  evidence    %s\n", r.Evidence)
	for _, warning := range d.Warnings {
		fmt.Fprintf(w, "  warning     %s\n", warning)
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PACKAGE\tAPP LOCKS\tTIER\tSTATE\tLICENSES\tINSTALL SCRIPTS\tFINDINGS")
	for i, p := range r.Packages {
		appVersions := "-"
		if len(p.AppVersions) > 0 {
			appVersions = strings.Join(p.AppVersions, ", ")
		}
		findings := make([]string, len(p.Findings))
		for j, f := range p.Findings {
			findings[j] = f.ID
			if f.Severity != "" {
				findings[j] += " (" + string(f.Severity) + ")"
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", p.Key(), appVersions, p.Tier, arts[i].State,
			dashIfEmpty(strings.Join(p.Licenses, ", ")), dashIfEmpty(strings.Join(p.InstallScripts, "; ")),
			dashIfEmpty(strings.Join(findings, ", ")))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w)
	return printPluginNext(w, db, r, status, arts)
}

// printPluginNext prints what the request waits for and the command that
// moves it on.
func printPluginNext(w io.Writer, db *state.DB, r *approvals.PluginRequest, status approvals.PluginStatus,
	arts []*state.Artifact) error {
	switch status {
	case approvals.PluginPending:
		for _, a := range arts {
			if a.State != state.StateAwaitingApproval {
				continue
			}
			req, err := approvals.LoadRequest(db, a.Key())
			if err != nil {
				return err
			}
			fmt.Fprintf(w, "%s waits for %s\n", a.Key(), strings.Join(req.Waiting(), "; "))
		}
		fmt.Fprintf(w, "next: sluice plugin approve %s --as IDENTITY\n", r.ID)
	case approvals.PluginRejected:
		fmt.Fprintln(w, "rejected: a package of the plugin cannot enter; sluice approvals show NAME@VERSION "+
			"gives the reason")
	case approvals.PluginApproved:
		fmt.Fprintf(w, "next: sluice plugin publish %s --npm-mirror URL, then sluice pin the app's lockfile\n", r.ID)
	case approvals.PluginPublished:
		fmt.Fprintf(w, "published; next: add %s to the app and run sluice pin on its lockfile\n", r.Diff.Plugin)
	case approvals.PluginIncomplete:
		fmt.Fprintf(w, "incomplete: run sluice plugin request for %s again\n", r.Diff.Plugin)
	}
	return nil
}

func newPluginPublishCommand(g *globals) *cobra.Command {
	f := &npmFlags{}
	sf := &scanFlags{}
	cmd := &cobra.Command{
		Use:   "publish ID",
		Short: "Publish an approved plugin and its new dependencies to the mirror",
		Long: `Publish runs the request's packages through sync once more, with the
mirror given by --npm-mirror: stored tarballs are not fetched again, and
each package passes the approval gate that sync applies. It exits 3 and
publishes nothing while a package awaits approval, is rejected or has no
verdict. Afterwards, add the plugin to the app and run 'sluice pin' on the
app's lockfile.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if f.mirror == "" {
				return &usageError{fmt.Errorf("--npm-mirror (or SLUICE_NPM_MIRROR) is required")}
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
			req, err := approvals.LoadPluginRequest(st.db, args[0])
			if err != nil {
				return err
			}
			status, arts, err := req.Status(st.db)
			if err != nil {
				return err
			}
			if status != approvals.PluginApproved && status != approvals.PluginPublished {
				for _, a := range arts {
					if !state.Reached(a.State, state.StateApproved) {
						fmt.Fprintf(cmd.OutOrStdout(), "%s: %s\n", a.Key(), a.State)
					}
				}
				return &offendersError{fmt.Sprintf("plugin request %s is %s: nothing was published", req.ID, status)}
			}
			r, done, err := f.runner(g, st, log, sf, nil)
			if err != nil {
				return err
			}
			defer done()
			r.Progress = newProgress(g, cmd.ErrOrStderr(), log)
			sum, err := pipeline.PublishPlugin(cmd.Context(), r, req)
			if sum != nil {
				printSummary(cmd.OutOrStdout(), sum, true)
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "next: add %s to the app, then sluice pin %s --npm-mirror %s\n",
				req.Diff.Plugin, req.Diff.Lockfile, f.mirror)
			return nil
		},
	}
	f.register(cmd, true)
	sf.register(cmd, false)
	return cmd
}
