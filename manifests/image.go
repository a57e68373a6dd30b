package manifests

import (
	"fmt"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/Masterminds/semver/v3"
	"github.com/google/go-containerregistry/pkg/name"
	"gopkg.in/yaml.v3"

	"github.com/sluice-dev/sluice/manifests/internal/yamlnode"
)

func (d *decoder) images(n *yaml.Node) []Image {
	items, ok := d.Sequence(n, "spec.images")
	if !ok {
		return nil
	}
	var images []Image
	first := make(map[string]int) // entry identity -> index of the first entry
	for i, item := range items {
		field := fmt.Sprintf("spec.images[%d]", i)
		img, ok := d.image(item, field)
		if !ok {
			continue
		}
		key := img.Ref
		if key == "" {
			key = img.Repository + " " + fmt.Sprint(*img.Tags)
		}
		if j, dup := first[key]; dup {
			d.Errorf(item, field, "duplicate of spec.images[%d] on line %d: remove one",
				j, yamlnode.Resolve(items[j]).Line)
			continue
		}
		first[key] = i
		images = append(images, img)
	}
	if len(items) == 0 {
		d.Errorf(n, "spec.images", "empty list: name at least one image or remove the field")
	}
	return images
}

// image decodes one image entry, either a reference string or a mapping,
// and validates it.
func (d *decoder) image(item *yaml.Node, field string) (Image, bool) {
	img := Image{Pos: d.pos(item)}
	item = yamlnode.Resolve(item)
	before := len(d.errs)
	switch {
	case item.Kind == yaml.ScalarNode && item.ShortTag() == "!!str":
		img.Ref = d.imageRef(item, field, item.Value)
	case item.Kind == yaml.MappingNode:
		d.imageMapping(item, field, &img)
	default:
		d.Errorf(item, field, "must be an image reference such as docker.io/library/alpine:3.20 "+
			"or a mapping with ref or repository, not %s", yamlnode.Describe(item))
	}
	if img.Attachments == nil {
		yes := true
		img.Attachments = &yes
	}
	return img, len(d.errs) == before
}

func (d *decoder) imageMapping(item *yaml.Node, field string, img *Image) {
	f, ok := d.Mapping(item, field, "ref", "repository", "tags", "platforms", "attachments", "verify")
	if !ok {
		return
	}
	ref, hasRef := f.Get("ref")
	repo, hasRepo := f.Get("repository")
	tags, hasTags := f.Get("tags")
	switch {
	case hasRef && hasRepo:
		d.Errorf(repo.Key, field+".repository", "give either ref or repository with tags, not both")
	case hasRef && hasTags:
		d.Errorf(tags.Key, field+".tags", "a tag filter needs repository instead of ref: "+
			"write repository: %s", repositoryOf(ref.Value.Value))
	case hasRef:
		if s, ok := d.String(ref.Value, field+".ref"); ok {
			img.Ref = d.imageRef(ref.Value, field+".ref", s)
		}
	case hasRepo && !hasTags:
		d.Errorf(repo.Key, field+".tags", "missing: a repository needs a tag filter (semver, "+
			"regex or latest), or write ref: repository:tag for one tag")
	case hasRepo:
		if s, ok := d.String(repo.Value, field+".repository"); ok {
			img.Repository = d.imageRepository(repo.Value, field+".repository", s)
		}
		img.Tags = d.tagFilter(tags.Value, field+".tags")
	default:
		d.Errorf(item, field, "missing ref or repository: give ref: registry/repository:tag "+
			"or repository with a tags filter")
	}
	if v, ok := f.Get("platforms"); ok {
		img.Platforms = d.platforms(v.Value, field+".platforms")
	}
	if v, ok := f.Get("attachments"); ok {
		if b, ok := d.Boolean(v.Value, field+".attachments"); ok {
			img.Attachments = &b
		}
	}
	if v, ok := f.Get("verify"); ok {
		img.Verify = d.imageVerify(v.Value, field+".verify")
	}
}

