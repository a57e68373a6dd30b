package server

import (
	"bytes"
	"cmp"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/sluice-dev/sluice/ingest/sign"
	"github.com/sluice-dev/sluice/internal/pipeline"
)

// DefaultListen is the address the server listens on when the
// configuration names none: loopback only.
const DefaultListen = "127.0.0.1:8480"

// Config is the server's configuration file (YAML). Secrets are not kept
// in it: mirror and upstream credentials come from the environment, and
// API tokens are stored as SHA-256 hashes.
type Config struct {
	// Listen is the host:port to listen on (default 127.0.0.1:8480).
	Listen string `yaml:"listen"`
	// TLS serves HTTPS when both files are given.
	TLS struct {
		Cert string `yaml:"cert"`
		Key  string `yaml:"key"`
	} `yaml:"tls"`
	// DataDir holds the blob store and the state database (default .sluice).
	DataDir string `yaml:"dataDir"`
	// Manifests lists manifest files and folders to serve and schedule.
	Manifests []string `yaml:"manifests"`
	// RequestsDir is the folder that filed ingestion requests are written to as
	// manifests (default <dataDir>/requests); it is loaded with Manifests.
	RequestsDir string `yaml:"requestsDir"`
	// Policy is the risk policy file; required with a mirror.
	Policy string `yaml:"policy"`
	// Scan turns the scan stage on (needs `sluice db import` first).
	Scan bool `yaml:"scan"`
	// Exceptions are exception files (kind Exceptions) for the scan stage.
	Exceptions []string `yaml:"exceptions"`
	// InternalScopes are npm scopes that only internal packages use; such
	// a package found upstream is flagged.
	InternalScopes []string `yaml:"internalScopes"`
	// MinReleaseAge flags versions published more recently than this
	// before the scan; 0 turns the check off.
	MinReleaseAge time.Duration `yaml:"minReleaseAge"`

	NPM NPMSettings `yaml:"npm"`
	// OCI names the registry container images are published to.
	OCI OCISettings `yaml:"oci"`
	// Signing signs every approved artifact before it is published.
	Signing SigningSettings `yaml:"signing"`
	OIDC    *OIDCConfig     `yaml:"oidc"`
	// Tokens are static API tokens for build agents.
	Tokens []StaticToken `yaml:"tokens"`
	// Schedules maps a manifest name to a cron schedule, overriding the
	// manifest's spec.schedule.
	Schedules map[string]string `yaml:"schedules"`
	// ShutdownGrace is how long a running sync may go on after a stop
	// signal before it is interrupted (default 30s).
	ShutdownGrace time.Duration `yaml:"shutdownGrace"`
	// MetricsPublic serves /metrics without authentication.
	MetricsPublic bool `yaml:"metricsPublic"`
}

// NPMSettings name the npm upstream and mirror. Credentials are read from
// the environment variables the CLI uses: SLUICE_NPM_TOKEN for the
// upstream, SLUICE_NPM_MIRROR_TOKEN or SLUICE_NPM_MIRROR_USER and
// SLUICE_NPM_MIRROR_PASSWORD for the mirror.
type NPMSettings struct {
	Upstream    string `yaml:"upstream"`
	Mirror      string `yaml:"mirror"`
	Concurrency int    `yaml:"concurrency"`
	Retries     int    `yaml:"retries"`
}

// OCISettings name the OCI mirror, a registry with an optional repository
// prefix such as harbor.example/mirror. Credentials are read from
// SLUICE_OCI_MIRROR_TOKEN, or SLUICE_OCI_MIRROR_USER and
// SLUICE_OCI_MIRROR_PASSWORD; without them the Docker configuration is
// used.
type OCISettings struct {
	Mirror string `yaml:"mirror"`
}

// SigningSettings name the cosign private key that signs approved
// artifacts. Its password is read from the environment variable
// PasswordEnv (default COSIGN_PASSWORD), which must be set.
type SigningSettings struct {
	Key         string `yaml:"key"`
	PasswordEnv string `yaml:"passwordEnv"`
}

// OIDCConfig verifies bearer tokens of an OpenID Connect provider offline,
// against keys from a JWKS file.
type OIDCConfig struct {
	Issuer   string `yaml:"issuer"`
	Audience string `yaml:"audience"`
	// JWKSFile is a JSON Web Key Set exported from the provider.
	JWKSFile string `yaml:"jwksFile"`
	// IdentityClaim names the claim recorded as the identity (default
	// preferred_username, falling back to sub).
	IdentityClaim string `yaml:"identityClaim"`
	// RolesClaim is a dotted path to a string or list claim (default
	// groups; Keycloak realm roles are realm_access.roles).
	RolesClaim string `yaml:"rolesClaim"`
	// RoleMap maps a claim value to a Sluice role. A value that is itself
	// a role name maps to that role.
	RoleMap map[string]Role `yaml:"roleMap"`
}

// StaticToken is an API token for a build agent.
type StaticToken struct {
	// Name is the identity recorded in the ledger.
	Name string `yaml:"name"`
	// SHA256 is the hex SHA-256 of the token; the token itself is not
	// stored.
	SHA256 string `yaml:"sha256"`
	Roles  []Role `yaml:"roles"`
}

