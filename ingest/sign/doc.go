// Package sign is the signing stage of a sync and the checks that prove an
// artifact came through Sluice. It signs each approved npm tarball's digests,
// together with the digests of its SBOMs and scan result, as a DSSE-wrapped
// in-toto statement in a Sigstore bundle. It signs each approved image and
// makes its SBOM and vulnerability attestations in the layout cosign reads,
// stored as attachments that the image publisher pushes.
// It also verifies upstream signatures (npm registry signatures, cosign
// image signatures) against keys imported ahead of time. Keys are cosign's
// encrypted key files or any Signer, such as a KMS client. Nothing here
// contacts Fulcio, Rekor or a TUF repository, so keyless signing is not
// supported. It must not publish: mirrors do that.
package sign
