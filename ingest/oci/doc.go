// Package oci brings container images in from OCI registries. It resolves
// manifest image entries (a tag, a digest, or a repository with a tag
// filter) to digests, and copies each image's index, manifests and blobs
// byte for byte into the content-addressed blob store, together with the
// upstream's signatures, attestations and SBOMs that refer to the image.
// It talks to registries through go-containerregistry's remote package and
// knows no mirror: publishing belongs to mirrors/oci.
package oci
