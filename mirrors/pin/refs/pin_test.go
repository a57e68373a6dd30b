package refs

import (
	"errors"
	"strings"
	"testing"
)

func TestNormalize(t *testing.T) {
	tests := []struct{ in, want string }{
		{"nginx", "docker.io/library/nginx:latest"},
		{"nginx:1.27", "docker.io/library/nginx:1.27"},
		{"docker.io/nginx", "docker.io/library/nginx:latest"},
		{"index.docker.io/library/nginx:1", "docker.io/library/nginx:1"},
		{"bitnami/kubectl:1.31", "docker.io/bitnami/kubectl:1.31"},
		{"ghcr.io/org/app", "ghcr.io/org/app:latest"},
		{"localhost:5000/app:v1", "localhost:5000/app:v1"},
		{"nginx:1.27@sha256:" + strings.Repeat("a", 64), "docker.io/library/nginx@sha256:" + strings.Repeat("a", 64)},
	}
	for _, tt := range tests {
		r, err := Normalize(tt.in)
		if err != nil {
			t.Errorf("Normalize(%q): %v", tt.in, err)
			continue
		}
		if r.String() != tt.want {
			t.Errorf("Normalize(%q) = %q, want %q", tt.in, r, tt.want)
		}
	}
	for _, bad := range []string{"", "Nginx", "nginx:", "nginx@sha256:abc"} {
		if _, err := Normalize(bad); err == nil {
			t.Errorf("Normalize(%q) accepted an invalid reference", bad)
		}
	}
}

func TestDetect(t *testing.T) {
	k8s := []byte("# comment\n---\napiVersion: v1\nkind: Pod\n")
	tests := []struct {
		path string
		data []byte
		want Kind
		ok   bool
	}{
		{"Dockerfile", nil, KindDockerfile, true},
		{"build/api.Dockerfile", nil, KindDockerfile, true},
		{"Dockerfile.dev", nil, KindDockerfile, true},
		{"Containerfile", nil, KindDockerfile, true},
		{"deploy/app.yaml", k8s, KindKubernetes, true},
		{"chart/values.yaml", []byte("image: nginx\n"), KindHelm, true},
		{"values-prod.yml", []byte("image: nginx\n"), KindHelm, true},
		{"app-config.production.yaml", []byte("app: {}\n"), KindBackstage, true},
		{"config.yaml", []byte("image: nginx\n"), "", false},
		{"package-lock.json", []byte("{}"), "", false},
	}
	for _, tt := range tests {
		got, ok := Detect(tt.path, tt.data)
		if got != tt.want || ok != tt.ok {
			t.Errorf("Detect(%q) = %q, %v; want %q, %v", tt.path, got, ok, tt.want, tt.ok)
		}
	}
}

func TestPinRejectsUnmirrored(t *testing.T) {
	data := []byte("FROM node:20 AS build\nFROM nginx:1.27\nCOPY --from=build /a /b\n")
	p := &Pinner{Mirror: mirrorOf("docker.io/library/nginx:1.27"), Registry: internal}
	res, err := p.Pin("Dockerfile", data, KindDockerfile)
	if err != nil {
		t.Fatal(err)
	}
	if res.Output != nil {
		t.Errorf("output written despite offenders:\n%s", res.Output)
	}
	if len(res.Offenders) != 1 {
		t.Fatalf("offenders = %v, want one", res.Offenders)
	}
	got := res.Offenders[0].String()
	want := "Dockerfile:1: node:20: docker.io/library/node:20 is not mirrored: add it to a manifest and sync"
	if got != want {
		t.Errorf("offender = %q\nwant       %q", got, want)
	}
}

func TestPinInvalidReferences(t *testing.T) {
	tests := []struct {
		name, file string
		kind       Kind
		data       string
		reason     string
	}{
		{"uppercase", "Dockerfile", KindDockerfile, "FROM Nginx\n", "invalid image reference"},
		{"split token", "Dockerfile", KindDockerfile, "FROM ngi\\\nnx:1.27\n", "split across lines"},
		{"block scalar", "pod.yaml", KindKubernetes, "apiVersion: v1\nkind: Pod\nspec:\n  containers:\n  - image: |\n      nginx:1.27\n",
			"block scalar"},
		{"escapes", "pod.yaml", KindKubernetes, "apiVersion: v1\nkind: Pod\nspec:\n  containers:\n  - image: \"nginx\\x3a1.27\"\n",
			"escapes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := &Pinner{Mirror: mirrored, Registry: internal}
			res, err := p.Pin(tt.file, []byte(tt.data), tt.kind)
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Offenders) != 1 {
				t.Fatalf("offenders = %v, want one", res.Offenders)
			}
			if !strings.Contains(res.Offenders[0].Reason, tt.reason) {
				t.Errorf("reason %q does not mention %q", res.Offenders[0].Reason, tt.reason)
			}
		})
	}
}

