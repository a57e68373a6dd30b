package oci

import (
	"encoding/json"
	"fmt"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// keepPlatforms returns the index entries whose platform is one of
// platforms ("os/architecture[/variant]"), or all entries when platforms
// is empty. An entry without a variant in the filter matches every
// variant of its architecture.
func keepPlatforms(children []v1.Descriptor, platforms []string) ([]v1.Descriptor, error) {
	if len(platforms) == 0 {
		return children, nil
	}
	var kept []v1.Descriptor
	var have []string
	for _, c := range children {
		if c.Platform == nil {
			continue
		}
		have = append(have, c.Platform.String())
		for _, p := range platforms {
			if platformMatches(c.Platform, p) {
				kept = append(kept, c)
				break
			}
		}
	}
	if len(kept) == 0 {
		return nil, fmt.Errorf("no manifest for platforms %s: the index has %s",
			strings.Join(platforms, ", "), strings.Join(have, ", "))
	}
	return kept, nil
}

func platformMatches(p *v1.Platform, want string) bool {
	parts := strings.Split(want, "/")
	if len(parts) < 2 || p.OS != parts[0] || p.Architecture != parts[1] {
		return false
	}
	return len(parts) == 2 || p.Variant == parts[2]
}

// filterIndex rewrites an index to list only kept, leaving every other
// field of the document as it was.
func filterIndex(raw []byte, kept []v1.Descriptor) ([]byte, error) {
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, fmt.Errorf("invalid index JSON: %w", err)
	}
	var entries []json.RawMessage
	if err := json.Unmarshal(doc["manifests"], &entries); err != nil {
		return nil, fmt.Errorf("invalid index manifests: %w", err)
	}
	keep := map[string]bool{}
	for _, k := range kept {
		keep[k.Digest.String()] = true
	}
	var out []json.RawMessage
	for _, e := range entries {
		var d struct {
			Digest string `json:"digest"`
		}
		if err := json.Unmarshal(e, &d); err != nil {
			return nil, fmt.Errorf("invalid index entry: %w", err)
		}
		if keep[d.Digest] {
			out = append(out, e)
		}
	}
	b, err := json.Marshal(out)
	if err != nil {
		return nil, err
	}
	doc["manifests"] = b
	return json.Marshal(doc)
}
