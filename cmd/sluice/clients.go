package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/sluice-dev/sluice/mirrors/clientconfig"
)

func newClientsCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "clients",
		Short: "Configure package and image clients for the internal mirrors",
	}
	cmd.AddCommand(newClientsGenerateCommand())
	return cmd
}

func newClientsGenerateCommand() *cobra.Command {
	var e clientconfig.Endpoints
	var scopes, upstreams []string
	var out string
	cmd := &cobra.Command{
		Use:   "generate --out DIR",
		Short: "Write .npmrc, .yarnrc.yml, .yarnrc, containerd hosts.toml and registries.conf",
		Long: `Generate writes client configuration that sends every request to the
internal mirrors and none to the upstream registries:

  .npmrc, .yarnrc.yml, .yarnrc     with --npm-mirror (npm, pnpm, yarn 4, yarn 1)
  certs.d/<upstream>/hosts.toml    with --oci-mirror and --upstream (containerd)
  registries.conf                  with --oci-mirror and --upstream (CRI-O, Podman)

Each --upstream registry is served from the OCI mirror's project of the same
name (docker.io: <oci-mirror>/docker.io/library/nginx) unless a project is
given as HOST=PROJECT. Tokens are written as ${NPM_TOKEN}, which the clients
read from the environment. docs/clients.md says where each file goes.`,
		Example: `  sluice clients generate --npm-mirror https://npm.internal/ --scope @acme=https://npm.internal/acme/ \
    --oci-mirror harbor.internal --upstream docker.io --upstream ghcr.io=github \
    --ca-file /etc/ssl/certs/internal-ca.pem --out client-config`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if out == "" {
				return &usageError{errors.New("--out is required")}
			}
			for _, s := range scopes {
				scope, url, ok := strings.Cut(s, "=")
				if !ok {
					return &usageError{fmt.Errorf("invalid --scope %q: write @scope=URL", s)}
				}
				e.Scopes = append(e.Scopes, clientconfig.Scope{Name: scope, URL: url})
			}
			for _, u := range upstreams {
				host, project, _ := strings.Cut(u, "=")
				e.Upstreams = append(e.Upstreams, clientconfig.Upstream{Host: host, Project: project})
			}
			files, err := clientconfig.Generate(e)
			if err != nil {
				return &usageError{err}
			}
			if err := clientconfig.Write(out, files); err != nil {
				return err
			}
			for _, f := range files {
				fmt.Fprintln(cmd.OutOrStdout(), filepath.Join(out, filepath.FromSlash(f.Path)))
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&e.NPM, "npm-mirror", os.Getenv("SLUICE_NPM_MIRROR"), "internal npm registry URL (env SLUICE_NPM_MIRROR)")
	f.StringArrayVar(&scopes, "scope", nil, "send an npm scope to another registry, as @scope=URL (repeatable)")
	f.StringVar(&e.TokenEnv, "token-env", "NPM_TOKEN",
		"environment variable the npm clients read the registry token from; empty for anonymous reads")
	f.StringVar(&e.OCI, "oci-mirror", os.Getenv("SLUICE_OCI_MIRROR"),
		"internal image registry host[:port], or http://host[:port] without TLS (env SLUICE_OCI_MIRROR)")
	f.StringArrayVar(&upstreams, "upstream", nil,
		"registry whose images the OCI mirror keeps, as HOST or HOST=PROJECT (repeatable)")
	f.StringVar(&e.CAFile, "ca-file", "", "absolute path, on the client machines, of the CA certificate of the mirrors")
	f.StringVar(&out, "out", "", "folder to write the files to")
	return cmd
}
