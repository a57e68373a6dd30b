package scanners

import (
	"context"
	"testing"

	"github.com/sluice-dev/sluice/ingest/oci"
	"github.com/sluice-dev/sluice/ingest/state"
	"github.com/sluice-dev/sluice/internal/grypetest"
	"github.com/sluice-dev/sluice/internal/registrytest"
	"github.com/sluice-dev/sluice/internal/storetest"
)

func TestScanImageEachPlatform(t *testing.T) {
	_, db := openDemoDB(t)
	stateDB, store := storetest.Open(t)
	up := registrytest.Start(t)
	if _, err := registrytest.Image(up.Host, "team/app", "1.0.0", "app", 1024); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	client := oci.NewClient()
	res, err := client.Resolve(ctx, oci.Request{Ref: up.Host + "/team/app:1.0.0", Origin: "test"})
	if err != nil {
		t.Fatal(err)
	}
	st, err := oci.NewFetcher(client, store, 4).Fetch(ctx, res[0])
	if err != nil {
		t.Fatal(err)
	}
	a := &state.Artifact{Ecosystem: state.EcosystemOCI, Name: res[0].Repository, Version: st.Digest,
		Digest: st.Digest, MediaType: st.MediaType}
	s := &Scanner{DB: db, Blobs: store}
	r, err := s.ScanImage(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range registrytest.Platforms {
		sbom, ok := r.Platforms[p.String()]
		if !ok || !store.Has(sbom.SPDX) || !store.Has(sbom.CycloneDX) {
			t.Errorf("platform %s: SBOM %+v not stored", p, sbom)
		}
	}
	glibc := 0
	for _, f := range r.Findings {
		if f.Kind == KindVulnerability && f.ID == grypetest.GlibcCVE {
			glibc++
			if f.Package != "libc6" || f.PackageVersion != registrytest.VulnerableLibc {
				t.Errorf("finding = %+v, want libc6 %s", f, registrytest.VulnerableLibc)
			}
		}
	}
	if glibc != 1 {
		t.Errorf("%s listed %d times, want once for both platforms; findings %+v", grypetest.GlibcCVE,
			glibc, r.Findings)
	}
	if r.Digest != st.Digest || r.Artifact != a.Key() {
		t.Errorf("result names %s %s, want %s %s", r.Artifact, r.Digest, a.Key(), st.Digest)
	}

	t.Run("rescan", func(t *testing.T) {
		if _, _, err := stateDB.Create(a, "run", "test"); err != nil {
			t.Fatal(err)
		}
		if err := stateDB.Update(func(tx *state.Tx) error { return SaveResult(tx, r) }); err != nil {
			t.Fatal(err)
		}
		sum, err := Rescan(ctx, s, stateDB, "test")
		if err != nil {
			t.Fatal(err)
		}
		if sum.Rescanned != 1 || len(sum.Changes) != 0 {
			t.Errorf("rescan summary %+v, want one image rescanned and no change", sum)
		}
	})
}
