// Package mirrors holds what Sluice does on the internal side: publishers
// that put approved artifacts on internal mirrors (subpackage npm for
// Verdaccio and Nexus npm repositories), and pinning, which points
// lockfiles at those mirrors (subpackage pin). Subpackage provision sets
// up the mirrors and their clients from a network declaration, and
// techdocs points TechDocs sites at mirrored CDN files. A publisher never
// decides whether an artifact may be published; the ingest run only hands
// it artifacts that passed every configured stage.
package mirrors
