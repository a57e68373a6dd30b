package manifests

import (
	"path/filepath"
	"reflect"
	"testing"
)

func imageSpec(lines string) string {
	return header + "spec:\n  images:\n" + lines
}

func TestParseImages(t *testing.T) {
	yes, no := true, false
	m, err := Parse("m.yaml", []byte(imageSpec(`    - docker.io/library/alpine:3.20
    - ref: ghcr.io/acme/app@sha256:0000000000000000000000000000000000000000000000000000000000000000
      platforms: [linux/amd64, linux/arm/v7]
      attachments: false
      verify: {keys: [keys/acme.pub]}
    - repository: ghcr.io/backstage/backstage
      tags:
        semver: ">=1.30.0 <2"
        regex: '^1\.3\d\.\d+$'
        latest: 2
`)))
	if err != nil {
		t.Fatal(err)
	}
	want := []Image{
		{Ref: "docker.io/library/alpine:3.20", Attachments: &yes,
			Pos: Position{File: "m.yaml", Line: 9, Column: 7}},
		{Ref: "ghcr.io/acme/app@sha256:0000000000000000000000000000000000000000000000000000000000000000",
			Platforms: []string{"linux/amd64", "linux/arm/v7"}, Attachments: &no,
			Verify: &ImageVerify{Keys: []string{filepath.Join(manifestDir("m.yaml"), "keys", "acme.pub")},
				Pos: Position{File: "m.yaml", Line: 13, Column: 15}},
			Pos: Position{File: "m.yaml", Line: 10, Column: 7}},
		{Repository: "ghcr.io/backstage/backstage", Attachments: &yes,
			Tags: &TagFilter{Semver: ">=1.30.0 <2", Regex: `^1\.3\d\.\d+$`, Latest: 2},
			Pos:  Position{File: "m.yaml", Line: 14, Column: 7}},
	}
	if !reflect.DeepEqual(m.Spec.Images, want) {
		t.Errorf("images = %+v\nwant %+v", m.Spec.Images, want)
	}
	if m.Spec.NPM != nil {
		t.Errorf("spec.npm = %+v, want nil", m.Spec.NPM)
	}
}

func TestParseInvalidImages(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want []wantProblem
	}{
		{
			name: "verify without keys",
			yaml: imageSpec("    - ref: a.io/x:1\n      verify: {keys: []}\n"),
			want: []wantProblem{{"10:22", "spec.images[0].verify.keys", "empty list"}},
		},
		{
			name: "absolute key path",
			yaml: imageSpec("    - ref: a.io/x:1\n      verify: {keys: [/etc/k.pub]}\n"),
			want: []wantProblem{{"10:23", "spec.images[0].verify.keys[0]", "relative to the manifest's folder"}},
		},
		{
			name: "reference without tag",
			yaml: imageSpec("    - docker.io/library/alpine\n"),
			want: []wantProblem{{"9:7", "spec.images[0]", "has no tag or digest"}},
		},
		{
			name: "invalid reference",
			yaml: imageSpec("    - \"docker.io/Library/Alpine:3\"\n"),
			want: []wantProblem{{"9:7", "spec.images[0]", "invalid image reference"}},
		},
		{
			name: "ref and repository",
			yaml: imageSpec("    - ref: a.io/x:1\n      repository: a.io/x\n"),
			want: []wantProblem{{"10:7", "spec.images[0].repository", "either ref or repository"}},
		},
		{
			name: "repository without tags",
			yaml: imageSpec("    - repository: a.io/x\n"),
			want: []wantProblem{{"9:7", "spec.images[0].tags", "needs a tag filter"}},
		},
		{
			name: "ref with tag filter",
			yaml: imageSpec("    - ref: a.io/x:1\n      tags: {latest: 1}\n"),
			want: []wantProblem{{"10:7", "spec.images[0].tags", "write repository: a.io/x"}},
		},
		{
			name: "invalid semver range",
			yaml: imageSpec("    - repository: a.io/x\n      tags: {semver: \">>1\"}\n"),
			want: []wantProblem{{"10:22", "spec.images[0].tags.semver", "invalid semantic version range"}},
		},
		{
			name: "invalid regex",
			yaml: imageSpec("    - repository: a.io/x\n      tags: {regex: \"(\"}\n"),
			want: []wantProblem{{"10:21", "spec.images[0].tags.regex", "invalid regular expression"}},
		},
		{
			name: "empty tag filter",
			yaml: imageSpec("    - repository: a.io/x\n      tags: {}\n"),
			want: []wantProblem{{"10:13", "spec.images[0].tags", "empty filter"}},
		},
		{
			name: "latest zero",
			yaml: imageSpec("    - repository: a.io/x\n      tags: {latest: 0}\n"),
			want: []wantProblem{{"10:22", "spec.images[0].tags.latest", "must be at least 1"}},
		},
		{
			name: "invalid platform",
			yaml: imageSpec("    - ref: a.io/x:1\n      platforms: [amd64]\n"),
			want: []wantProblem{{"10:19", "spec.images[0].platforms[0]", "invalid platform \"amd64\""}},
		},
		{
			name: "duplicate image",
			yaml: imageSpec("    - a.io/x:1\n    - ref: a.io/x:1\n"),
			want: []wantProblem{{"10:7", "spec.images[1]", "duplicate of spec.images[0] on line 9"}},
		},
		{
			name: "unknown field",
			yaml: imageSpec("    - ref: a.io/x:1\n      platform: [linux/amd64]\n"),
			want: []wantProblem{{"10:7", "spec.images[0]", `did you mean "platforms"?`}},
		},
		{
			name: "number instead of reference",
			yaml: imageSpec("    - 12\n"),
			want: []wantProblem{{"9:7", "spec.images[0]", "must be an image reference"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { checkInvalid(t, tt.yaml, tt.want) })
	}
}
