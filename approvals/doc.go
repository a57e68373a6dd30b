// Package approvals decides whether an artifact may pass the gateway. It
// evaluates a risk policy (package manifests/policy) against the facts
// about an artifact, records the verdict and its inputs as evidence, and
// runs the human approval chain that medium- and high-risk artifacts need.
//
// The flow of one artifact, as the Evaluate stage of an ingest.Runner:
//
//   - Evaluate maps facts (findings from the scanners, license, release
//     time, source, the data class of the requesting team's system) to a
//     tier. The strictest rule that fires wins; every decision lists the
//     rules that fired and the facts they matched.
//   - The evidence (policy digest, input digests, facts, decision) is
//     written to the blob store; its digest goes into the ledger.
//   - A tier with approval: auto is approved by the verdict itself, with
//     the approver "policy:<name>@<digest>". Blocked is rejected, which is
//     final for that artifact. Any other tier opens a Request with the
//     tier's approval chain, the requester and an expiry, and the artifact
//     waits in awaiting-approval.
//   - Approve and Reject record identity, role, time and reason in the
//     ledger in the same transaction that moves the artifact. Separation of
//     duties holds: the requester never approves, an identity counts once,
//     steps with after wait for their predecessor, and an expired request
//     is rejected with reason expired.
//   - Invalidate voids an approval when a rescan changes the findings it
//     rested on, and re-evaluates the artifact.
//
// The package decides and records; it never signs or publishes. Gate and
// RequireApproved wrap a Publisher and a signing Stage so that nothing
// that is not approved reaches them. Subpackage eapproval hands requests
// to an external e-approval system over HTTP.
package approvals
