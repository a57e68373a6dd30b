package main

import (
	"fmt"
	"runtime/debug"

	"github.com/spf13/cobra"
)

func newVersionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version of sluice and of Go it was built with",
		Args:  cobra.NoArgs,
		Run: func(cmd *cobra.Command, _ []string) {
			v := "(devel)"
			goVersion := ""
			if bi, ok := debug.ReadBuildInfo(); ok {
				v, goVersion = bi.Main.Version, bi.GoVersion
			}
			fmt.Fprintf(cmd.OutOrStdout(), "sluice %s %s\n", v, goVersion)
		},
	}
}
