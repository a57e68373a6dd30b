package policy

import (
	"time"

	"github.com/sluice-dev/sluice/manifests"
)

// Values of the apiVersion and kind fields that this package accepts.
const (
	APIVersionV1   = "sluice.dev/v1"
	KindRiskPolicy = "RiskPolicy"
)

// Policy is a risk policy: rules that map facts about an artifact to a
// tier, and the approvals each tier needs.
//
// Field comments in this file become descriptions in the generated JSON
// Schema, so they are written for the people who edit policies.
type Policy struct {
	// Schema version of the policy. Only sluice.dev/v1 is supported.
	APIVersion string `json:"apiVersion" jsonschema:"required,enum=sluice.dev/v1"`
	// Kind of document. Must be RiskPolicy.
	Kind string `json:"kind" jsonschema:"required,enum=RiskPolicy"`
	// The policy's name, recorded with every verdict.
	Metadata Metadata `json:"metadata" jsonschema:"required"`
	// Approvals each tier needs before an artifact is approved.
	Tiers Tiers `json:"tiers" jsonschema:"required"`
	// Identities that hold each role named by the tiers' approvers.
	Roles map[string][]string `json:"roles,omitempty"`
	// SPDX license IDs that rules classify as allowed or denied. Patterns
	// such as GPL-* are allowed.
	Licenses Licenses `json:"licenses,omitzero"`
	// Rules in the order they are listed. Every rule whose conditions all
	// hold fires, and the strictest tier among them wins.
	Rules []Rule `json:"rules,omitempty"`
	// Tier of an artifact for which no rule fires.
	Default Tier `json:"default" jsonschema:"required,enum=low,enum=medium,enum=high"`

	// Path is the file the policy was read from. It is not part of the YAML.
	Path string `json:"-"`
	// Digest is the sha256 digest of the file's bytes ("sha256:<hex>"),
	// recorded with every verdict so the exact policy can be found in Git.
	Digest string `json:"-"`
}

// Metadata names a policy.
type Metadata struct {
	// Name of the policy: lowercase letters, digits and '-', starting and
	// ending with a letter or digit, at most 63 characters.
	Name string `json:"name" jsonschema:"required,pattern=^[a-z0-9]([-a-z0-9]*[a-z0-9])?$,maxLength=63"`
}

// Tier is a risk tier, or blocked.
type Tier string

// Tiers and the blocked verdict, from least to most strict.
const (
	TierLow     Tier = "low"
	TierMedium  Tier = "medium"
	TierHigh    Tier = "high"
	TierBlocked Tier = "blocked"
)

// tierOrder lists the tiers from least to most strict.
var tierOrder = []Tier{TierLow, TierMedium, TierHigh, TierBlocked}

// Rank returns the tier's strictness: 1 for low up to 4 for blocked, and 0
// for a value that is not a tier.
func (t Tier) Rank() int {
	for i, o := range tierOrder {
		if o == t {
			return i + 1
		}
	}
	return 0
}

// Tiers defines what each risk tier needs. A tier that no rule and not the
// default names may be left out.
type Tiers struct {
	// Artifacts of least concern.
	Low *TierSpec `json:"low,omitempty"`
	// Artifacts that need a review.
	Medium *TierSpec `json:"medium,omitempty"`
	// Artifacts that need the strictest review.
	High *TierSpec `json:"high,omitempty"`
}

// Spec returns the definition of tier t, or nil when the policy does not
// define it or t is blocked.
func (ts *Tiers) Spec(t Tier) *TierSpec {
	switch t {
	case TierLow:
		return ts.Low
	case TierMedium:
		return ts.Medium
	case TierHigh:
		return ts.High
	}
	return nil
}

// ApprovalAuto is the value of TierSpec.Approval that lets the policy's
// verdict stand in for a human approval.
const ApprovalAuto = "auto"

// TierSpec is the approval one tier needs: either approval by the policy
// itself or a chain of human approvers. Exactly one of approval and
// approvers is set.
type TierSpec struct {
	// "auto": the policy's verdict approves the artifact and is kept as
	// evidence.
	Approval string `json:"approval,omitempty" jsonschema:"enum=auto"`
	// Approval steps. Every step must be complete before the artifact is
	// approved; a step with after starts only when that role's step is
	// complete.
	Approvers []Approver `json:"approvers,omitempty" jsonschema:"minItems=1"`
	// How long a request may wait for its approvers, as a Go duration
	// such as 72h. An expired request is rejected. Without it requests do
	// not expire.
	ExpiresAfter Duration `json:"expiresAfter,omitzero"`
}

// Auto reports whether the tier is approved by the policy's verdict alone.
func (s *TierSpec) Auto() bool { return s.Approval == ApprovalAuto }

// Approver is one step of an approval chain: count distinct identities
// holding role must approve.
type Approver struct {
	// Role whose members approve this step; it must be listed under roles.
	Role string `json:"role" jsonschema:"required,minLength=1"`
	// How many distinct members of the role must approve. Defaults to 1.
	Count int `json:"count,omitempty" jsonschema:"minimum=1,default=1"`
	// Role of an earlier step of the same tier that must be complete
	// before this step's approvals count.
	After string `json:"after,omitempty" jsonschema:"minLength=1"`
}

