// Package provision wires the internal side of the network to the mirrors
// from one declaration. It manages the Verdaccio configuration, Harbor
// projects with their robot accounts, immutability and retention rules,
// the client configuration files, Kubernetes image pull secrets, and
// Backstage app-config fragments and catalog entities.
//
// Diff reads the current state (Harbor through its API, files on disk)
// and lists what Apply would change, without changing anything. Apply
// makes the changes and records what it applied in a state file beside
// the generated files, so that a later plan can tell a change of the
// declaration (update) from a change made by hand on the internal side
// (drift). A second Apply with the same declaration changes nothing.
package provision
