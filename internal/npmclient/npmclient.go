// Package npmclient runs the real npm, yarn (classic and berry) and pnpm
// clients in tests, cut off from every host but loopback, so that a test
// proves an install works from a mirror alone. npm gets a fresh user
// config, global config, cache and HOME, and its proxy is a loopback
// listener that records and closes every connection: with noproxy set to
// 127.0.0.1 and localhost, a request to any other host reaches only that
// listener and fails. Install describes how the other clients are cut off.
package npmclient

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// ErrEgress is returned, wrapped, when the client tried to reach a host
// other than loopback, even if the client itself succeeded.
var ErrEgress = errors.New("the client tried to reach a non-loopback host")

// Option configures a run of npm.
type Option func(*settings)

type settings struct {
	npm     string
	timeout time.Duration
	config  [][2]string
	err     error
}

// WithConfig adds key=value to the user config npm reads, after the
// isolating settings, so it can override them (for example
// WithConfig("fetch-retries", "2")).
func WithConfig(key, value string) Option {
	return func(s *settings) { s.config = append(s.config, [2]string{key, value}) }
}

// WithAuthToken makes npm send "Authorization: Bearer <token>" to the
// registry at registryURL.
func WithAuthToken(registryURL, token string) Option {
	return func(s *settings) {
		u, err := url.Parse(registryURL)
		if err != nil || u.Host == "" {
			s.err = fmt.Errorf("auth token for %q: invalid registry URL", registryURL)
			return
		}
		key := "//" + u.Host + strings.TrimSuffix(u.Path, "/") + "/:_authToken"
		s.config = append(s.config, [2]string{key, token})
	}
}

// WithNpm sets the npm executable. The default is npm on PATH.
func WithNpm(path string) Option {
	return func(s *settings) { s.npm = path }
}

// WithTimeout sets how long npm may run before it is killed. The default
// is 5 minutes.
func WithTimeout(d time.Duration) Option {
	return func(s *settings) { s.timeout = d }
}

// CI runs `npm ci` in projectDir against registryURL and returns npm's
// combined output. Besides the isolation described in the package doc, it
// turns off scripts, audit, fund and the update notifier. It sets
// fetch-retries to 0 so that failures show at once. It sets
// replace-registry-host to never, so npm fetches each tarball from the
// lockfile's resolved URL as written and never swaps in registryURL.
// The error wraps ErrEgress when npm tried to reach another host, and
// otherwise reports npm's exit status.
func CI(t testing.TB, projectDir, registryURL string, opts ...Option) (string, error) {
	t.Helper()
	return Run(t, projectDir, registryURL, []string{"ci"}, opts...)
}

// Run runs npm with args in projectDir under the same isolation as CI.
func Run(t testing.TB, projectDir, registryURL string, args []string, opts ...Option) (string, error) {
	t.Helper()
	return Exec(context.Background(), t.TempDir(), projectDir, registryURL, args, opts...)
}

// Exec runs npm with args in projectDir under the same isolation as CI,
// with home as npm's HOME, cache and config folder. It serves programs
// that are not tests, such as the demo and the benchmark.
func Exec(ctx context.Context, home, projectDir, registryURL string, args []string, opts ...Option) (string, error) {
	s := settings{npm: "npm", timeout: 5 * time.Minute}
	for _, opt := range opts {
		opt(&s)
	}
	if s.err != nil {
		return "", fmt.Errorf("npmclient: %w", s.err)
	}
	npm, err := exec.LookPath(s.npm)
	if err != nil {
		return "", fmt.Errorf("npm not found (%w): install Node.js 20 or later with npm", err)
	}

	tripwire, err := startTripwire(home)
	if err != nil {
		return "", err
	}
	defer tripwire.close()

	userconfig, err := writeUserconfig(home, tripwire.addr(), s.config)
	if err != nil {
		return "", fmt.Errorf("npmclient: %w", err)
	}
	cmdArgs := append(append([]string{}, args...), "--registry", strings.TrimSuffix(registryURL, "/")+"/")
	return run(ctx, tripwire, invocation{
		command: "npm " + strings.Join(args, " "),
		path:    npm,
		args:    cmdArgs,
		dir:     projectDir,
		env:     isolatedEnv(home, userconfig, tripwire.addr()),
		timeout: s.timeout,
	})
}

