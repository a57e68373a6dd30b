package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/sluice-dev/sluice/internal/server"
)

func newServeCommand(g *globals) *cobra.Command {
	var config string
	cmd := &cobra.Command{
		Use:   "serve --config FILE",
		Short: "Run the gateway as a service: scheduled syncs, REST API, metrics, review page",
		Long: `Serve runs Sluice unattended. It syncs each manifest on its cron schedule
(spec.schedule, or the configuration's schedules), runs a schedule missed
while it was down once at start, and never runs two syncs of one manifest
at once. It serves the REST API (OpenAPI document at /api/v1/openapi.yaml),
Prometheus metrics at /metrics and the security review page at /ui/.

On SIGINT or SIGTERM it stops accepting requests, lets a running sync go on
for the configuration's shutdownGrace, then interrupts it; the next start
resumes it. See docs/serve.md for the configuration.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if config == "" {
				return &usageError{errors.New("name the configuration file with --config")}
			}
			log, err := g.logger()
			if err != nil {
				return err
			}
			cfg, err := server.LoadConfig(config)
			if err != nil {
				return &usageError{err}
			}
			srv, err := server.New(cfg, server.WithLogger(log))
			if err != nil {
				return err
			}
			defer srv.Close()
			return srv.Serve(cmd.Context(), func(addr string) {
				fmt.Fprintf(cmd.OutOrStdout(), "serving on %s\nreview page: %s/ui/\n", addr, addr)
			})
		},
	}
	cmd.Flags().StringVar(&config, "config", os.Getenv("SLUICE_SERVE_CONFIG"),
		"server configuration file (YAML; env SLUICE_SERVE_CONFIG)")
	return cmd
}

func newRunsCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "runs",
		Short: "Start syncs on a running sluice serve",
	}
	var serverURL string
	var wait bool
	trigger := &cobra.Command{
		Use:   "trigger MANIFEST...",
		Short: "Queue a sync of manifests (by metadata.name) on the server",
		Long: `Trigger asks a running 'sluice serve' to sync the named manifests now,
through its API, with the bearer token in SLUICE_TOKEN; the caller needs
the requester or admin role. It prints the run ID. With --wait it polls
the run until it ends and exits 1 when the run failed.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if serverURL == "" {
				return &usageError{errors.New("name the server with --server URL (or SLUICE_SERVER)")}
			}
			token := os.Getenv("SLUICE_TOKEN")
			if token == "" {
				return &usageError{errors.New("no token: set SLUICE_TOKEN to an API or OIDC bearer token")}
			}
			c := &apiClient{base: strings.TrimRight(serverURL, "/"), token: token}
			var run server.Run
			if err := c.do(http.MethodPost, "/api/v1/runs", map[string][]string{"manifests": args}, &run); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "run %s %s\n", run.ID, run.Status)
			for wait && (run.Status == server.RunQueued || run.Status == server.RunRunning) {
				select {
				case <-cmd.Context().Done():
					return cmd.Context().Err()
				case <-time.After(time.Second):
				}
				if err := c.do(http.MethodGet, "/api/v1/runs/"+run.ID, nil, &run); err != nil {
					return err
				}
			}
			if wait {
				fmt.Fprintf(cmd.OutOrStdout(), "run %s %s\n", run.ID, run.Status)
				if run.Status != server.RunSucceeded {
					return fmt.Errorf("run %s %s: %s", run.ID, run.Status, run.Error)
				}
			}
			return nil
		},
	}
	trigger.Flags().StringVar(&serverURL, "server", os.Getenv("SLUICE_SERVER"),
		"base URL of sluice serve, such as https://sluice.internal:8480 (env SLUICE_SERVER)")
	trigger.Flags().BoolVar(&wait, "wait", false, "wait until the run ends")
	cmd.AddCommand(trigger)
	return cmd
}

// apiClient calls the server's JSON API.
type apiClient struct {
	base, token string
}

func (c *apiClient) do(method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	if err != nil {
		return &usageError{fmt.Errorf("invalid --server %q: %w", c.base, err)}
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Content-Type", "application/json")
	client := &http.Client{Timeout: 30 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, c.base+path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode >= 300 {
		var e struct {
			Error struct {
				Code, Message, RequestID string
			} `json:"error"`
		}
		if json.Unmarshal(data, &e) == nil && e.Error.Message != "" {
			return fmt.Errorf("%s %s: %d %s: %s (request %s)", method, path, resp.StatusCode, e.Error.Code,
				e.Error.Message, e.Error.RequestID)
		}
		return fmt.Errorf("%s %s: %s", method, path, resp.Status)
	}
	return json.Unmarshal(data, out)
}
