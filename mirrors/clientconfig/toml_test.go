package clientconfig

import (
	"slices"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"
	"gopkg.in/yaml.v3"
)

// hostFields lists the hosts.toml keys containerd documents for a host
// (docs/hosts.md in containerd).
type hostFields struct {
	Capabilities []string       `toml:"capabilities"`
	CA           any            `toml:"ca"`
	Client       any            `toml:"client"`
	SkipVerify   *bool          `toml:"skip_verify"`
	Header       map[string]any `toml:"header"`
	OverridePath bool           `toml:"override_path"`
}

// containerdHost is a hosts.toml file: the settings of server at the top
// level, then one table per host.
type containerdHost struct {
	hostFields
	Server string                `toml:"server"`
	Host   map[string]hostFields `toml:"host"`
}

// registriesConfV2 lists the registries.conf keys of containers-registries.conf(5).
type registriesConfV2 struct {
	UnqualifiedSearchRegistries []string `toml:"unqualified-search-registries"`
	ShortNameMode               string   `toml:"short-name-mode"`
	Registry                    []struct {
		Prefix   string `toml:"prefix"`
		Location string `toml:"location"`
		Insecure bool   `toml:"insecure"`
		Blocked  bool   `toml:"blocked"`
		Mirror   []struct {
			Location string `toml:"location"`
			Insecure bool   `toml:"insecure"`
		} `toml:"mirror"`
	} `toml:"registry"`
}

func TestGeneratedFilesParse(t *testing.T) {
	for _, tt := range cases {
		files, err := Generate(tt.endpoints)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			switch {
			case strings.HasSuffix(f.Path, "hosts.toml"):
				checkHostsTOML(t, tt.endpoints, f)
			case f.Path == "registries.conf":
				checkRegistriesConf(t, tt.endpoints, f)
			case f.Path == ".yarnrc.yml":
				var v map[string]any
				if err := yaml.Unmarshal(f.Data, &v); err != nil {
					t.Errorf("%s/%s: %v", tt.name, f.Path, err)
				}
			}
		}
	}
}

// decodeStrict decodes a TOML file into v and fails on keys v lacks, which
// are keys the client does not document.
func decodeStrict(t *testing.T, f File, v any) {
	t.Helper()
	md, err := toml.Decode(string(f.Data), v)
	if err != nil {
		t.Fatalf("%s: %v", f.Path, err)
	}
	if keys := md.Undecoded(); len(keys) > 0 {
		t.Errorf("%s: keys the client does not know: %v", f.Path, keys)
	}
}

func checkHostsTOML(t *testing.T, e Endpoints, f File) {
	t.Helper()
	var h containerdHost
	decodeStrict(t, f, &h)
	if len(h.Host) != 1 {
		t.Fatalf("%s: %d hosts, want 1", f.Path, len(h.Host))
	}
	for url, host := range h.Host {
		if url != h.Server {
			t.Errorf("%s: server %q differs from host %q, so containerd could fall back elsewhere", f.Path, h.Server, url)
		}
		if !strings.Contains(url, "/v2/") || !host.OverridePath || !h.OverridePath {
			t.Errorf("%s: host %q needs a /v2/<project> path with override_path", f.Path, url)
		}
		if !slices.Equal(host.Capabilities, []string{"pull", "resolve"}) {
			t.Errorf("%s: capabilities %v, want pull and resolve", f.Path, host.Capabilities)
		}
		if (e.CAFile != "") != (host.CA != nil) {
			t.Errorf("%s: ca = %v with CA file %q", f.Path, host.CA, e.CAFile)
		}
	}
}

func checkRegistriesConf(t *testing.T, e Endpoints, f File) {
	t.Helper()
	var c registriesConfV2
	decodeStrict(t, f, &c)
	if len(c.Registry) != len(e.Upstreams) {
		t.Fatalf("%s: %d registries, want %d", f.Path, len(c.Registry), len(e.Upstreams))
	}
	oci, _ := parseOCI(e.OCI)
	for i, r := range c.Registry {
		if r.Prefix != e.Upstreams[i].Host {
			t.Errorf("%s: prefix %q, want %q", f.Path, r.Prefix, e.Upstreams[i].Host)
		}
		if !strings.HasPrefix(r.Location, oci.host+"/") {
			t.Errorf("%s: location %q is not on %s", f.Path, r.Location, oci.host)
		}
		if r.Insecure != oci.plain {
			t.Errorf("%s: insecure = %v for %s", f.Path, r.Insecure, e.OCI)
		}
	}
}
