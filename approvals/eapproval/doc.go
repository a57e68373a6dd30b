// Package eapproval hands Sluice's approval requests to an external
// e-approval system over HTTP and brings its decisions back. Sluice stays
// the system of record: each decision the external system reports is
// applied through approvals.Approve and approvals.Reject, so separation of
// duties holds even where the external system allows more. A decision
// that breaks the chain's rules is recorded in the ledger and not counted.
//
// # Protocol
//
// The external system implements two endpoints under its base URL and
// authenticates Sluice with a bearer token:
//
//	POST {base}/documents        create a document; returns {"id", "url"}
//	GET  {base}/documents/{id}   the document's Status
//
// The POST body is a Document: the artifact, its digest, tier, policy,
// rules that fired, requester, expiry, the approval chain with its
// members, and the evidence document inline with its digest. It carries
// an Idempotency-Key header (artifact key and request creation time), so
// a retried POST must return the document the first one created. The
// Status lists each decision (identity, role, approve or reject, time,
// reason) and the overall status: pending, approved or rejected.
//
// Sluice learns outcomes by polling (Client.Sync, run from the CLI or a
// scheduler) or by callback: the external system POSTs a Status, with
// "externalRef" set to the artifact key, to the URL served by
// CallbackHandler, with its own bearer token.
//
// Requests are retried with exponential backoff by ingest/fetch on
// connection errors, 429 and 5xx. A request that stays pending past its
// expiry is rejected with reason expired on the next Sync, like any
// other. See docs/e-approval.md for examples of each message.
package eapproval
