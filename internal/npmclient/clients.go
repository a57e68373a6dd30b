package npmclient

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/internal/verdacciotest"
)

// Client is a JavaScript package manager that Install runs.
type Client string

// Clients that Install runs. npm is the one on PATH; the others are the
// versions pinned in tools/package.json, which `make tools` installs.
const (
	Npm         Client = "npm"
	YarnClassic Client = "yarn-classic" // yarn 1.22.22
	YarnBerry   Client = "yarn-berry"   // yarn 4.18.1 from @yarnpkg/cli-dist
	PNPM        Client = "pnpm"         // pnpm 10.34.9, for lockfileVersion 9.0
	PNPM8       Client = "pnpm8"        // pnpm 8.15.9, for lockfileVersion 6.0
)

// Clients lists every Client, npm first.
var Clients = []Client{Npm, YarnClassic, YarnBerry, PNPM, PNPM8}

// scripts are the clients' entry points under tools/node_modules. They
// are run with node, so no bin link or corepack shim picks the version,
// and corepack never downloads one.
var scripts = map[Client]string{
	YarnClassic: "yarn/bin/yarn.js",
	YarnBerry:   "@yarnpkg/cli-dist/bin/yarn.js",
	PNPM:        "pnpm/bin/pnpm.cjs",
	PNPM8:       "pnpm8/bin/pnpm.cjs",
}

// installArgs are the install commands that fail instead of changing the
// lockfile.
var installArgs = map[Client][]string{
	YarnClassic: {"install", "--frozen-lockfile", "--non-interactive", "--ignore-scripts",
		"--no-progress"},
	YarnBerry: {"install", "--immutable"},
	PNPM:      {"install", "--frozen-lockfile", "--reporter=append-only"},
	PNPM8:     {"install", "--frozen-lockfile", "--reporter=append-only"},
}

// Install runs client's install that refuses to change the lockfile in
// projectDir, with registryURL as the configured registry: npm ci, yarn
// install --frozen-lockfile (classic), yarn install --immutable (berry) or
// pnpm install --frozen-lockfile. Each client gets a fresh HOME, cache and
// store, scripts turned off, no retries, and no way to reach any host but
// loopback:
//   - npm, yarn classic and pnpm get the tripwire proxy for every other
//     host (npm and pnpm through their proxy and noproxy settings, yarn
//     classic through HTTP_PROXY, HTTPS_PROXY and NO_PROXY, the only proxy
//     settings it applies per host).
//   - yarn berry cannot exempt hosts from its proxy, so it gets
//     enableNetwork: false with networkSettings that enable only
//     127.0.0.1 and localhost; a request it blocks counts as egress.
//
// WithConfig and WithAuthToken lines go to the npmrc that npm, pnpm and
// yarn classic read; yarn berry ignores them. The error wraps ErrEgress
// when the client tried to reach another host.
func Install(t testing.TB, client Client, projectDir, registryURL string, opts ...Option) (string, error) {
	t.Helper()
	if client == Npm {
		return CI(t, projectDir, registryURL, opts...)
	}
	return ExecClient(context.Background(), t.TempDir(), client, projectDir, registryURL,
		installArgs[client], opts...)
}

// ExecClient runs client with args in projectDir under the isolation that
// Install describes, with home as its HOME, cache and config folder.
func ExecClient(ctx context.Context, home string, client Client, projectDir, registryURL string,
	args []string, opts ...Option) (string, error) {
	if client == Npm {
		return Exec(ctx, home, projectDir, registryURL, args, opts...)
	}
	s := settings{timeout: 5 * time.Minute}
	for _, opt := range opts {
		opt(&s)
	}
	if s.err != nil {
		return "", fmt.Errorf("npmclient: %w", s.err)
	}
	script, ok := scripts[client]
	if !ok {
		return "", fmt.Errorf("npmclient: unknown client %q", client)
	}
	modules, err := verdacciotest.ToolsModules()
	if err != nil {
		return "", fmt.Errorf("npmclient: %w", err)
	}
	script = filepath.Join(modules, script)
	if _, err := os.Stat(script); err != nil {
		return "", fmt.Errorf("%s is not installed (%w): run make tools", client, err)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		return "", fmt.Errorf("node not found (%w): install Node.js 20 or later", err)
	}
	tripwire, err := startTripwire(home)
	if err != nil {
		return "", err
	}
	defer tripwire.close()

	registry := strings.TrimSuffix(registryURL, "/")
	env, err := clientEnv(client, home, registry, tripwire.addr(), s.config)
	if err != nil {
		return "", fmt.Errorf("npmclient: %w", err)
	}
	if client != YarnBerry {
		args = append(slices.Clone(args), "--registry", registry+"/")
	}
	return run(ctx, tripwire, invocation{
		command: string(client) + " " + strings.Join(args, " "),
		path:    node,
		args:    append([]string{script}, args...),
		dir:     projectDir,
		env:     env,
		timeout: s.timeout,
		blocked: blockedHosts,
	})
}

