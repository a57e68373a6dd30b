package clientconfig

import (
	"fmt"
	"path"
	"slices"
	"strconv"
	"strings"
)

// mirrorPath returns where the OCI registry keeps an upstream's images,
// such as harbor.internal/docker.io. Endpoints must be valid.
func mirrorPath(e Endpoints, u Upstream) (ociRegistry, string) {
	r, _ := parseOCI(e.OCI)
	return r, r.host + "/" + u.project()
}

// containerdHosts renders certs.d/<upstream>/hosts.toml for each upstream,
// for containerd's config_path (registry.config_path in the CRI plugin).
//
// The internal registry keeps each upstream under a project, so the host
// URL carries the /v2/<project> API root and override_path stops
// containerd from adding another /v2. server names the internal registry
// too: containerd tries the [host] entries first and server last, and
// without server it would fall back to the upstream itself.
func containerdHosts(e Endpoints) []File {
	files := make([]File, 0, len(e.Upstreams))
	for _, u := range e.Upstreams {
		r, _ := mirrorPath(e, u)
		endpoint := r.scheme() + "://" + r.host + "/v2/" + u.project()
		var b strings.Builder
		b.WriteString(header("#"))
		fmt.Fprintf(&b, "# Pulls of %s images go to %s only.\n", u.Host, endpoint)
		fmt.Fprintf(&b, "server = %s\n", strconv.Quote(endpoint))
		writeHostSettings(&b, "", e.CAFile)
		fmt.Fprintf(&b, "\n[host.%s]\n", strconv.Quote(endpoint))
		writeHostSettings(&b, "  ", e.CAFile)
		files = append(files, File{path.Join("certs.d", hostDirectory(u.Host), "hosts.toml"), []byte(b.String())})
	}
	return files
}

// hostDirectory names the certs.d folder of a registry the way containerd
// looks for it first: host:port becomes host_port_, which also suits file
// systems that do not allow ":".
func hostDirectory(host string) string {
	if h, port, ok := strings.Cut(host, ":"); ok {
		return h + "_" + port + "_"
	}
	return host
}

// writeHostSettings writes the settings of one containerd host. Push is
// left out of the capabilities because the mirror is fed by Sluice only.
func writeHostSettings(b *strings.Builder, indent, caFile string) {
	fmt.Fprintf(b, "%scapabilities = [\"pull\", \"resolve\"]\n", indent)
	fmt.Fprintf(b, "%soverride_path = true\n", indent)
	if caFile != "" {
		fmt.Fprintf(b, "%sca = %s\n", indent, strconv.Quote(caFile))
	}
}

// registriesConf renders a version 2 registries.conf for CRI-O, Podman
// and Buildah.
//
// Each upstream's location is rewritten to the internal registry, so the
// upstream is never contacted. [[registry.mirror]] entries would not do
// that: the primary location is tried after the mirrors.
func registriesConf(e Endpoints) []byte {
	var b strings.Builder
	b.WriteString(header("#"))
	hosts := make([]string, len(e.Upstreams))
	for i, u := range e.Upstreams {
		hosts[i] = u.Host
	}
	if slices.Contains(hosts, "docker.io") {
		b.WriteString("# Short names such as nginx mean docker.io/library/nginx, which is rewritten below.\n")
		b.WriteString("unqualified-search-registries = [\"docker.io\"]\n")
		b.WriteString("short-name-mode = \"enforcing\"\n")
	}
	for _, u := range e.Upstreams {
		r, location := mirrorPath(e, u)
		fmt.Fprintf(&b, "\n[[registry]]\nprefix = %s\nlocation = %s\n", strconv.Quote(u.Host), strconv.Quote(location))
		if r.plain {
			b.WriteString("insecure = true\n")
		}
	}
	return []byte(b.String())
}
