package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/sluice-dev/sluice/ingest"
)

func newPlanCommand(g *globals) *cobra.Command {
	f := &npmFlags{}
	var asJSON, all bool
	cmd := &cobra.Command{
		Use:   "plan MANIFEST|DIR...",
		Short: "Show what a sync would bring in, without fetching or changing anything",
		Long: `Plan resolves the manifests exactly as sync would and compares the result
with what this gateway already holds: new packages (and their download size,
as the upstream states it), packages stored but not yet published, and
packages already on the mirror. It fetches packuments but no tarball and
changes no state.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			log, err := g.logger()
			if err != nil {
				return err
			}
			ms, err := loadManifests(args)
			if err != nil {
				return err
			}
			st, err := g.openPlanStore()
			if err != nil {
				return err
			}
			defer st.Close()
			r, done, err := f.runner(g, st, log, nil, nil)
			if err != nil {
				return err
			}
			defer done()
			r.Progress = newProgress(g, cmd.ErrOrStderr(), log)
			p, err := r.Plan(cmd.Context(), ms)
			if err != nil {
				return err
			}
			if asJSON {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(p)
			}
			printPlan(cmd.OutOrStdout(), p, all)
			return nil
		},
	}
	f.register(cmd, false)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the plan as JSON")
	cmd.Flags().BoolVar(&all, "all", false, "list every package, not only the new ones")
	return cmd
}

// openPlanStore opens the data directory when a sync has created it, and
// otherwise an empty store in a temporary folder, so that plan never
// creates the data directory.
func (g *globals) openPlanStore() (*store, error) {
	if _, err := os.Stat(filepath.Join(g.dataDir, "sluice.db")); err == nil {
		return g.openStore()
	}
	tmp, err := os.MkdirTemp("", "sluice-plan-")
	if err != nil {
		return nil, err
	}
	st, err := (&globals{dataDir: tmp}).openStore()
	if err != nil {
		os.RemoveAll(tmp)
		return nil, err
	}
	st.cleanup = func() { os.RemoveAll(tmp) }
	return st, nil
}

func printPlan(w io.Writer, p *ingest.Plan, all bool) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "STATUS\tPACKAGE\tSIZE\tREQUESTED BY")
	unknown := 0
	for _, it := range p.Items {
		if it.Status == ingest.StatusNew && it.Size < 0 {
			unknown++
		}
		if !all && it.Status != ingest.StatusNew {
			continue
		}
		size := "?"
		if it.Size >= 0 {
			size = humanBytes(it.Size)
		}
		fmt.Fprintf(tw, "%s\t%s@%s\t%s\t%s\n", it.Status, it.Name, it.Version, size, it.RequestedBy)
	}
	tw.Flush()
	fmt.Fprintf(w, "\n%d packages: %d new (%s to fetch), %d stored, %d already mirrored, %d held\n",
		len(p.Items), p.Counts[ingest.StatusNew], humanBytes(p.NewBytes), p.Counts[ingest.StatusStored],
		p.Counts[ingest.StatusMirrored], p.Counts[ingest.StatusHeld])
	if unknown > 0 {
		fmt.Fprintf(w, "note: the upstream did not state the size of %s; the total leaves them out\n",
			plural(unknown, "new package", "new packages"))
	}
	if p.Counts[ingest.StatusHeld] > 0 {
		fmt.Fprintln(w, "note: held packages wait for approval or were rejected; see sluice approvals list")
	}
	for _, n := range p.Notes {
		fmt.Fprintf(w, "note: %s\n", n)
	}
}