// LoadConfig reads and checks a configuration file. Relative paths in it
// are taken relative to the file's folder.
func LoadConfig(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read server config: %w", err)
	}
	c := &Config{}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(c); err != nil {
		return nil, fmt.Errorf("server config %s: %w", path, err)
	}
	c.resolvePaths(filepath.Dir(path))
	if err := c.check(); err != nil {
		return nil, fmt.Errorf("server config %s: %w", path, err)
	}
	return c, nil
}

func (c *Config) resolvePaths(dir string) {
	abs := func(p *string) {
		if *p != "" && !filepath.IsAbs(*p) {
			*p = filepath.Join(dir, *p)
		}
	}
	abs(&c.TLS.Cert)
	abs(&c.TLS.Key)
	abs(&c.DataDir)
	abs(&c.RequestsDir)
	abs(&c.Policy)
	abs(&c.Signing.Key)
	for i := range c.Exceptions {
		abs(&c.Exceptions[i])
	}
	for i := range c.Manifests {
		abs(&c.Manifests[i])
	}
	if c.OIDC != nil {
		abs(&c.OIDC.JWKSFile)
	}
}

// check fills defaults and reports the first invalid setting.
func (c *Config) check() error {
	if c.Listen == "" {
		c.Listen = DefaultListen
	}
	if c.DataDir == "" {
		c.DataDir = ".sluice"
	}
	if c.RequestsDir == "" {
		c.RequestsDir = filepath.Join(c.DataDir, "requests")
	}
	if c.ShutdownGrace == 0 {
		c.ShutdownGrace = 30 * time.Second
	}
	if (c.TLS.Cert == "") != (c.TLS.Key == "") {
		return errors.New("tls: give both cert and key, or neither")
	}
	if c.NPM.Retries == 0 {
		c.NPM.Retries = 4
	}
	if (c.NPM.Mirror != "" || c.OCI.Mirror != "") && c.Policy == "" {
		return errors.New("npm.mirror and oci.mirror need policy: nothing is published without a recorded verdict")
	}
	if c.Signing.PasswordEnv != "" && c.Signing.Key == "" {
		return errors.New("signing.passwordEnv is set without signing.key")
	}
	if c.OIDC != nil {
		o := c.OIDC
		if o.Issuer == "" || o.Audience == "" || o.JWKSFile == "" {
			return errors.New("oidc: set issuer, audience and jwksFile")
		}
		for value, role := range o.RoleMap {
			if !role.valid() {
				return fmt.Errorf("oidc.roleMap[%q]: unknown role %q: use one of %v", value, role, AllRoles)
			}
		}
	}
	for i, t := range c.Tokens {
		if t.Name == "" {
			return fmt.Errorf("tokens[%d]: name the token's holder", i)
		}
		if b, err := hex.DecodeString(t.SHA256); err != nil || len(b) != 32 {
			return fmt.Errorf("tokens[%d] (%s): sha256 must be 64 hex digits, the output of "+
				"`printf %%s TOKEN | sha256sum`", i, t.Name)
		}
		for _, r := range t.Roles {
			if !r.valid() {
				return fmt.Errorf("tokens[%d] (%s): unknown role %q: use one of %v", i, t.Name, r, AllRoles)
			}
		}
	}
	if c.OIDC == nil && len(c.Tokens) == 0 {
		return errors.New("no authentication: configure oidc or tokens")
	}
	return nil
}

// pipelineSettings returns the runner settings for this configuration,
// with credentials and the signing key's password from the environment.
func (c *Config) pipelineSettings() (pipeline.Settings, error) {
	s := pipeline.Settings{
		Upstream: c.NPM.Upstream, UpstreamToken: os.Getenv("SLUICE_NPM_TOKEN"),
		Mirror: c.NPM.Mirror, MirrorAuth: pipeline.MirrorAuthFromEnv(),
		OCIMirror: c.OCI.Mirror, OCIAuth: pipeline.OCIAuthFromEnv(),
		Policy: c.Policy, Scan: c.Scan, VulnDBDir: filepath.Join(c.DataDir, "vulndb"),
		Exceptions: c.Exceptions, InternalScopes: c.InternalScopes, MinReleaseAge: c.MinReleaseAge,
		Concurrency: c.NPM.Concurrency, Retries: c.NPM.Retries,
	}
	if c.Signing.Key != "" {
		env := cmp.Or(c.Signing.PasswordEnv, "COSIGN_PASSWORD")
		password, ok := os.LookupEnv(env)
		if !ok {
			return s, fmt.Errorf("signing.key: %s is not set: set it to the key's password (an empty value "+
				"means no password)", env)
		}
		signer, err := sign.LoadPrivateKey(c.Signing.Key, []byte(password))
		if err != nil {
			return s, fmt.Errorf("signing.key: %w", err)
		}
		s.Signer = signer
	}
	return s, nil
}

// manifestPaths returns the configured manifest paths and the requests
// folder when it exists.
func (c *Config) manifestPaths() []string {
	paths := slices.Clone(c.Manifests)
	if _, err := os.Stat(c.RequestsDir); err == nil {
		paths = append(paths, c.RequestsDir)
	}
	return paths
}
