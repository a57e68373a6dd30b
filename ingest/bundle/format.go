// Package bundle moves approved artifacts between two Sluice data
// directories that never connect: the outside one syncs, scans and
// approves, and exports a transfer bundle; the inside one verifies the
// bundle and publishes its artifacts to the inside mirrors.
//
// A bundle is a signed index and a tar stream, compressed with zstd and cut
// into numbered parts. The index names every file of the stream with its
// SHA-256 digest and size, every part with its digest and size, the
// artifacts with their evidence, and the segment of the outside ledger the
// bundle carries. Import verifies the signature, the parts, every file, the
// continuity of the ledger segment with what the inside imported before,
// and each artifact's approval, all before it publishes anything. The
// format is described in docs/bundles.md.
//
// The package owns the bundle format and the records of exports and
// imports. It publishes only through an ingest.Publisher wrapped in
// approvals.Gate and an ingest.ImagePublisher wrapped in
// approvals.GateImages, and knows no mirror's API.
package bundle

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/sluice-dev/sluice/ingest/state"
)

// FormatV1 is the format string of the index this package writes and
// reads.
const FormatV1 = "sluice.dev/bundle/v1"

// Member names of a bundle. In a bundle directory each is prefixed by the
// bundle id and a dot; a single-file bundle is a tar holding the same
// names.
const (
	IndexName     = "index.json"
	SignatureName = "index.json.sig"
	// LedgerPath is the path of the ledger segment inside the stream.
	LedgerPath = "ledger.jsonl"
	// BlobsDir is the folder of the stream that holds blobs by digest:
	// blobs/sha256/<hex>.
	BlobsDir = "blobs/sha256/"
	// OCIDir is the folder of the stream that holds container images, as
	// one OCI image layout (oci-layout, index.json, blobs/sha256/<hex>)
	// whose index names every image of the bundle.
	OCIDir = "oci/"
)

// Errors that name why a bundle was refused. Import wraps them with the
// bundle, part, file or artifact concerned.
var (
	ErrFormat     = errors.New("not a valid Sluice bundle")
	ErrSignature  = errors.New("bundle signature does not verify")
	ErrMissing    = errors.New("bundle is incomplete")
	ErrDigest     = errors.New("bundle content does not match its index")
	ErrContinuity = errors.New("ledger segment does not continue the imported outside ledger")
	ErrReplay     = errors.New("bundle was imported already or is older than what was imported")
	ErrEvidence   = errors.New("artifact lacks the evidence of its approval")
	// ErrArtifactSignature is an artifact's own signature, made by the
	// outside's signing stage, that the trusted signing key does not verify.
	ErrArtifactSignature = errors.New("artifact signature does not verify")
)

// Index is the signed table of contents of a bundle.
type Index struct {
	Format  string    `json:"format"`
	ID      string    `json:"id"`
	Created time.Time `json:"created"`
	// From is the id of the bundle this one continues: the inside must
	// have imported it, because this bundle leaves out what it carried.
	// Empty for a full export.
	From string `json:"from,omitempty"`
	// Signer is the KeyID of the key that signed the index.
	Signer string `json:"signer"`
	// Ledger is the segment of the outside ledger in LedgerPath: the
	// entries after Before up to and including After.
	Ledger    Segment    `json:"ledger"`
	Artifacts []Artifact `json:"artifacts"`
	// Files lists every file of the stream, in stream order.
	Files []File `json:"files"`
	// Parts lists the parts of the compressed stream, in order.
	Parts []Part `json:"parts"`
}

// Segment names the outside ledger entries a bundle carries.
type Segment struct {
	Before state.Head `json:"before"`
	After  state.Head `json:"after"`
}

// Artifact is one artifact a bundle carries, as the outside recorded it.
type Artifact struct {
	Record state.Artifact `json:"record"`
	// Blobs maps the role of each blob the artifact needs to its digest:
	// "tarball", "evidence" (the approval evidence), "scan" (the stored
	// scan result), "sbom.spdx", "sbom.cyclonedx", and for a signed npm
	// artifact "signature" (its Sigstore bundle). An image has "manifest"
	// in place of "tarball" and the roles imageBlobs lists.
	Blobs map[string]string `json:"blobs"`
	// Evaluation and Approval are the outside's records of the verdict
	// and, when people had to approve, of the approval request.
	Evaluation json.RawMessage `json:"evaluation"`
	Approval   json.RawMessage `json:"approval,omitempty"`
}

// Key returns the artifact's state store key.
func (a *Artifact) Key() string { return a.Record.Key() }

// File is one file of the stream.
type File struct {
	Path   string `json:"path"`
	Digest string `json:"digest"`
	Size   int64  `json:"size"`
}

// Part is one piece of the compressed stream.
type Part struct {
	Name   string `json:"name"`
	Digest string `json:"digest"`
	Size   int64  `json:"size"`
}

// Size returns the total size of the files, uncompressed.
func (ix *Index) Size() int64 {
	var n int64
	for _, f := range ix.Files {
		n += f.Size
	}
	return n
}

// CompressedSize returns the total size of the parts.
func (ix *Index) CompressedSize() int64 {
	var n int64
	for _, p := range ix.Parts {
		n += p.Size
	}
	return n
}

var idPattern = regexp.MustCompile(`^[0-9]{8}T[0-9]{6}Z-[0-9a-f]{8}$`)

// newID returns a bundle id: the creation time and 32 random bits, so ids
// sort by time and never repeat.
func newID(now time.Time) (string, error) {
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return now.UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b[:]), nil
}

// partName returns the name of the nth part (counting from 1).
func partName(n int) string { return fmt.Sprintf("part-%03d.tar.zst", n) }

// decodeIndex parses and checks the shape of an index.
func decodeIndex(data []byte) (*Index, error) {
	var ix Index
	if err := json.Unmarshal(data, &ix); err != nil {
		return nil, fmt.Errorf("%w: index: %v", ErrFormat, err)
	}
	if ix.Format != FormatV1 {
		return nil, fmt.Errorf("%w: index format %q, this sluice reads %q", ErrFormat, ix.Format, FormatV1)
	}
	if !idPattern.MatchString(ix.ID) {
		return nil, fmt.Errorf("%w: invalid bundle id %q", ErrFormat, ix.ID)
	}
	if ix.From != "" && !idPattern.MatchString(ix.From) {
		return nil, fmt.Errorf("%w: invalid from-bundle id %q", ErrFormat, ix.From)
	}
	for i, p := range ix.Parts {
		if p.Name != partName(i+1) {
			return nil, fmt.Errorf("%w: part %d is named %q, want %q", ErrFormat, i+1, p.Name, partName(i+1))
		}
	}
	return &ix, nil
}
