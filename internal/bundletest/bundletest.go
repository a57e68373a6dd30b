// Package bundletest fills an outside data directory with approved npm
// packages for bundle tests and benchmarks, without running the scanner
// or a policy. Each package gets the records and ledger entries that a
// sync with scanning and an allow-all policy writes: a scan result with
// SBOM digests, an evidence document, an evaluation, and every transition
// up to approved. Signing is left to a later stage.
package bundletest

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha1"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"path"
	"time"

	"github.com/sluice-dev/sluice/approvals"
	"github.com/sluice-dev/sluice/ingest/blobs"
	"github.com/sluice-dev/sluice/ingest/state"
	"github.com/sluice-dev/sluice/scanners"
)

// Tarball returns a valid npm tarball of name@version whose payload file
// holds size bytes. The bytes are random but fixed by name and version,
// so they do not compress, like the already-gzipped content of real
// tarballs.
func Tarball(name, version string, size int) []byte {
	seed := sha512.Sum512([]byte(name + "@" + version))
	rng := rand.NewChaCha8([32]byte(seed[:32]))
	payload := make([]byte, size)
	rng.Read(payload)
	pkg, _ := json.Marshal(map[string]string{"name": name, "version": version, "license": "MIT"})
	var buf bytes.Buffer
	gz, _ := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
	tw := tar.NewWriter(gz)
	for _, f := range []struct {
		name string
		data []byte
	}{{"package/package.json", pkg}, {"package/payload.bin", payload}} {
		tw.WriteHeader(&tar.Header{Name: f.name, Size: int64(len(f.data)), Mode: 0o644,
			ModTime: time.Date(1985, 10, 26, 8, 15, 0, 0, time.UTC)})
		tw.Write(f.data)
	}
	tw.Close()
	gz.Close()
	return buf.Bytes()
}

// Approve stores tgz as name@version and moves it to approved with the
// records and ledger entries of a scanned, evaluated and approved sync.
func Approve(db *state.DB, bs *blobs.Store, name, version string, tgz []byte) (*state.Artifact, error) {
	key, err := fetched(db, bs, name, version, tgz)
	if err != nil {
		return nil, err
	}
	return approve(db, bs, key)
}

// approve moves a fetched artifact through scanned and evaluated to
// approved.
func approve(db *state.DB, bs *blobs.Store, key string) (*state.Artifact, error) {
	if err := scanAndEvaluate(db, bs, key); err != nil {
		return nil, err
	}
	return db.Transition(key, state.Change{To: state.StateApproved, Actor: approvals.SystemActor,
		Evidence: map[string]string{"tier": "auto"}})
}

// Hold stores tgz as name@version, scanned and evaluated but waiting for
// an approval.
func Hold(db *state.DB, bs *blobs.Store, name, version string, tgz []byte) (*state.Artifact, error) {
	key, err := fetched(db, bs, name, version, tgz)
	if err != nil {
		return nil, err
	}
	if err := scanAndEvaluate(db, bs, key); err != nil {
		return nil, err
	}
	return db.Transition(key, state.Change{To: state.StateAwaitingApproval, Actor: approvals.SystemActor})
}

// ApproveImage adds an approved image artifact named name whose index or
// manifest is the blob digest, of mediaType, with its attachments. The
// caller stores the manifests and the blobs they list.
func ApproveImage(db *state.DB, bs *blobs.Store, name, digest, mediaType string,
	attachments []state.Attachment) (*state.Artifact, error) {
	a := &state.Artifact{Ecosystem: state.EcosystemOCI, Name: name, Version: digest,
		Requester: "cli:requester", RequestedBy: "bundletest " + name + "@" + digest}
	if _, _, err := db.Create(a, "", "cli:requester"); err != nil {
		return nil, err
	}
	key := a.Key()
	if _, err := db.Transition(key, state.Change{To: state.StateResolved}); err != nil {
		return nil, err
	}
	_, err := db.Transition(key, state.Change{To: state.StateFetched,
		Evidence: map[string]string{"digest": digest, "mediaType": mediaType},
		Update: func(x *state.Artifact) {
			x.Digest, x.MediaType, x.Attachments = digest, mediaType, attachments
		}})
	if err != nil {
		return nil, err
	}
	return approve(db, bs, key)
}