// Licenses classifies SPDX license IDs for rules. A license that matches
// neither list is unlisted; an artifact without a recognised license has
// an unknown license.
type Licenses struct {
	// License IDs or patterns (path.Match syntax, such as BSD-*) that are
	// allowed.
	Allow []string `json:"allow,omitempty"`
	// License IDs or patterns that are denied. Deny wins over allow.
	Deny []string `json:"deny,omitempty"`
}

// Rule maps facts about an artifact to a tier.
type Rule struct {
	// Name of the rule, recorded in every verdict it is part of.
	Name string `json:"name" jsonschema:"required,pattern=^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"`
	// Conditions that must all hold for the rule to fire. At least one is
	// required.
	When Conditions `json:"when" jsonschema:"required"`
	// Tier the rule puts the artifact in, or blocked to reject it.
	Then Tier `json:"then" jsonschema:"required,enum=low,enum=medium,enum=high,enum=blocked"`

	// Pos is the position of the rule in the policy file.
	Pos manifests.Position `json:"-"`
}

// Conditions are the facts a rule matches. All conditions that are set
// must hold. A list condition holds when the fact equals one of its
// values. The vulnerability conditions (severity, fixAvailable, kev,
// epssAtLeast, cvssAtLeast) must all hold for one and the same
// vulnerability. Suppressed findings never match.
type Conditions struct {
	// Ecosystems, such as npm.
	Ecosystem StringList `json:"ecosystem,omitempty"`
	// Kind of source: package, image or backstage-plugin.
	Source StringList `json:"source,omitempty"`
	// Data class of the requesting team's system, from the manifest, such
	// as personal-credit-data.
	DataClass StringList `json:"dataClass,omitempty"`
	// Artifact names or patterns (path.Match syntax), such as @acme/*.
	Name StringList `json:"name,omitempty"`

	// Matches a vulnerability of this severity or a more severe one.
	Severity string `json:"severity,omitempty" jsonschema:"enum=negligible,enum=low,enum=medium,enum=high,enum=critical"`
	// Matches a vulnerability with (true) or without (false) a fixed version.
	FixAvailable *bool `json:"fixAvailable,omitempty"`
	// Matches a vulnerability that is (true) or is not (false) on CISA's
	// Known Exploited Vulnerabilities list.
	KEV *bool `json:"kev,omitempty"`
	// Matches a vulnerability whose EPSS score is at least this (0 to 1).
	EPSSAtLeast *float64 `json:"epssAtLeast,omitempty" jsonschema:"minimum=0,maximum=1"`
	// Matches a vulnerability whose CVSS base score is at least this (0 to 10).
	CVSSAtLeast *float64 `json:"cvssAtLeast,omitempty" jsonschema:"minimum=0,maximum=10"`

	// Matches when a license of the artifact has one of these statuses
	// under licenses: allowed, denied, unlisted or unknown.
	License StringList `json:"license,omitempty"`
	// Matches when a license of the artifact matches one of these IDs or
	// patterns, such as GPL-*.
	LicenseIDs StringList `json:"licenseIDs,omitempty"`

	// Matches an artifact that runs (true) or does not run (false) install
	// scripts such as postinstall.
	InstallScripts *bool `json:"installScripts,omitempty"`
	// Matches an artifact that builds (true) or does not build (false)
	// native code on install.
	NativeBuild *bool `json:"nativeBuild,omitempty"`
	// Matches an artifact whose name shadows (true) or does not shadow
	// (false) an internal package.
	DependencyConfusion *bool `json:"dependencyConfusion,omitempty"`
	// Matches when the upstream signature or provenance is failed (present
	// but invalid) or missing.
	UpstreamSignature StringList `json:"upstreamSignature,omitempty"`
	// Matches an artifact released upstream less than this long ago, as a
	// Go duration such as 72h. An unknown release time does not match.
	ReleasedWithin Duration `json:"releasedWithin,omitzero"`
	// Matches an artifact that the scanners flagged (true) or did not flag
	// (false) as released more recently than their minimum release age.
	RecentRelease *bool `json:"recentRelease,omitempty"`
	// Matches an artifact that was (true) or was not (false) scanned, so
	// a policy can hold back what no scanner has seen.
	Scanned *bool `json:"scanned,omitempty"`
}

// StringList is a list of strings that YAML may also give as one string.
type StringList []string

// Duration is a time.Duration written in YAML as a Go duration string such
// as 72h.
type Duration time.Duration

// String formats the duration as Go does, such as 72h0m0s.
func (d Duration) String() string { return time.Duration(d).String() }

// Values the conditions accept. Severities run from least to most severe.
var (
	Sources           = []string{"package", "image", "backstage-plugin"}
	LicenseStatuses   = []string{"allowed", "denied", "unlisted", "unknown"}
	SignatureProblems = []string{"failed", "missing"}
	Severities        = []string{"negligible", "low", "medium", "high", "critical"}
)
