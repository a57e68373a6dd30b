package provision

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// APIVersion and Kind identify a network declaration.
const (
	APIVersion = "sluice.dev/v1"
	Kind       = "Network"
)

// Declaration describes the internal side of the network: mirror
// endpoints, teams, data classes and Harbor projects.
type Declaration struct {
	APIVersion string `yaml:"apiVersion"`
	Kind       string `yaml:"kind"`
	Metadata   struct {
		Name string `yaml:"name"`
	} `yaml:"metadata"`
	// Output is the folder generated files go to, relative to the
	// declaration file unless absolute.
	Output      string      `yaml:"output"`
	DataClasses []DataClass `yaml:"dataClasses"`
	Teams       []Team      `yaml:"teams"`
	NPM         *NPM        `yaml:"npm"`
	Harbor      *Harbor     `yaml:"harbor"`
	Backstage   *Backstage  `yaml:"backstage"`

	// File is the path the declaration was read from.
	File string `yaml:"-"`
	// lines maps field paths, such as harbor.projects[1].dataClass, to
	// their line in File.
	lines map[string]int
}

// DataClass sets how strictly the artifacts of one data class are served.
type DataClass struct {
	Name string `yaml:"name"`
	// Severity blocks pulls of images with a vulnerability at this
	// severity or above; empty blocks none.
	Severity string `yaml:"severity"`
	// CosignRequired blocks pulls of images without a cosign signature.
	CosignRequired bool `yaml:"cosignRequired"`
}

// Team owns npm scopes and Harbor projects.
type Team struct {
	Name string `yaml:"name"`
	// Owner is the Backstage entity reference of the team, such as
	// group:default/payments.
	Owner string `yaml:"owner"`
	// Scope is the npm scope the team's packages are published under.
	Scope string `yaml:"scope"`
	// Readers are the Verdaccio accounts that may read the scope.
	Readers []string `yaml:"readers"`
}

// NPM is the internal npm registry, served by Verdaccio.
type NPM struct {
	// URL is the registry URL clients use.
	URL string `yaml:"url"`
	// TokenEnv names the variable clients read their registry token from.
	TokenEnv string `yaml:"tokenEnv"`
	// CAFile is the CA certificate path on client machines.
	CAFile    string    `yaml:"caFile"`
	Verdaccio Verdaccio `yaml:"verdaccio"`
}

// Verdaccio is the registry's server configuration.
type Verdaccio struct {
	Listen  string `yaml:"listen"`
	Storage string `yaml:"storage"`
	// Htpasswd is the path of the account file on the Verdaccio host.
	Htpasswd string `yaml:"htpasswd"`
	// Publisher is the account Sluice publishes with, the only one that may.
	Publisher string    `yaml:"publisher"`
	Accounts  []Account `yaml:"accounts"`
	// Readers may read packages outside the teams' scopes; the default is
	// every authenticated account.
	Readers []string `yaml:"readers"`
	// TokenExpiry is how long the API tokens Verdaccio issues stay valid,
	// such as 7d.
	TokenExpiry string `yaml:"tokenExpiry"`
}

// Account is a Verdaccio account whose password is read from the
// environment when provisioning.
type Account struct {
	Name        string `yaml:"name"`
	PasswordEnv string `yaml:"passwordEnv"`
}

// Harbor is the internal image registry.
type Harbor struct {
	URL string `yaml:"url"`
	// Registry is the host[:port] clients pull from, or http://host:port.
	Registry    string `yaml:"registry"`
	UsernameEnv string `yaml:"usernameEnv"`
	PasswordEnv string `yaml:"passwordEnv"`
	// PullSecretNamespace is the Kubernetes namespace of the image pull
	// secrets.
	PullSecretNamespace string    `yaml:"pullSecretNamespace"`
	Projects            []Project `yaml:"projects"`
}

// Project is one Harbor project.
type Project struct {
	Name      string `yaml:"name"`
	Team      string `yaml:"team"`
	DataClass string `yaml:"dataClass"`
	Public    bool   `yaml:"public"`
	// Upstream is the registry whose images the project keeps, such as
	// docker.io; clients are pointed at the project for it.
	Upstream      string     `yaml:"upstream"`
	ImmutableTags []string   `yaml:"immutableTags"`
	Retention     *Retention `yaml:"retention"`
}

// Retention keeps the most recently pushed artifacts of each repository.
type Retention struct {
	KeepLast int64 `yaml:"keepLast"`
	// Schedule is Harbor's six-field cron expression, seconds first.
	Schedule string `yaml:"schedule"`
}

// Backstage is the developer portal pointed at the mirrors.
type Backstage struct {
	// TechDocsImage is the TechDocs generator image in Harbor, pinned by
	// the digest Harbor reports for its tag.
	TechDocsImage *ImageRef `yaml:"techdocsImage"`
	// AssetsURL is the internal base URL of the mirrored copies of CDN
	// files.
	AssetsURL    string        `yaml:"assetsURL"`
	Integrations []Integration `yaml:"integrations"`
	// System is the Backstage system the artifact Resources belong to.
	System string `yaml:"system"`
}

// ImageRef names an image in a Harbor project by tag.
type ImageRef struct {
	Project    string `yaml:"project"`
	Repository string `yaml:"repository"`
	Tag        string `yaml:"tag"`
}

// Integration is an internal source host Backstage reads from, such as
// type gitlab and host gitlab.internal.
type Integration struct {
	Type string `yaml:"type"`
	Host string `yaml:"host"`
}

// Load reads and checks the declaration at path.
func Load(path string) (*Declaration, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read declaration: %w", err)
	}
	return Parse(path, data)
}

// Parse decodes and checks a declaration. Errors name the file and line.
func Parse(file string, data []byte) (*Declaration, error) {
	d := &Declaration{File: file}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(d); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%s: empty declaration: start with apiVersion: %s and kind: %s",
				file, APIVersion, Kind)
		}
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	d.lines = map[string]int{}
	recordLines(&root, "", d.lines)
	if err := d.validate(); err != nil {
		return nil, err
	}
	return d, nil
}

// recordLines stores the line of every mapping key and sequence item
// under its field path.
func recordLines(n *yaml.Node, path string, lines map[string]int) {
	switch n.Kind {
	case yaml.DocumentNode:
		for _, c := range n.Content {
			recordLines(c, path, lines)
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			p := n.Content[i].Value
			if path != "" {
				p = path + "." + p
			}
			lines[p] = n.Content[i].Line
			recordLines(n.Content[i+1], p, lines)
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			p := path + "[" + strconv.Itoa(i) + "]"
			lines[p] = c.Line
			recordLines(c, p, lines)
		}
	}
}

// Line returns the line of the field path in the declaration file, or
// the line of its closest parent that the file has, or 0.
func (d *Declaration) Line(path string) int {
	for path != "" {
		if l, ok := d.lines[path]; ok {
			return l
		}
		i := max(strings.LastIndexByte(path, '.'), strings.LastIndexByte(path, '['))
		if i < 0 {
			break
		}
		path = path[:i]
	}
	return 0
}

// OutputDir returns the folder generated files go to.
func (d *Declaration) OutputDir() string {
	out := d.Output
	if out == "" {
		out = "provisioned"
	}
	if filepath.IsAbs(out) {
		return out
	}
	return filepath.Join(filepath.Dir(d.File), out)
}
