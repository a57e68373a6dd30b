package approvals

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/sluice-dev/sluice/ingest/blobs"
	"github.com/sluice-dev/sluice/ingest/plugin"
	"github.com/sluice-dev/sluice/ingest/state"
	"github.com/sluice-dev/sluice/manifests"
	"github.com/sluice-dev/sluice/manifests/policy"
	"github.com/sluice-dev/sluice/scanners"
)

// PluginRequestsBucket is the state store bucket that keeps plugin
// ingestion requests under their ID.
const PluginRequestsBucket = "plugin-requests"

// EntryPluginRequested is the ledger entry type of a filed plugin request.
const EntryPluginRequested = "plugin.requested"

// ErrNoPluginRequest is returned for an unknown plugin request ID.
var ErrNoPluginRequest = errors.New("no such plugin request")

// PluginPackage is one package a plugin adds to the app, with the verdict
// and the scan facts it got when the request was filed.
type PluginPackage struct {
	plugin.Package
	Artifact string      `json:"artifact"`
	Digest   string      `json:"digest"`
	State    state.State `json:"state"`
	Tier     policy.Tier `json:"tier"`
	Rules    []string    `json:"rules,omitempty"`
	// Evidence is the digest of the package's own evidence document.
	Evidence string `json:"evidence"`
	Scanned  bool   `json:"scanned"`
	// Licenses are the license IDs the scan found, such as "MIT", with
	// the package named for dependencies bundled in the tarball.
	Licenses []string `json:"licenses,omitempty"`
	// InstallScripts are the install-script and native-build findings, as
	// "postinstall: node build.js".
	InstallScripts []string `json:"installScripts,omitempty"`
	// Findings are the other findings, vulnerabilities first.
	Findings []scanners.Finding `json:"findings,omitempty"`
}

// PluginRequest is a filed plugin ingestion request. Its JSON form, with
// Evidence empty, is the evidence document stored in the blob store.
type PluginRequest struct {
	ID string `json:"id"`
	// Body is the request as filed, without an inline lockfile.
	Body manifests.PluginRequest `json:"body"`
	// Source is the origin the plugin's package.json declares, and Tarball
	// the digest of the plugin tarball it was read from.
	Source  plugin.Source `json:"source"`
	Tarball string        `json:"tarball"`
	Diff    *plugin.Diff  `json:"diff"`
	// Packages are the added packages with their verdicts, in Diff order.
	Packages []PluginPackage `json:"packages"`
	// Tier is the strictest tier among the packages.
	Tier         policy.Tier `json:"tier"`
	Policy       string      `json:"policy"`
	PolicyDigest string      `json:"policyDigest"`
	Requester    string      `json:"requester"`
	Run          string      `json:"run"`
	Created      time.Time   `json:"created"`
	// Evidence is the digest of the evidence document; empty inside it.
	Evidence string `json:"evidence,omitempty"`
}

// FilePluginRequest records a plugin request after its added packages
// went through a run's scan and evaluation stages: it collects each
// package's verdict, licenses, install scripts and findings, reads the
// plugin's package.json from the stored tarball, and stores the request
// and its evidence document. Approvals happen on the packages' own
// requests (see ApprovePlugin).
func FilePluginRequest(db *state.DB, bs *blobs.Store, body *manifests.PluginRequest, diff *plugin.Diff,
	requester, run string) (*PluginRequest, error) {
	r := &PluginRequest{Body: *body, Diff: diff, Requester: requester, Run: run}
	r.Body.App.Lockfile = ""
	for _, p := range diff.Added {
		pp, e, err := pluginPackage(db, bs, p)
		if err != nil {
			return nil, fmt.Errorf("plugin request %s: %w", diff.Plugin, err)
		}
		r.Policy, r.PolicyDigest = e.Policy, e.PolicyDigest
		if r.Tier == "" || pp.Tier.Rank() > r.Tier.Rank() {
			r.Tier = pp.Tier
		}
		if pp.Name == body.Plugin.Name && pp.Version == body.Plugin.Version {
			if err := r.readSource(bs, pp.Digest); err != nil {
				return nil, err
			}
		}
		r.Packages = append(r.Packages, *pp)
	}
	if r.Tarball == "" {
		return nil, fmt.Errorf("plugin request %s: the app locks the plugin already: nothing to request", diff.Plugin)
	}
	err := db.Update(func(tx *state.Tx) error {
		r.Created = tx.Now()
		sum := sha256.Sum256([]byte(diff.Plugin + "\n" + diff.LockfileDigest + "\n" + r.Created.Format(time.RFC3339Nano)))
		r.ID = "plugin-" + hex.EncodeToString(sum[:6])
		data, err := json.MarshalIndent(r, "", "  ")
		if err != nil {
			return fmt.Errorf("encode plugin request %s: %w", r.ID, err)
		}
		if r.Evidence, err = bs.Put(data); err != nil {
			return fmt.Errorf("store evidence of plugin request %s: %w", r.ID, err)
		}
		if err := tx.Put(PluginRequestsBucket, r.ID, r); err != nil {
			return err
		}
		return tx.Append(state.Entry{Type: EntryPluginRequested, Subject: r.ID, Run: run, Actor: requester,
			Evidence: map[string]string{"plugin": diff.Plugin, "tier": string(r.Tier), "evidence": r.Evidence,
				"added": fmt.Sprint(len(r.Packages)), "lockfile": diff.Lockfile,
				"lockfileDigest": diff.LockfileDigest, "repository": r.Source.Repository,
				"owner": body.Owner, "dataClass": body.DataClass}})
	})
	if err != nil {
		return nil, err
	}
	return r, nil
}

