// Command demodb builds the demo grype vulnerability database archive (see
// package grypetest) for demos and benchmarks:
//
//	go run ./internal/grypetest/demodb -out demo/vulndb
//
// It writes vulnerability-db_v6...tar.zst and latest.json into -out, ready
// for 'sluice db import' and for 'grype db import'.
package main

import (
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/sluice-dev/sluice/internal/grypetest"
)

func main() {
	out := flag.String("out", "", "folder to write the archive and latest.json to (required)")
	age := flag.Duration("age", 0, "how long before now the database counts as built (8 days: 192h)")
	withoutLodash := flag.Bool("without-lodash", false,
		"leave out the lodash advisory, to show a rescan finding it after a newer import")
	flag.Parse()
	if *out == "" {
		fmt.Fprintln(os.Stderr, "demodb: -out is required")
		os.Exit(2)
	}
	archive, err := grypetest.BuildArchive(*out, grypetest.Options{Built: time.Now().Add(-*age),
		WithoutLodash: *withoutLodash})
	if err != nil {
		fmt.Fprintln(os.Stderr, "demodb:", err)
		os.Exit(1)
	}
	fmt.Println(archive)
}
