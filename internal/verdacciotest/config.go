package verdacciotest

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"gopkg.in/yaml.v3"
)

// ErrNotInstalled is returned, wrapped, when the Verdaccio binary is missing.
var ErrNotInstalled = errors.New("verdaccio not installed: run `make tools` (npm ci --prefix tools)")

// BinaryEnv names the environment variable that overrides the path of the
// Verdaccio binary.
const BinaryEnv = "SLUICE_VERDACCIO"

// Option configures Start, Launch and Restart.
type Option func(*settings)

type settings struct {
	binary       string
	uplink       string
	user         string
	password     string
	webUI        bool
	maxBodySize  string
	startTimeout time.Duration
}

func defaultSettings() settings {
	return settings{
		user:        "sluice-publisher",
		password:    "sluice-publisher-password",
		maxBodySize: "100mb",
		// Startup took about 1 s on a 2-core machine; the margin covers a
		// loaded CI host.
		startTimeout: 60 * time.Second,
	}
}

// WithUser sets the name and password of the publish user that Launch
// creates. The default is sluice-publisher.
func WithUser(name, password string) Option {
	return func(s *settings) { s.user, s.password = name, password }
}

// WithBinary sets the path of the verdaccio executable, in place of the
// SLUICE_VERDACCIO variable and the copy under tools/.
func WithBinary(path string) Option {
	return func(s *settings) { s.binary = path }
}

// WithUplink makes Verdaccio a pull-through cache of the registry at
// rawURL, which must be on loopback (127.0.0.1, ::1 or localhost), for
// comparing Sluice with a proxying mirror. Without it the configuration
// lists no uplink.
func WithUplink(rawURL string) Option {
	return func(s *settings) { s.uplink = rawURL }
}

// WithWebUI turns on Verdaccio's web interface, which is off by default.
func WithWebUI() Option {
	return func(s *settings) { s.webUI = true }
}

// WithMaxBodySize sets Verdaccio's max_body_size, such as "100mb" (the
// default here; Verdaccio's own default is 10mb). A publish request carries
// the tarball base64-encoded, about 4/3 of its size.
func WithMaxBodySize(size string) Option {
	return func(s *settings) { s.maxBodySize = size }
}

// WithStartTimeout sets how long Launch and Restart wait for GET /-/ping to
// succeed. The default is 60 s.
func WithStartTimeout(d time.Duration) Option {
	return func(s *settings) { s.startTimeout = d }
}

// Binary returns the path of the Verdaccio executable: $SLUICE_VERDACCIO
// if set, else tools/node_modules/.bin/verdaccio in the repository that
// contains the working directory (found by walking up to go.mod). The
// error wraps ErrNotInstalled when the file is missing.
func Binary() (string, error) {
	if path := os.Getenv(BinaryEnv); path != "" {
		if _, err := os.Stat(path); err != nil {
			return "", fmt.Errorf("%s=%s: %w (%w)", BinaryEnv, path, ErrNotInstalled, err)
		}
		return path, nil
	}
	modules, err := ToolsModules()
	if err != nil {
		return "", err
	}
	path := filepath.Join(modules, ".bin", "verdaccio")
	if _, err := os.Stat(path); err != nil {
		return "", fmt.Errorf("%s: %w", path, ErrNotInstalled)
	}
	return path, nil
}

// ToolsModules returns the tools/node_modules folder of the repository that
// contains the working directory, where `make tools` installs Verdaccio and
// the npm clients the tests run. The folder may not exist yet.
func ToolsModules() (string, error) {
	root, err := repoRoot()
	if err != nil {
		return "", err
	}
	return filepath.Join(root, "tools", "node_modules"), nil
}

func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod in the working directory or above: "+
				"run from the Sluice repository or set %s: %w", BinaryEnv, ErrNotInstalled)
		}
		dir = parent
	}
}

