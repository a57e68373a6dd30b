package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/sluice-dev/sluice/mirrors/harbor"
	"github.com/sluice-dev/sluice/mirrors/provision"
	"github.com/sluice-dev/sluice/mirrors/provision/catalogsource"
)

func newProvisionCommand(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "provision",
		Short: "Wire the internal network to the mirrors from one declaration",
		Long: `Provision reads a network declaration (mirror endpoints, teams, data
classes, Harbor projects) and brings the internal side in line with it:
the Verdaccio configuration and accounts, Harbor projects with robot
accounts, tag immutability and retention, client files (.npmrc,
.yarnrc.yml, .yarnrc, containerd hosts.toml, registries.conf), Kubernetes
image pull secrets, and Backstage app-config and catalog entities.

'plan' shows what would change and changes nothing; 'apply' makes the
changes. A change made by hand on Harbor or to a generated file shows as
drift. docs/provision.md describes the declaration.`,
	}
	cmd.AddCommand(newProvisionRunCommand(g, false), newProvisionRunCommand(g, true))
	return cmd
}

func newProvisionRunCommand(g *globals, apply bool) *cobra.Command {
	var file string
	var check, noCatalog bool
	use, short := "plan --file FILE", "Show the changes apply would make, changing nothing"
	if apply {
		use, short = "apply --file FILE", "Make the changes and show them"
	}
	cmd := &cobra.Command{
		Use:   use,
		Short: short,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if file == "" {
				return &usageError{errors.New("--file is required: name the network declaration")}
			}
			d, err := provision.Load(file)
			if err != nil {
				return &usageError{err}
			}
			opts, err := g.provisionOptions(d, noCatalog)
			if err != nil {
				return err
			}
			run := provision.Diff
			if apply {
				run = provision.Apply
			}
			plan, err := run(cmd.Context(), d, opts)
			if plan != nil {
				if werr := plan.Write(cmd.OutOrStdout()); werr != nil {
					return werr
				}
			}
			if err != nil {
				return err
			}
			if plan.Empty() && !g.quiet {
				fmt.Fprintln(cmd.ErrOrStderr(), "in sync: nothing to change")
			}
			if check && !apply && !plan.Empty() {
				return &offendersError{fmt.Sprintf("%d changes pending", len(plan.Changes))}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVarP(&file, "file", "f", "", "network declaration (YAML)")
	f.BoolVar(&noCatalog, "no-catalog", false, "write no Backstage catalog entities, even when --data-dir has a state store")
	if !apply {
		f.BoolVar(&check, "check", false, "exit with status 3 when there are changes")
	}
	return cmd
}

// provisionOptions connects to Harbor with the credentials the
// declaration names, and reads the catalog records from the state store
// when the data directory has one.
func (g *globals) provisionOptions(d *provision.Declaration, noCatalog bool) (provision.Options, error) {
	var opts provision.Options
	if h := d.Harbor; h != nil {
		user, password := os.Getenv(h.UsernameEnv), os.Getenv(h.PasswordEnv)
		if user == "" || password == "" {
			return opts, &usageError{fmt.Errorf("%s and %s must hold the Harbor account to provision with",
				h.UsernameEnv, h.PasswordEnv)}
		}
		log, err := g.logger()
		if err != nil {
			return opts, err
		}
		c, err := harbor.New(h.URL, harbor.WithBasicAuth(user, password), harbor.WithLogger(log))
		if err != nil {
			return opts, &usageError{fmt.Errorf("%s: harbor.url: %w", d.File, err)}
		}
		opts.Harbor = c
	}
	if d.Backstage == nil || noCatalog {
		return opts, nil
	}
	if _, err := os.Stat(filepath.Join(g.dataDir, "sluice.db")); errors.Is(err, fs.ErrNotExist) {
		return opts, nil
	}
	s, err := g.openExistingStore()
	if err != nil {
		return opts, err
	}
	defer s.Close()
	opts.Records, err = catalogsource.LoadRecords(s.db)
	return opts, err
}