func fetched(db *state.DB, bs *blobs.Store, name, version string, tgz []byte) (string, error) {
	digest, err := bs.Put(tgz)
	if err != nil {
		return "", err
	}
	sha := sha512.Sum512(tgz)
	sum1 := sha1.Sum(tgz)
	a := &state.Artifact{Ecosystem: state.EcosystemNPM, Name: name, Version: version,
		TarballURL:  "https://registry.npmjs.org/" + name + "/-/" + path.Base(name) + "-" + version + ".tgz",
		Integrity:   "sha512-" + base64.StdEncoding.EncodeToString(sha[:]),
		Shasum:      hex.EncodeToString(sum1[:]),
		Requester:   "cli:requester",
		RequestedBy: "bundletest " + name + "@" + version}
	if _, _, err := db.Create(a, "", "cli:requester"); err != nil {
		return "", err
	}
	key := a.Key()
	if _, err := db.Transition(key, state.Change{To: state.StateResolved,
		Evidence: map[string]string{"tarball": a.TarballURL}}); err != nil {
		return "", err
	}
	_, err = db.Transition(key, state.Change{To: state.StateFetched,
		Evidence: map[string]string{"digest": digest, "size": fmt.Sprint(len(tgz))},
		Update:   func(x *state.Artifact) { x.Digest, x.Size = digest, int64(len(tgz)) }})
	return key, err
}

// scanAndEvaluate records a scan with no findings and an allow-all
// verdict.
func scanAndEvaluate(db *state.DB, bs *blobs.Store, key string) error {
	a, err := db.Artifact(key)
	if err != nil {
		return err
	}
	spdx, err := bs.Put(fmt.Appendf(nil, `{"spdxVersion":"SPDX-2.3","name":%q}`, key))
	if err != nil {
		return err
	}
	cdx, err := bs.Put(fmt.Appendf(nil, `{"bomFormat":"CycloneDX","specVersion":"1.6","metadata":{"component":{"name":%q}}}`, key))
	if err != nil {
		return err
	}
	scan := &scanners.ScanResult{Artifact: key, Digest: a.Digest, Scanned: time.Now().UTC(),
		SBOM: scanners.SBOMDigests{SPDX: spdx, CycloneDX: cdx}}
	scanData, err := json.Marshal(scan)
	if err != nil {
		return err
	}
	scanDigest, err := bs.Put(scanData)
	if err != nil {
		return err
	}
	ev := &approvals.Evidence{Artifact: key, Digest: a.Digest, Requester: a.Requester,
		PolicyFile: "allow-all.yaml", Inputs: map[string]string{"scan": scanDigest, "sbom.spdx": spdx,
			"sbom.cyclonedx": cdx}, Decision: approvals.Decision{Policy: "allow-all", Tier: "auto"}}
	evData, err := json.Marshal(ev)
	if err != nil {
		return err
	}
	evDigest, err := bs.Put(evData)
	if err != nil {
		return err
	}
	return db.Update(func(tx *state.Tx) error {
		if err := scanners.SaveResult(tx, scan); err != nil {
			return err
		}
		if _, err := tx.Transition(key, state.Change{To: state.StateScanned, Evidence: scan.Evidence()}); err != nil {
			return err
		}
		eval := &approvals.Evaluation{Artifact: key, Digest: a.Digest, Evidence: evDigest, Policy: "allow-all",
			Tier: "auto", At: time.Now().UTC()}
		if err := tx.Put(approvals.EvaluationsBucket, key, eval); err != nil {
			return err
		}
		_, err := tx.Transition(key, state.Change{To: state.StateEvaluated, Evidence: map[string]string{
			"policy": "allow-all", "tier": "auto", "evidence": evDigest, "scan": scanDigest}})
		return err
	})
}
