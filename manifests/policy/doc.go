// Package policy reads and validates Sluice risk policies: the YAML files,
// kept in Git beside the manifests, that map facts about an artifact
// (vulnerabilities, licenses, install scripts, release age, where it comes
// from and what kind of system asked for it) to a risk tier, and each tier
// to the approvals it needs.
//
// A policy names three tiers, low, medium and high, and an ordered list of
// rules. Each rule's conditions must all hold for it to fire, and it then
// names a tier or blocked. The strictest tier among the rules that fired
// wins (low < medium < high < blocked); when no rule fires the policy's
// default tier applies. Evaluating a policy belongs to package approvals;
// this package only parses and validates.
//
// Like package manifests, Parse and Load walk the yaml.v3 node tree, so
// every problem is a *manifests.Error naming the file, line, column and
// field, and all problems of a file are returned at once as errors.Join.
//
// The JSON Schema in schema/policy.v1.schema.json is generated from the
// types in this package by `go generate ./manifests/policy`.
package policy

//go:generate go run ../internal/schemagen -type policy -o schema/policy.v1.schema.json
