package refs

import (
	"fmt"
	"strings"
	"testing"
)

// BenchmarkPinKubernetes pins a stream of 1,000 Deployments with two
// containers each, the size of a large cluster's manifests.
func BenchmarkPinKubernetes(b *testing.B) {
	var sb strings.Builder
	refs := make([]string, 0, 2000)
	for i := range 1000 {
		app, sidecar := fmt.Sprintf("ghcr.io/acme/app%d:1.%d", i, i), fmt.Sprintf("quay.io/acme/proxy:%d", i)
		refs = append(refs, app, sidecar)
		fmt.Fprintf(&sb, "---\n# service %d\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app%d\n"+
			"spec:\n  template:\n    spec:\n      containers:\n        - name: app\n          image: %s\n"+
			"        - name: proxy\n          image: \"%s\"\n", i, i, app, sidecar)
	}
	data := []byte(sb.String())
	p := &Pinner{Mirror: mirrorOf(refs...), Registry: internal}
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for b.Loop() {
		res, err := p.Pin("all.yaml", data, KindKubernetes)
		if err != nil || res.Changed != 2000 {
			b.Fatalf("changed %d, err %v", res.Changed, err)
		}
	}
}