// startTripwire creates home and starts the tripwire proxy for a run.
func startTripwire(home string) (*tripwire, error) {
	if err := os.MkdirAll(home, 0o700); err != nil {
		return nil, fmt.Errorf("npmclient: %w", err)
	}
	tw, err := newTripwire()
	if err != nil {
		return nil, fmt.Errorf("npmclient: %w", err)
	}
	return tw, nil
}

// invocation is one run of a client under isolation.
type invocation struct {
	command string // what errors call the run, such as "npm ci"
	path    string
	args    []string
	dir     string
	env     []string
	timeout time.Duration
	// blocked returns the hosts that the client's output reports as
	// blocked by its own settings; nil when it has none.
	blocked func(output string) []string
}

// run runs inv and returns its combined output. The error wraps ErrEgress
// when the tripwire or inv.blocked recorded a host, and otherwise reports a
// timeout or the exit status.
func run(ctx context.Context, tw *tripwire, inv invocation) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, inv.timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, inv.path, inv.args...)
	cmd.Dir = inv.dir
	cmd.Env = inv.env
	cmd.WaitDelay = 10 * time.Second
	output, runErr := cmd.CombinedOutput()

	hosts := tw.hosts()
	if inv.blocked != nil {
		hosts = append(hosts, inv.blocked(string(output))...)
	}
	if len(hosts) > 0 {
		return string(output), fmt.Errorf("%s in %s: %w: %s", inv.command, inv.dir, ErrEgress,
			strings.Join(hosts, ", "))
	}
	if ctx.Err() != nil {
		return string(output), fmt.Errorf("%s in %s: timed out after %s", inv.command, inv.dir,
			inv.timeout)
	}
	if runErr != nil {
		return string(output), fmt.Errorf("%s in %s failed: %w", inv.command, inv.dir, runErr)
	}
	return string(output), nil
}

// writeUserconfig writes the npmrc that npm reads as its user config.
func writeUserconfig(home, proxy string, extra [][2]string) (string, error) {
	lines := []string{
		"cache=" + filepath.Join(home, "cache"),
		"logs-dir=" + filepath.Join(home, "logs"),
		"ignore-scripts=true",
		"audit=false",
		"fund=false",
		"update-notifier=false",
		"progress=false",
		"color=false",
		"loglevel=http",
		"fetch-retries=0",
		"replace-registry-host=never",
		"proxy=http://" + proxy,
		"https-proxy=http://" + proxy,
		"noproxy=127.0.0.1,localhost",
	}
	for _, kv := range extra {
		lines = append(lines, kv[0]+"="+kv[1])
	}
	path := filepath.Join(home, "npmrc")
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("write npm user config: %w", err)
	}
	if err := os.WriteFile(filepath.Join(home, "globalnpmrc"), nil, 0o600); err != nil {
		return "", fmt.Errorf("write npm global config: %w", err)
	}
	return path, nil
}

// isolatedEnv returns the environment of baseEnv plus npm's isolating
// settings.
func isolatedEnv(home, userconfig, proxy string) []string {
	return append(baseEnv(home),
		"npm_config_userconfig="+userconfig,
		"npm_config_globalconfig="+filepath.Join(home, "globalnpmrc"),
		"npm_config_cache="+filepath.Join(home, "cache"),
		"npm_config_proxy=http://"+proxy,
		"npm_config_https_proxy=http://"+proxy,
		"npm_config_noproxy=127.0.0.1,localhost",
	)
}
