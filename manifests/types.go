package manifests

// Values of the apiVersion and kind fields that this package accepts.
const (
	APIVersionV1 = "sluice.dev/v1"
	KindManifest = "Manifest"
)

// Manifest is one request for artifacts to enter the air gap.
//
// Field comments in this file become descriptions in the generated JSON
// Schema, so they are written for the people who edit manifests.
type Manifest struct {
	// Schema version of the manifest. Only sluice.dev/v1 is supported.
	APIVersion string `json:"apiVersion" jsonschema:"required,enum=sluice.dev/v1"`
	// Kind of document. Must be Manifest.
	Kind string `json:"kind" jsonschema:"required,enum=Manifest"`
	// Who requests the artifacts and for what kind of system.
	Metadata Metadata `json:"metadata" jsonschema:"required"`
	// Artifacts that may enter the air gap.
	Spec Spec `json:"spec" jsonschema:"required"`

	// Path is the file the manifest was read from. It is not part of the YAML.
	Path string `json:"-"`
	// Digest is the sha256 of the file's bytes ("sha256:<hex>"), recorded
	// in the ledger with each run. It is not part of the YAML.
	Digest string `json:"-"`

	namePos Position // position of metadata.name, to report names used twice across files
}

// Metadata names a manifest and the team answerable for what it brings in.
type Metadata struct {
	// Name of the manifest: lowercase letters, digits and '-', starting and
	// ending with a letter or digit, at most 63 characters.
	Name string `json:"name" jsonschema:"required,pattern=^[a-z0-9]([-a-z0-9]*[a-z0-9])?$,maxLength=63"`
	// Team answerable for what this manifest brings into the air gap.
	Owner string `json:"owner" jsonschema:"required,minLength=1"`
	// Data class of the requesting team's system, for example internal,
	// externally-exposed or personal-credit-data. Approval rules match on it.
	DataClass string `json:"dataClass" jsonschema:"required,minLength=1"`
	// Free-form string labels, for example a cost center.
	Labels map[string]string `json:"labels,omitempty"`
}

// Spec lists the artifacts per ecosystem.
type Spec struct {
	// npm packages to bring in, with their transitive dependencies.
	NPM *NPMSpec `json:"npm,omitempty"`
	// Container images to bring in, each by tag or digest or as a
	// repository with a tag filter.
	Images []Image `json:"images,omitempty" jsonschema:"minItems=1"`
	// When sluice serve syncs this manifest on its own: a five-field cron
	// expression such as "0 2 * * *" (02:00 every night, server time) or a
	// descriptor such as "@daily" or "@every 6h". Empty means only on request.
	Schedule string `json:"schedule,omitempty" jsonschema:"minLength=1"`
}

// NPMSpec lists npm packages by name and version spec, and lockfiles whose
// packages are all requested.
type NPMSpec struct {
	// Which kinds of dependencies the transitive closure follows.
	Dependencies DependencyOptions `json:"dependencies"`
	// Packages to bring in, each as "name@spec" or as an object.
	Packages []NPMPackage `json:"packages,omitempty" jsonschema:"minItems=1"`
	// package-lock.json or yarn.lock files whose packages are brought in
	// exactly as locked.
	Lockfiles []NPMLockfile `json:"lockfiles,omitempty" jsonschema:"minItems=1"`
}

// DependencyOptions selects the dependency kinds that the transitive closure
// follows besides regular dependencies. Both default to true when absent.
type DependencyOptions struct {
	// Follow optionalDependencies, which keeps platform-specific packages
	// such as fsevents.
	Optional bool `json:"optional" jsonschema:"default=true"`
	// Follow peerDependencies.
	Peer bool `json:"peer" jsonschema:"default=true"`
}

// NPMPackage is one requested npm package.
type NPMPackage struct {
	// Package name, for example lodash or @backstage/core-app-api.
	Name string `json:"name" jsonschema:"required,minLength=1,maxLength=214"`
	// Exact version, npm semver range (such as ^1.15.0) or dist-tag. Defaults
	// to latest, or to * when latest is set.
	Version string `json:"version,omitempty" jsonschema:"minLength=1"`
	// Number of newest versions to bring in among those that version allows.
	Latest int `json:"latest,omitempty" jsonschema:"minimum=1"`
	// Let ranges match prerelease versions, like npm's includePrerelease.
	Prerelease bool `json:"prerelease,omitempty"`

	// Pos is the position of the entry in the manifest.
	Pos Position `json:"-"`
}

// NPMLockfile is a lockfile whose locked packages are all requested.
type NPMLockfile struct {
	// Path of a package-lock.json, npm-shrinkwrap.json or yarn.lock file,
	// relative to the folder of the manifest.
	Path string `json:"path" jsonschema:"required,minLength=1,pattern=^[^/\\\\]"`

	// Pos is the position of the path value in the manifest.
	Pos Position `json:"-"`
}

// Image is one requested container image, written either as a reference
// string ("registry/repository:tag" or "registry/repository@sha256:...")
// or as a mapping.
type Image struct {
	// Reference by tag or digest, for example docker.io/library/alpine:3.20.
	// Give either ref or repository with tags.
	Ref string `json:"ref,omitempty" jsonschema:"minLength=1"`
	// Repository whose tags the tags filter selects, for example
	// ghcr.io/backstage/backstage.
	Repository string `json:"repository,omitempty" jsonschema:"minLength=1"`
	// Which tags of repository to bring in.
	Tags *TagFilter `json:"tags,omitempty"`
	// Platforms of a multi-platform image to keep, as os/architecture or
	// os/architecture/variant (linux/amd64, linux/arm64/v8). All are kept
	// when absent; keeping fewer gives the mirrored index a new digest.
	Platforms []string `json:"platforms,omitempty" jsonschema:"minItems=1"`
	// Bring the upstream's signatures, attestations and SBOMs of the image
	// (OCI 1.1 referrers and cosign's sha256-<hex>.sig/.att/.sbom tags).
	// Defaults to true.
	Attachments *bool `json:"attachments,omitempty" jsonschema:"default=true"`
	// Check the upstream's cosign signature on each image before it is
	// accepted. The result is an upstream-signature finding that the risk
	// policy acts on: missing (no signature) or invalid (none verifies).
	Verify *ImageVerify `json:"verify,omitempty"`

	// Pos is the position of the entry in the manifest.
	Pos Position `json:"-"`
}

// ImageVerify configures the check of an image's upstream signatures.
type ImageVerify struct {
	// Public key files (cosign.pub, PEM) relative to the folder of the
	// manifest; a signature by any one of them verifies the image.
	Keys []string `json:"keys" jsonschema:"required,minItems=1"`

	// Pos is the position of the verify mapping in the manifest.
	Pos Position `json:"-"`
}

// TagFilter selects tags of a repository. A tag must pass every filter
// given; latest then keeps the highest versions among those that passed.
type TagFilter struct {
	// Semantic version range such as ">=1.30.0 <2" or "~3.20". Tags that
	// are not versions ("latest", "edge") never match. A leading v and
	// missing minor or patch numbers are accepted ("v3.20" is 3.20.0).
	Semver string `json:"semver,omitempty" jsonschema:"minLength=1"`
	// Regular expression (Go RE2 syntax) a tag must match in full.
	Regex string `json:"regex,omitempty" jsonschema:"minLength=1"`
	// Number of highest versions to keep among the tags that passed; tags
	// that are not versions are dropped when it is set.
	Latest int `json:"latest,omitempty" jsonschema:"minimum=1"`
}

// Position is a place in a manifest file. Line and Column are 1-based; zero
// means unknown.
type Position struct {
	File   string
	Line   int
	Column int
}