// readSource records the plugin tarball's digest and its declared source.
func (r *PluginRequest) readSource(bs *blobs.Store, digest string) error {
	f, err := bs.Open(digest)
	if err != nil {
		return fmt.Errorf("plugin request %s: open plugin tarball: %w", r.Diff.Plugin, err)
	}
	defer f.Close()
	src, err := plugin.ReadSource(f)
	if err != nil {
		return fmt.Errorf("plugin request %s: plugin tarball: %w", r.Diff.Plugin, err)
	}
	r.Source, r.Tarball = *src, digest
	return nil
}

// pluginPackage loads the verdict and scan facts of one added package.
func pluginPackage(db *state.DB, bs *blobs.Store, p plugin.Package) (*PluginPackage, *Evaluation, error) {
	key := state.ArtifactKey(state.EcosystemNPM, p.Name, p.Version)
	a, err := db.Artifact(key)
	if err != nil {
		return nil, nil, err
	}
	e, err := LoadEvaluation(db, key)
	if err != nil {
		return nil, nil, fmt.Errorf("%w (state %s): the run did not finish for it; request the plugin again",
			err, a.State)
	}
	ev, _, err := LoadEvidence(bs, e.Evidence)
	if err != nil {
		return nil, nil, err
	}
	pp := &PluginPackage{Package: p, Artifact: key, Digest: a.Digest, State: a.State, Tier: e.Tier,
		Rules: e.Rules, Evidence: e.Evidence, Scanned: ev.Facts.Scanned}
	for _, f := range ev.Facts.Findings {
		switch f.Kind {
		case scanners.KindLicense:
			id := f.ID
			if f.Package != p.Name {
				id += " (" + f.Package + "@" + f.PackageVersion + ")"
			}
			if !slices.Contains(pp.Licenses, id) {
				pp.Licenses = append(pp.Licenses, id)
			}
		case scanners.KindInstallScript, scanners.KindNativeBuild:
			pp.InstallScripts = append(pp.InstallScripts, f.ID+": "+f.Detail)
		default:
			pp.Findings = append(pp.Findings, f)
		}
	}
	return pp, e, nil
}

// LoadPluginRequest returns the plugin request with the given ID.
func LoadPluginRequest(db *state.DB, id string) (*PluginRequest, error) {
	r := new(PluginRequest)
	var ok bool
	err := db.View(func(tx *state.Tx) error {
		var err error
		ok, err = tx.Get(PluginRequestsBucket, id, r)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("plugin request %s: %w", id, err)
	}
	if !ok {
		return nil, fmt.Errorf("%s: %w: sluice plugin list shows the filed requests", id, ErrNoPluginRequest)
	}
	return r, nil
}

// PluginRequests returns every plugin request, in ID order.
func PluginRequests(db *state.DB) ([]*PluginRequest, error) {
	var out []*PluginRequest
	err := db.View(func(tx *state.Tx) error {
		return tx.ForEach(PluginRequestsBucket, func(key string, value []byte) error {
			r := new(PluginRequest)
			if err := json.Unmarshal(value, r); err != nil {
				return fmt.Errorf("plugin request %s: %w", key, err)
			}
			out = append(out, r)
			return nil
		})
	})
	return out, err
}
