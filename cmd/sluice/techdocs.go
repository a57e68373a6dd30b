package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/sluice-dev/sluice/mirrors/techdocs"
)

func newTechDocsCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "techdocs",
		Short: "Prepare TechDocs sites for a network without internet access",
	}
	cmd.AddCommand(newTechDocsLocalizeCommand())
	return cmd
}

func newTechDocsLocalizeCommand() *cobra.Command {
	var mirror, baseURL string
	cmd := &cobra.Command{
		Use:   "localize DIR --mirror FOLDER",
		Short: "Point a built TechDocs site at mirrored copies of its CDN files",
		Long: `Localize rewrites the HTML and CSS files of a built TechDocs site in DIR
so that stylesheets, scripts, fonts and images load from copies Sluice
brought in instead of public CDNs. The link tags, script and img sources,
srcset lists, style attributes and elements, CSS url() values and
@import rules are rewritten; preconnect and dns-prefetch hints to external
hosts are removed.

The mirror folder holds the copies at <host>/<path>, and urls.json in it
maps URLs with a query (such as Google Fonts stylesheets) to files:
{"https://fonts.googleapis.com/css?family=Roboto": "fonts/roboto.css"}.
Without --base-url the copies are placed in DIR/_sluice-mirror and their
own stylesheets are localized too; with it, references point at the
folder served at that URL.

References that could not be localized are listed, and the command exits
with status 3.`,
		Example: `  sluice techdocs localize site/ --mirror /srv/sluice/cdn
  sluice techdocs localize site/ --mirror /srv/sluice/cdn --base-url https://files.internal/cdn/`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if mirror == "" {
				return &usageError{errors.New("--mirror is required: name the folder of mirrored CDN files")}
			}
			m, err := techdocs.OpenMirror(mirror)
			if err != nil {
				return &usageError{err}
			}
			report, err := techdocs.Localize(args[0], techdocs.Options{Mirror: m, BaseURL: baseURL})
			if err != nil {
				return err
			}
			if err := report.Write(cmd.OutOrStdout()); err != nil {
				return err
			}
			if n := len(report.Unresolved); n > 0 {
				return &offendersError{fmt.Sprintf("%d external references not localized", n)}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&mirror, "mirror", "", "folder of mirrored CDN files, with an optional urls.json")
	f.StringVar(&baseURL, "base-url", "", "internal URL the mirror folder is served at; empty copies the files into the site")
	return cmd
}
