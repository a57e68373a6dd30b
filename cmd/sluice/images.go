package main

import (
	"errors"
	"log/slog"
	"os"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/spf13/cobra"

	"github.com/sluice-dev/sluice/ingest"
	"github.com/sluice-dev/sluice/ingest/blobs"
	"github.com/sluice-dev/sluice/ingest/oci"
	mirroroci "github.com/sluice-dev/sluice/mirrors/oci"
)

// ociFlags configure the registry that container images are published to.
type ociFlags struct {
	mirror string
	harbor harborFlags
	// publisher is the publisher imagePublisher built, whose mapping of
	// upstream to mirror repositories the signing stage reuses.
	publisher interface {
		TargetRepository(upstream string) (name.Repository, error)
	}
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

// imageClient reads upstream registries with the credentials of the
// Docker config file (DOCKER_CONFIG, ~/.docker/config.json), retrying
// like the npm client and honouring Retry-After.
func imageClient(retries int) *oci.Client {
	return oci.NewClient(oci.WithKeychain(authn.DefaultKeychain),
		oci.WithTransport(oci.NewTransport(nil, retries, 0)), oci.WithAttempts(retries+1))
}

// imagePublisher builds the Harbor publisher from --harbor, or the OCI
// publisher from --oci-mirror, and the environment.
func (f *ociFlags) imagePublisher(dataDir string, store *blobs.Store, concurrency, retries int,
	log *slog.Logger) (ingest.ImagePublisher, error) {
	if f.harbor.url != "" {
		if f.mirror != "" {
			return nil, &usageError{errors.New("--harbor and --oci-mirror (or SLUICE_OCI_MIRROR) " +
				"both name a registry to publish images to: give one")}
		}
		pub, err := f.harbor.publisher(dataDir, store, concurrency, retries, log)
		if err != nil {
			return nil, err
		}
		f.publisher = pub
		return pub, nil
	}
	opts := []mirroroci.Option{mirroroci.WithJobs(concurrency),
		mirroroci.WithTransport(oci.NewTransport(nil, retries, 0))}
	switch {
	case os.Getenv("SLUICE_OCI_MIRROR_TOKEN") != "":
		opts = append(opts, mirroroci.WithAuth(&authn.Bearer{Token: os.Getenv("SLUICE_OCI_MIRROR_TOKEN")}))
	case os.Getenv("SLUICE_OCI_MIRROR_USER") != "":
		opts = append(opts, mirroroci.WithAuth(&authn.Basic{Username: os.Getenv("SLUICE_OCI_MIRROR_USER"),
			Password: os.Getenv("SLUICE_OCI_MIRROR_PASSWORD")}))
	default:
		opts = append(opts, mirroroci.WithKeychain(authn.DefaultKeychain))
	}
	pub, err := mirroroci.New(f.mirror, store, opts...)
	if err != nil {
		return nil, &usageError{err}
	}
	f.publisher = pub
	return pub, nil
}