// config is the subset of Verdaccio's config.yaml that Sluice sets, in the
// order it is written.
type config struct {
	Storage     string                   `yaml:"storage"`
	Auth        map[string]htpasswd      `yaml:"auth"`
	Security    map[string]any           `yaml:"security"`
	Uplinks     map[string]any           `yaml:"uplinks"`
	Packages    map[string]packageAccess `yaml:"packages"`
	Web         map[string]any           `yaml:"web"`
	Middlewares map[string]any           `yaml:"middlewares"`
	MaxBodySize string                   `yaml:"max_body_size"`
	Listen      string                   `yaml:"listen"`
	Log         map[string]string        `yaml:"log"`
}

type htpasswd struct {
	File     string `yaml:"file"`
	MaxUsers int    `yaml:"max_users"`
}

type packageAccess struct {
	Access    string `yaml:"access"`
	Publish   string `yaml:"publish"`
	Unpublish string `yaml:"unpublish"`
	Proxy     string `yaml:"proxy,omitempty"`
}

// uplinkName is the name the configuration gives the WithUplink registry.
const uplinkName = "loopback"

// checkUplink returns an error unless rawURL is an http(s) URL on loopback.
func checkUplink(rawURL string) error {
	u, err := url.Parse(rawURL)
	if err != nil {
		return fmt.Errorf("invalid uplink URL %q: %w", rawURL, err)
	}
	host := u.Hostname()
	if ip := net.ParseIP(host); (ip == nil || !ip.IsLoopback()) && host != "localhost" {
		return fmt.Errorf("uplink %q is not on loopback: tests may reach only 127.0.0.1, "+
			"::1 or localhost", rawURL)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("invalid uplink URL %q: scheme must be http or https", rawURL)
	}
	return nil
}

// jwtSecurity makes Verdaccio issue JWT API tokens. Its default legacy
// tokens carry the password, which it checks against htpasswd's bcrypt hash
// on every request: about 90 ms each on a 2-core machine, all on Node's one
// thread, which made publishing crawl.
var jwtSecurity = map[string]any{
	"api": map[string]any{"jwt": map[string]any{"sign": map[string]string{"expiresIn": "7d"}}},
	"web": map[string]any{"sign": map[string]string{"expiresIn": "1h"}},
}

// writeConfig writes dir/config.yaml with storage and htpasswd below dir
// and a listener on 127.0.0.1:port. It lists no uplinks unless WithUplink
// names a loopback one, so Verdaccio never proxies to another host. Anyone
// may read and only authenticated users may publish. The audit middleware
// is off, because when on it forwards audits to registry.npmjs.org.
func writeConfig(dir string, port int, s settings) (string, error) {
	access := packageAccess{Access: "$all", Publish: "$authenticated", Unpublish: "$authenticated"}
	uplinks := map[string]any{}
	if s.uplink != "" {
		if err := checkUplink(s.uplink); err != nil {
			return "", err
		}
		uplinks[uplinkName] = map[string]string{"url": s.uplink}
		access.Proxy = uplinkName
	}
	cfg := config{
		Storage:     filepath.Join(dir, "storage"),
		Auth:        map[string]htpasswd{"htpasswd": {File: filepath.Join(dir, "htpasswd"), MaxUsers: 100}},
		Security:    jwtSecurity,
		Uplinks:     uplinks,
		Packages:    map[string]packageAccess{"@*/*": access, "**": access},
		Web:         map[string]any{"enable": s.webUI, "title": "Sluice test mirror"},
		Middlewares: map[string]any{"audit": map[string]bool{"enabled": false}},
		MaxBodySize: s.maxBodySize,
		Listen:      fmt.Sprintf("127.0.0.1:%d", port),
		Log:         map[string]string{"type": "stdout", "format": "pretty-timestamped", "level": "http"},
	}
	data, err := yaml.Marshal(cfg)
	if err != nil {
		return "", fmt.Errorf("encode verdaccio config: %w", err)
	}
	path := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		return "", fmt.Errorf("write verdaccio config: %w", err)
	}
	return path, nil
}
