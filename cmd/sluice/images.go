package main

import (
	"os"

	"github.com/spf13/cobra"
)

// ociFlags configure the registry that container images are published to.
type ociFlags struct {
	mirror string
	harbor harborFlags
}

func (f *ociFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.mirror, "oci-mirror", os.Getenv("SLUICE_OCI_MIRROR"),
		"OCI registry, with an optional repository prefix, to publish container images to "+
			"(env SLUICE_OCI_MIRROR), such as harbor.example/mirror; credentials come from "+
			"SLUICE_OCI_MIRROR_USER and SLUICE_OCI_MIRROR_PASSWORD, or SLUICE_OCI_MIRROR_TOKEN; "+
			"requires --policy")
	f.harbor.register(cmd)
}

// publishing reports whether images are to be published.
func (f *ociFlags) publishing() bool { return f.mirror != "" || f.harbor.url != "" }