// clientEnv writes the client's user configuration under home and returns
// its environment.
func clientEnv(client Client, home, registry, proxy string, extra [][2]string) ([]string, error) {
	env := baseEnv(home)
	var npmrc []string
	for _, kv := range extra {
		npmrc = append(npmrc, kv[0]+"="+kv[1])
	}
	var err error
	switch client {
	case YarnClassic:
		err = errors.Join(
			writeConfig(home, ".npmrc", npmrc),
			writeConfig(home, ".yarnrc", []string{"disable-self-update-check true"}))
		env = append(env, "YARN_CACHE_FOLDER="+filepath.Join(home, "cache"),
			"HTTP_PROXY=http://"+proxy, "HTTPS_PROXY=http://"+proxy,
			"NO_PROXY=127.0.0.1,localhost")
	case PNPM, PNPM8:
		npmrc = append([]string{
			"store-dir=" + filepath.Join(home, "store"),
			"cache-dir=" + filepath.Join(home, "cache"),
			"state-dir=" + filepath.Join(home, "state"),
			"ignore-scripts=true",
			"update-notifier=false",
			"manage-package-manager-versions=false",
			"fetch-retries=0",
			// pnpm 8.15.9 waits the whole fetch timeout (60 s by default)
			// for a connection that the tripwire closed.
			"fetch-timeout=10000",
			"color=false",
			"proxy=http://" + proxy,
			"https-proxy=http://" + proxy,
			"noproxy=127.0.0.1,localhost",
		}, npmrc...)
		err = writeConfig(home, ".npmrc", npmrc)
		env = append(env, "npm_config_userconfig="+filepath.Join(home, ".npmrc"))
	case YarnBerry:
		err = writeConfig(home, ".yarnrc.yml", []string{
			"enableNetwork: false",
			"networkSettings:",
			`  "127.0.0.1": {enableNetwork: true}`,
			`  "localhost": {enableNetwork: true}`,
			`unsafeHttpWhitelist: ["127.0.0.1", "localhost"]`,
			"enableTelemetry: false",
			"enableGlobalCache: false",
			"cacheFolder: " + filepath.Join(home, "cache"),
			"globalFolder: " + filepath.Join(home, "global"),
			"enableScripts: false",
			"enableProgressBars: false",
			"enableColors: false",
			"httpRetry: 0",
		})
		env = append(env, "YARN_NPM_REGISTRY_SERVER="+registry)
	}
	return env, err
}

// baseEnv returns the environment without any package manager, corepack or
// proxy setting of the calling process, with HOME and the XDG folders in
// home and corepack kept off the network. CI is dropped too: yarn berry and
// pnpm turn on frozen installs when it is set, so a client would refuse to
// write a lockfile under CI but not elsewhere.
func baseEnv(home string) []string {
	var env []string
	for _, kv := range os.Environ() {
		key, _, _ := strings.Cut(kv, "=")
		lower := strings.ToLower(key)
		switch {
		case strings.HasPrefix(lower, "npm_config_"), strings.HasPrefix(lower, "yarn_"),
			strings.HasPrefix(lower, "pnpm_"), strings.HasPrefix(lower, "corepack_"),
			strings.HasPrefix(lower, "xdg_"), lower == "home", lower == "http_proxy",
			lower == "https_proxy", lower == "no_proxy", lower == "all_proxy", lower == "ci":
			continue
		}
		env = append(env, kv)
	}
	return append(env,
		"HOME="+home,
		"XDG_CONFIG_HOME="+filepath.Join(home, "config"),
		"XDG_CACHE_HOME="+filepath.Join(home, "cache"),
		"XDG_DATA_HOME="+filepath.Join(home, "data"),
		"XDG_STATE_HOME="+filepath.Join(home, "state"),
		"COREPACK_ENABLE_NETWORK=0",
		"COREPACK_ENABLE_AUTO_PIN=0",
	)
}

func writeConfig(home, name string, lines []string) error {
	path := filepath.Join(home, name)
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	return nil
}

// blockedRequest is yarn berry's message for a request that its
// enableNetwork setting stopped (yarn 4.18.1, error YN0080).
var blockedRequest = regexp.MustCompile(`Request to '([a-z+]+://[^/']+)[^']*' has been blocked`)

// blockedHosts returns the origins of the requests yarn berry blocked.
func blockedHosts(output string) []string {
	var hosts []string
	for _, m := range blockedRequest.FindAllStringSubmatch(output, -1) {
		if !slices.Contains(hosts, m[1]) {
			hosts = append(hosts, m[1])
		}
	}
	return hosts
}
