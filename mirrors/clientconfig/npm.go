package clientconfig

import (
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// npmRegistries returns the default registry and the scoped ones, each
// with a final slash. Endpoints must be valid.
func npmRegistries(e Endpoints) (*url.URL, []*url.URL) {
	main, _ := registryURL("npm mirror", e.NPM)
	scoped := make([]*url.URL, len(e.Scopes))
	for i, s := range e.Scopes {
		scoped[i], _ = registryURL("scope", s.URL)
	}
	return main, scoped
}

// npmrc renders .npmrc, which npm, pnpm and yarn 1 read. npm (7 and
// later) and pnpm send a registry's token with every request to it. Yarn
// 1 sends it for unscoped packages only when .npmrc sets always-auth, so
// that is written too, although npm 11 warns that it does not know it.
func npmrc(e Endpoints) []byte {
	main, scoped := npmRegistries(e)
	var b strings.Builder
	b.WriteString(header("#"))
	fmt.Fprintf(&b, "registry=%s\n", main)
	for i, s := range e.Scopes {
		fmt.Fprintf(&b, "%s:registry=%s\n", s.Name, scoped[i])
	}
	if e.TokenEnv != "" {
		b.WriteString("# The token is read from the environment when the client starts.\n")
		b.WriteString("# always-auth is for yarn 1; npm ignores it.\n")
		seen := map[string]bool{}
		for _, u := range append([]*url.URL{main}, scoped...) {
			key := "//" + u.Host + u.Path
			if !seen[key] {
				fmt.Fprintf(&b, "%s:_authToken=${%s}\n%s:always-auth=true\n", key, e.TokenEnv, key)
				seen[key] = true
			}
		}
	}
	if e.CAFile != "" {
		fmt.Fprintf(&b, "cafile=%s\nstrict-ssl=true\n", e.CAFile)
	}
	b.WriteString("# The mirror serves no vulnerability advisories; Sluice scans packages before publishing them.\n")
	b.WriteString("audit=false\n")
	return []byte(b.String())
}

// yarnBerry renders .yarnrc.yml for yarn 2 and later.
//
// enableGlobalCache keeps its default (true): every archive is checked
// against the checksum in yarn.lock wherever it is cached, and a cache per
// project would only add a copy of each package to every checkout.
// Telemetry is turned off because its endpoint is outside the network.
func yarnBerry(e Endpoints) []byte {
	main, scoped := npmRegistries(e)
	var b strings.Builder
	b.WriteString(header("#"))
	writeYarnRegistry(&b, "", main, e.TokenEnv)
	if len(e.Scopes) > 0 {
		b.WriteString("npmScopes:\n")
		for i, s := range e.Scopes {
			fmt.Fprintf(&b, "  %s:\n", strings.TrimPrefix(s.Name, "@"))
			writeYarnRegistry(&b, "    ", scoped[i], e.TokenEnv)
		}
	}
	var plain []string
	for _, u := range append([]*url.URL{main}, scoped...) {
		if u.Scheme == "http" && !slices.Contains(plain, u.Hostname()) {
			plain = append(plain, u.Hostname())
		}
	}
	if len(plain) > 0 {
		b.WriteString("# Yarn refuses plain-HTTP registries that are not listed here.\n")
		b.WriteString("unsafeHttpWhitelist:\n")
		for _, h := range plain {
			fmt.Fprintf(&b, "  - %s\n", strconv.Quote(h))
		}
	}
	if e.CAFile != "" {
		fmt.Fprintf(&b, "httpsCaFilePath: %s\n", strconv.Quote(e.CAFile))
	}
	b.WriteString("enableTelemetry: false\n")
	return []byte(b.String())
}

// writeYarnRegistry writes the registry settings of .yarnrc.yml, at the
// top level or under a scope. Yarn writes registry URLs without the final
// slash.
func writeYarnRegistry(b *strings.Builder, indent string, u *url.URL, tokenEnv string) {
	server := strings.TrimSuffix(u.String(), "/")
	fmt.Fprintf(b, "%snpmRegistryServer: %s\n", indent, strconv.Quote(server))
	if tokenEnv != "" {
		fmt.Fprintf(b, "%snpmAlwaysAuth: true\n", indent)
		fmt.Fprintf(b, "%snpmAuthToken: %s\n", indent, strconv.Quote("${"+tokenEnv+"}"))
	}
}

// yarnClassic renders .yarnrc for yarn 1. Yarn 1 reads tokens and
// always-auth from .npmrc only, so both files go into the project.
func yarnClassic(e Endpoints) []byte {
	main, scoped := npmRegistries(e)
	var b strings.Builder
	b.WriteString(header("#"))
	fmt.Fprintf(&b, "registry %s\n", strconv.Quote(main.String()))
	for i, s := range e.Scopes {
		fmt.Fprintf(&b, "%s %s\n", strconv.Quote(s.Name+":registry"), strconv.Quote(scoped[i].String()))
	}
	if e.CAFile != "" {
		fmt.Fprintf(&b, "cafile %s\nstrict-ssl true\n", strconv.Quote(e.CAFile))
	}
	b.WriteString("# The update check asks a host outside the network.\n")
	b.WriteString("disable-self-update-check true\n")
	return []byte(b.String())
}
