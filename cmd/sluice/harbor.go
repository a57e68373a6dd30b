package main

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/sluice-dev/sluice/ingest/blobs"
	"github.com/sluice-dev/sluice/ingest/oci"
	"github.com/sluice-dev/sluice/mirrors/harbor"
	"github.com/sluice-dev/sluice/mirrors/harborpub"
	mirroroci "github.com/sluice-dev/sluice/mirrors/oci"
)

// harborFlags configure the Harbor project container images are
// published to, as an alternative to --oci-mirror.
type harborFlags struct {
	url             string
	project         string
	public          bool
	preventSeverity string
	requireCosign   bool
}

func (f *harborFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.url, "harbor", "",
		"Harbor to publish container images to, such as https://harbor.example; Sluice creates the "+
			"project and its push and pull robot accounts with the administrator credentials in "+
			"SLUICE_HARBOR_USER and SLUICE_HARBOR_PASSWORD, and pushes with the push robot; "+
			"excludes --oci-mirror, requires --harbor-project and --policy")
	fl.StringVar(&f.project, "harbor-project", "", "Harbor project to publish images into")
	fl.BoolVar(&f.public, "harbor-public", false, "make the Harbor project public: anyone may pull")
	fl.StringVar(&f.preventSeverity, "harbor-prevent-severity", "",
		"make Harbor block pulls of images with a vulnerability of this severity or higher: "+
			"low, medium, high or critical")
	fl.BoolVar(&f.requireCosign, "harbor-require-cosign", false,
		"make Harbor block pulls of images without a cosign signature")
}

// publisher builds the Harbor publisher; its robot credential files live
// in <data-dir>/harbor.
func (f *harborFlags) publisher(dataDir string, store *blobs.Store, concurrency, retries int,
	log *slog.Logger) (*harborpub.Publisher, error) {
	if f.project == "" {
		return nil, &usageError{errors.New("--harbor needs --harbor-project: name the project to publish into")}
	}
	user, password := os.Getenv("SLUICE_HARBOR_USER"), os.Getenv("SLUICE_HARBOR_PASSWORD")
	if user == "" || password == "" {
		return nil, &usageError{errors.New("--harbor needs the credentials of a Harbor administrator " +
			"in SLUICE_HARBOR_USER and SLUICE_HARBOR_PASSWORD")}
	}
	admin, err := harbor.New(f.url, harbor.WithBasicAuth(user, password), harbor.WithLogger(log),
		harbor.WithRetries(retries))
	if err != nil {
		return nil, &usageError{fmt.Errorf("invalid --harbor: %w", err)}
	}
	settings := harbor.ProjectSettings{Public: f.public, PreventVulnerable: f.preventSeverity != "",
		Severity: f.preventSeverity, CosignRequired: f.requireCosign, AutoScan: true}
	pub, err := harborpub.New(admin, harborpub.Config{Project: f.project, Settings: settings,
		Dir: filepath.Join(dataDir, "harbor")}, store, harborpub.WithLogger(log),
		harborpub.WithOCIOptions(mirroroci.WithJobs(concurrency),
			mirroroci.WithTransport(oci.NewTransport(nil, retries, 0))))
	if err != nil {
		return nil, &usageError{fmt.Errorf("invalid --harbor settings: %w", err)}
	}
	return pub, nil
}