func TestPinSyntax(t *testing.T) {
	pinnedNginx := mirrored["docker.io/library/nginx:1.27"]
	pod := "apiVersion: v1\nkind: Pod\nspec:\n  containers:\n"
	tests := []struct {
		name string
		kind Kind
		in   string
		want string
	}{
		{"yaml crlf", KindKubernetes, "apiVersion: v1\r\nkind: Pod\r\nspec:\r\n  containers:\r\n  - image: nginx:1.27\r\n",
			"apiVersion: v1\r\nkind: Pod\r\nspec:\r\n  containers:\r\n  - image: " + pinnedNginx + "\r\n"},
		{"anchor and alias", KindKubernetes, pod + "  - image: &web nginx:1.27\n  - image: *web\n",
			pod + "  - image: &web " + pinnedNginx + "\n  - image: *web\n"},
		{"explicit tag", KindKubernetes, pod + "  - image: !!str 'nginx:1.27'\n", pod + "  - image: !!str '" + pinnedNginx + "'\n"},
		{"flow style", KindKubernetes, pod + "  - {name: web, image: \"nginx:1.27\"}\n",
			pod + "  - {name: web, image: \"" + pinnedNginx + "\"}\n"},
		{"multibyte before", KindKubernetes, pod + "  - name: café\n    image: nginx:1.27\n",
			pod + "  - name: café\n    image: " + pinnedNginx + "\n"},
		{"dockerfile crlf", KindDockerfile, "FROM nginx:1.27\r\nRUN true\r\n", "FROM " + pinnedNginx + "\r\nRUN true\r\n"},
		{"backtick escape", KindDockerfile, "# escape=`\nFROM `\n  nginx:1.27\n", "# escape=`\nFROM `\n  " + pinnedNginx + "\n"},
		{"comment in continuation", KindDockerfile, "FROM \\\n# base\n  nginx:1.27 AS web\n",
			"FROM \\\n# base\n  " + pinnedNginx + " AS web\n"},
		{"heredoc with dash", KindDockerfile, "RUN <<-END\n\tFROM busybox\n\tEND\nFROM nginx:1.27\n",
			"RUN <<-END\n\tFROM busybox\n\tEND\nFROM " + pinnedNginx + "\n"},
		{"stage names ignore case", KindDockerfile, "FROM nginx:1.27 AS Web\nFROM web\nCOPY --from=WEB /a /b\n",
			"FROM " + pinnedNginx + " AS Web\nFROM web\nCOPY --from=WEB /a /b\n"},
		{"no final newline", KindDockerfile, "FROM nginx:1.27", "FROM " + pinnedNginx},
		{"unterminated heredoc", KindDockerfile, "RUN echo '<<EOF'\nFROM nginx:1.27\n",
			"RUN echo '<<EOF'\nFROM " + pinnedNginx + "\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := &Pinner{Mirror: mirrored, Registry: internal}
			res, err := p.Pin("file", []byte(tt.in), tt.kind)
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Offenders) > 0 {
				t.Fatalf("offenders: %v", res.Offenders)
			}
			if string(res.Output) != tt.want {
				t.Errorf("output\n%q\nwant\n%q", res.Output, tt.want)
			}
		})
	}
}

type failingMirror struct{ pinned string }

func (f failingMirror) Lookup(string) (string, bool, error) {
	if f.pinned != "" {
		return f.pinned, true, nil
	}
	return "", false, errors.New("store closed")
}

func TestPinMirrorFailures(t *testing.T) {
	tests := []struct {
		name   string
		mirror ImageMirror
		want   string
	}{
		{"lookup error", failingMirror{}, "store closed"},
		{"tag answer", failingMirror{internal + "/docker.io/library/nginx:1.27"}, "has no digest"},
		{"upstream answer", failingMirror{"docker.io/library/nginx@sha256:" + strings.Repeat("b", 64)}, "not on harbor.internal"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := &Pinner{Mirror: tt.mirror, Registry: internal}
			_, err := p.Pin("Dockerfile", []byte("FROM nginx:1.27\n"), KindDockerfile)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %v, want one containing %q", err, tt.want)
			}
		})
	}
}