// imageVerify decodes the verify mapping of an image entry. Key paths are
// made absolute against the manifest's folder; the files are read by the
// sync that uses them.
func (d *decoder) imageVerify(n *yaml.Node, field string) *ImageVerify {
	f, ok := d.Mapping(n, field, "keys")
	if !ok {
		return nil
	}
	v, ok := d.Required(f, n, field, "keys", "list the public key files (cosign.pub) relative to "+
		"the manifest's folder")
	if !ok {
		return nil
	}
	items, ok := d.Sequence(v.Value, field+".keys")
	if !ok {
		return nil
	}
	if len(items) == 0 {
		d.Errorf(v.Value, field+".keys", "empty list: name at least one public key file, or remove verify")
		return nil
	}
	out := &ImageVerify{Pos: d.pos(n)}
	for i, item := range items {
		f := fmt.Sprintf("%s.keys[%d]", field, i)
		path, ok := d.String(item, f)
		if !ok {
			continue
		}
		if strings.TrimSpace(path) == "" || filepath.IsAbs(path) || strings.HasPrefix(path, "/") {
			d.Errorf(item, f, "invalid key path %q: write it relative to the manifest's folder so "+
				"the manifest works in every checkout", path)
			continue
		}
		out.Keys = append(out.Keys, filepath.Join(manifestDir(d.file), filepath.FromSlash(path)))
	}
	return out
}

// imageRef validates a reference by tag or digest. A reference with
// neither is rejected instead of read as ":latest", because a manifest
// should say which image it means.
func (d *decoder) imageRef(n *yaml.Node, field, s string) string {
	ref, err := name.ParseReference(s)
	if err != nil {
		d.Errorf(n, field, "invalid image reference %q: %v", s, err)
		return ""
	}
	if !strings.Contains(s, "@") && !strings.HasSuffix(s, ":"+ref.Identifier()) {
		d.Errorf(n, field, "image reference %q has no tag or digest: write %s:<tag> or "+
			"%s@sha256:<hex>, or use repository with a tags filter", s, s, s)
		return ""
	}
	return s
}

func (d *decoder) imageRepository(n *yaml.Node, field, s string) string {
	if _, err := name.NewRepository(s); err != nil {
		d.Errorf(n, field, "invalid image repository %q: %v; write it without tag or digest, "+
			"such as ghcr.io/backstage/backstage", s, err)
		return ""
	}
	return s
}

func (d *decoder) tagFilter(n *yaml.Node, field string) *TagFilter {
	tf := &TagFilter{}
	f, ok := d.Mapping(n, field, "semver", "regex", "latest")
	if !ok {
		return tf
	}
	if v, ok := f.Get("semver"); ok {
		if s, ok := d.String(v.Value, field+".semver"); ok {
			if _, err := semver.NewConstraint(s); err != nil {
				d.Errorf(v.Value, field+".semver", "invalid semantic version range %q: %v", s, err)
			}
			tf.Semver = s
		}
	}
	if v, ok := f.Get("regex"); ok {
		if s, ok := d.String(v.Value, field+".regex"); ok {
			if _, err := regexp.Compile(s); err != nil {
				d.Errorf(v.Value, field+".regex", "invalid regular expression %q: %v", s, err)
			}
			tf.Regex = s
		}
	}
	if v, ok := f.Get("latest"); ok {
		if tf.Latest, ok = d.Integer(v.Value, field+".latest"); ok && tf.Latest < 1 {
			d.Errorf(v.Value, field+".latest", "must be at least 1, not %d", tf.Latest)
		}
	}
	if tf.Semver == "" && tf.Regex == "" && tf.Latest == 0 && !hasField(d.errs, field) {
		d.Errorf(n, field, "empty filter: give semver, regex or latest")
	}
	return tf
}

func (d *decoder) platforms(n *yaml.Node, field string) []string {
	items, ok := d.Sequence(n, field)
	if !ok {
		return nil
	}
	if len(items) == 0 {
		d.Errorf(n, field, "empty list: name platforms such as linux/amd64, or remove the field "+
			"to keep all")
	}
	var out []string
	for i, item := range items {
		f := fmt.Sprintf("%s[%d]", field, i)
		s, ok := d.String(item, f)
		if !ok {
			continue
		}
		parts := strings.Split(s, "/")
		if len(parts) < 2 || len(parts) > 3 || slicesContainEmpty(parts) {
			d.Errorf(item, f, "invalid platform %q: write os/architecture or "+
				"os/architecture/variant, such as linux/arm64 or linux/arm/v7", s)
			continue
		}
		out = append(out, s)
	}
	return out
}

func slicesContainEmpty(parts []string) bool {
	for _, p := range parts {
		if p == "" {
			return true
		}
	}
	return false
}

// repositoryOf strips a tag or digest from a reference, for hints.
func repositoryOf(ref string) string {
	if i := strings.Index(ref, "@"); i >= 0 {
		ref = ref[:i]
	}
	if i := strings.LastIndex(ref, ":"); i > strings.LastIndex(ref, "/") {
		ref = ref[:i]
	}
	return ref
}
