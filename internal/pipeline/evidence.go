package pipeline

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/sluice-dev/sluice/ingest/blobs"
	"github.com/sluice-dev/sluice/ingest/sign"
	"github.com/sluice-dev/sluice/ingest/state"
	"github.com/sluice-dev/sluice/scanners"
)

// ScanEvidence gives the signing stage the digests of an artifact's SBOMs
// and of its stored scan result, which it keeps as a blob so the digest
// can be resolved later.
type ScanEvidence struct {
	DB    *state.DB
	Blobs *blobs.Store
}

// Evidence returns the SBOM and scan result digests of a; empty when a
// has no scan result.
func (e ScanEvidence) Evidence(_ context.Context, a *state.Artifact) (sign.Evidence, error) {
	r, err := scanners.LoadResult(e.DB, a.Key())
	if err != nil || r == nil {
		return sign.Evidence{}, err
	}
	data, err := json.Marshal(r)
	if err != nil {
		return sign.Evidence{}, err
	}
	digest, err := e.Blobs.Put(data)
	if err != nil {
		return sign.Evidence{}, fmt.Errorf("store scan result: %w", err)
	}
	ev := sign.Evidence{SBOMs: map[string]string{}, Scan: digest}
	if r.SBOM.SPDX != "" {
		ev.SBOMs["spdx"] = r.SBOM.SPDX
	}
	if r.SBOM.CycloneDX != "" {
		ev.SBOMs["cyclonedx"] = r.SBOM.CycloneDX
	}
	for platform, d := range r.Platforms {
		if ev.Platforms == nil {
			ev.Platforms = map[string]map[string]string{}
		}
		ev.Platforms[platform] = map[string]string{"spdx": d.SPDX, "cyclonedx": d.CycloneDX}
	}
	return ev, nil
}
