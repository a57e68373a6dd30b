package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/sluice-dev/sluice/approvals"
	"github.com/sluice-dev/sluice/manifests"
)

func newPluginCommand(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "plugin",
		Short: "Request, review and publish Backstage plugins on top of an existing app",
		Long: `A plugin request brings a Backstage plugin into the air gap on top of an
existing Backstage app. 'plugin request' resolves the plugin's dependency
closure, leaves out every version the app's lockfile locks already, fetches,
scans and evaluates the packages that remain, and files a request whose
evidence lists them with their licenses, install scripts and findings.
The packages the policy does not approve by itself wait for people:
'plugin approve' votes on all of them at once. 'plugin publish' publishes
the plugin and its new dependencies once every one is approved, and
'sluice pin' then points the app's lockfile at the mirror.`,
	}
	cmd.AddCommand(newPluginRequestCommand(g), newPluginShowCommand(g), newPluginListCommand(g),
		newPluginApproveCommand(g), newPluginPublishCommand(g))
	return cmd
}

// pluginRequestFlags are the flags that make up a request body when no
// --file is given.
type pluginRequestFlags struct {
	file          string
	app           string
	owner         string
	dataClass     string
	justification string
	asJSON        bool
}

func newPluginRequestCommand(g *globals) *cobra.Command {
	f := &npmFlags{}
	sf := &scanFlags{}
	rf := &pluginRequestFlags{}
	cmd := &cobra.Command{
		Use:   "request [NAME@VERSION] (--app LOCKFILE | --file REQUEST.json)",
		Short: "File an ingestion request for a Backstage plugin on top of an app's lockfile",
		Long: `Request computes what the plugin NAME@VERSION adds to the app whose lockfile
--app names: the plugin's closure (dependencies and optional dependencies,
each range resolved as sync resolves it) minus every name@version the
lockfile locks. Only those packages are fetched, scanned and evaluated under
--policy; their verdicts, licenses, install scripts and findings, the
repository the plugin's package.json declares, and the dependency diff go
into the request's evidence. The request's tier is the strictest tier among
the packages. Nothing is published.

--file reads the request body that POST /api/v1/plugin-requests accepts
(schema manifests/schema/plugin-request.v1.schema.json); its app.lockfile
content or, without it, its app.lockfilePath relative to the file is read,
unless --app is given. The CLI does not clone app.repository.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			body, lockPath, lockData, err := rf.load(args)
			if err != nil {
				return err
			}
			if f.policy == "" {
				return &usageError{errors.New("--policy (or SLUICE_POLICY) is required: the request's tier " +
					"comes from the policy")}
			}
			log, err := g.logger()
			if err != nil {
				return err
			}
			st, err := g.openStore()
			if err != nil {
				return err
			}
			defer st.Close()
			r, done, err := f.runner(g, st, log, sf, nil)
			if err != nil {
				return err
			}
			defer done()
			r.Progress = newProgress(g, cmd.ErrOrStderr(), log)
			req, diff, err := approvals.RequestPlugin(cmd.Context(), r, body, lockPath, lockData)
			if err != nil {
				return err
			}
			if req == nil {
				fmt.Fprintf(cmd.OutOrStdout(), "%s: the app locks all %d packages of the plugin's closure "+
					"already; nothing to request\n", diff.Plugin, diff.Closure)
				return nil
			}
			return printPluginRequest(cmd.OutOrStdout(), st.db, req, rf.asJSON)
		},
	}
	f.register(cmd, false)
	sf.register(cmd, false)
	fl := cmd.Flags()
	fl.StringVar(&f.policy, "policy", os.Getenv("SLUICE_POLICY"),
		"risk policy file (kind RiskPolicy) that decides each package's tier (env SLUICE_POLICY)")
	fl.StringVar(&rf.file, "file", "", "request body as JSON (kind PluginRequest), instead of NAME@VERSION and flags")
	fl.StringVar(&rf.app, "app", "", "the Backstage app's package-lock.json or yarn.lock")
	fl.StringVar(&rf.owner, "owner", "", "team answerable for the plugin")
	fl.StringVar(&rf.dataClass, "data-class", "", "data class of the app's system, such as internal")
	fl.StringVar(&rf.justification, "justification", "", "why the plugin is needed, for the reviewers")
	fl.BoolVar(&rf.asJSON, "json", false, "print the filed request as JSON")
	return cmd
}

// load builds the request body from --file or from the argument and
// flags, and reads the app lockfile.
func (rf *pluginRequestFlags) load(args []string) (*manifests.PluginRequest, string, []byte, error) {
	var body *manifests.PluginRequest
	switch {
	case rf.file != "" && len(args) > 0:
		return nil, "", nil, &usageError{errors.New("give NAME@VERSION or --file, not both")}
	case rf.file != "":
		var err error
		if body, err = manifests.LoadPluginRequest(rf.file); err != nil {
			return nil, "", nil, &usageError{err}
		}
	case len(args) == 1:
		name, version := splitNameVersion(args[0])
		body = &manifests.PluginRequest{APIVersion: manifests.APIVersionV1, Kind: manifests.KindPluginRequest,
			Plugin: manifests.PluginRef{Name: name, Version: version},
			App:    manifests.AppLockfile{LockfilePath: rf.app}, Owner: rf.owner, DataClass: rf.dataClass,
			Justification: rf.justification}
		if err := body.Validate(); err != nil {
			return nil, "", nil, &usageError{fmt.Errorf("invalid plugin request (flags: --app, --owner, "+
				"--data-class, --justification):\n%w", err)}
		}
	default:
		return nil, "", nil, &usageError{errors.New("name the plugin as NAME@VERSION, or pass --file")}
	}
	path := rf.app
	switch {
	case path != "":
	case body.App.Lockfile != "":
		return body, body.App.LockfilePath, []byte(body.App.Lockfile), nil
	case body.App.Repository != "":
		return nil, "", nil, &usageError{fmt.Errorf("%s: the app lockfile is in %s, which the CLI does not "+
			"clone: pass --app with a checkout's %s, or put its content in app.lockfile", rf.file,
			body.App.Repository, body.App.LockfilePath)}
	default:
		path = filepath.Join(filepath.Dir(rf.file), body.App.LockfilePath)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, "", nil, &usageError{fmt.Errorf("read app lockfile: %w", err)}
	}
	return body, path, data, nil
}

// splitNameVersion splits "@scope/name@1.2.3" at the last '@' that does
// not start the name.
func splitNameVersion(s string) (string, string) {
	if i := strings.LastIndex(s, "@"); i > 0 {
		return s[:i], s[i+1:]
	}
	return s, ""
}

func newPluginShowCommand(g *globals) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "show ID",
		Short: "Show a plugin request: the packages it adds, their verdicts and its status",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			st, err := g.openExistingStore()
			if err != nil {
				return err
			}
			defer st.Close()
			req, err := approvals.LoadPluginRequest(st.db, args[0])
			if err != nil {
				return err
			}
			return printPluginRequest(cmd.OutOrStdout(), st.db, req, asJSON)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the request as JSON, as its evidence document holds it")
	return cmd
}

func newPluginListCommand(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List plugin requests with their tier and status",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, err := g.openExistingStore()
			if err != nil {
				return err
			}
			defer st.Close()
			reqs, err := approvals.PluginRequests(st.db)
			if err != nil {
				return err
			}
			w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "ID\tPLUGIN\tADDED\tTIER\tSTATUS\tREQUESTER\tCREATED")
			for _, r := range reqs {
				status, _, err := r.Status(st.db)
				if err != nil {
					return err
				}
				fmt.Fprintf(w, "%s\t%s\t%d\t%s\t%s\t%s\t%s\n", r.ID, r.Diff.Plugin, len(r.Packages), r.Tier,
					status, dashIfEmpty(r.Requester), r.Created.Format("2006-01-02 15:04"))
			}
			return w.Flush()
		},
	}
}

func newPluginApproveCommand(g *globals) *cobra.Command {
	f := &approverFlags{}
	cmd := &cobra.Command{
		Use:   "approve ID",
		Short: "Approve every package of a plugin request that awaits approval",
		Long: `Approve casts one approval on each package of the request that awaits
approval, exactly as 'sluice approvals approve' would for each: the
requester may not approve, an identity counts once per package, and steps
with "after" wait. Packages whose chain the identity has no open step in
are listed and left as they are. Reject a package with
'sluice approvals reject NAME@VERSION'.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := f.identity()
			if err != nil {
				return err
			}
			st, err := g.openExistingStore()
			if err != nil {
				return err
			}
			defer st.Close()
			votes, err := approvals.ApprovePlugin(st.db, args[0],
				approvals.Action{Identity: id, Role: f.role, Reason: f.reason, Via: "cli"})
			for _, v := range votes {
				switch {
				case v.Err != nil:
					fmt.Fprintf(cmd.OutOrStdout(), "%s: not counted: %v\n", v.Artifact, v.Err)
				case v.Request.Status == approvals.StatusApproved:
					fmt.Fprintf(cmd.OutOrStdout(), "%s: approved\n", v.Artifact)
				default:
					fmt.Fprintf(cmd.OutOrStdout(), "%s: approval recorded; waiting for %s\n", v.Artifact,
						strings.Join(v.Request.Waiting(), "; "))
				}
			}
			if err != nil {
				return err
			}
			req, err := approvals.LoadPluginRequest(st.db, args[0])
			if err != nil {
				return err
			}
			status, _, err := req.Status(st.db)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "plugin request %s is %s\n", req.ID, status)
			return nil
		},
	}
	cmd.Flags().StringVar(&f.as, "as", "", "identity that approves (default: env SLUICE_ACTOR)")
	cmd.Flags().StringVar(&f.role, "role", "", "role to approve as, when the identity holds several")
	cmd.Flags().StringVar(&f.reason, "reason", "", "why, recorded in the ledger")
	return cmd
}
