package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/sluice-dev/sluice/ingest/bundle"
)

func newExportCommand(g *globals) *cobra.Command {
	var to, since, maxPart, key string
	cmd := &cobra.Command{
		Use:   "export --to DIR/|FILE",
		Short: "Write the approved artifacts and their evidence to a signed transfer bundle",
		Long: `Export writes a transfer bundle for a gateway on the other side of an air gap:
every approved artifact (tarball, SBOMs, scan result, approval evidence), the
ledger entries since the last export, and an index of every file's digest,
signed with the key given by --key (a cosign key file; its password is read
from COSIGN_PASSWORD).

--to names a folder (existing, or ending in /) that receives the bundle's
files, or a new file for a single-file bundle. --max-part-size cuts the
compressed stream into parts for media or a data diode. --since leaves out
what an earlier export, already imported inside, carried.`,
		Example: `  sluice export --to /media/usb/ --key bundle.key --max-part-size 4GiB
  sluice export --to /media/usb/ --key bundle.key --since 20261204T174500Z-3f9a2c1b`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log, err := g.logger()
			if err != nil {
				return err
			}
			if to == "" {
				return &usageError{errors.New("--to is required: name a folder (ending in /) or a new file")}
			}
			limit, err := parseSize(maxPart)
			if err != nil {
				return &usageError{fmt.Errorf("invalid --max-part-size %q: %w", maxPart, err)}
			}
			if info, err := os.Stat(to); limit > 0 && !strings.HasSuffix(to, "/") && (err != nil || !info.IsDir()) {
				return &usageError{errors.New("--max-part-size needs --to to name a folder (ending in /): " +
					"a single-file bundle has one part")}
			}
			if key == "" {
				return &usageError{errors.New("--key is required (or SLUICE_BUNDLE_KEY): the cosign private key that signs bundles")}
			}
			signer, err := bundle.LoadSigner(key, []byte(os.Getenv("COSIGN_PASSWORD")))
			if err != nil {
				return err
			}
			st, err := g.openExistingStore()
			if err != nil {
				return err
			}
			defer st.Close()
			res, err := bundle.Export(cmd.Context(), st.db, st.blobs, bundle.ExportOptions{To: to, Since: since,
				MaxPartSize: limit, Signer: signer, Actor: actor(), Log: log,
				Progress: newProgress(g, cmd.ErrOrStderr(), log)})
			if err != nil {
				return err
			}
			printExport(cmd.OutOrStdout(), res, to)
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&to, "to", "", "folder (ending in /) or new file to write the bundle to")
	fl.StringVar(&since, "since", "", "id of an earlier export the inside imported; leave out what it carried")
	fl.StringVar(&maxPart, "max-part-size", "", "largest part, in bytes or with a unit (KiB, MiB, GiB); default one part")
	fl.StringVar(&key, "key", os.Getenv("SLUICE_BUNDLE_KEY"), "cosign private key file that signs the bundle (env SLUICE_BUNDLE_KEY)")
	return cmd
}

func printExport(w io.Writer, res *bundle.ExportResult, to string) {
	ix := res.Index
	fmt.Fprintf(w, "bundle %s written to %s\n", ix.ID, to)
	fmt.Fprintf(w, "  artifacts  %d\n", len(ix.Artifacts))
	fmt.Fprintf(w, "  files      %d, %s; %s compressed in %s\n", len(ix.Files), humanBytes(ix.Size()),
		humanBytes(ix.CompressedSize()), plural(len(ix.Parts), "part", "parts"))
	fmt.Fprintf(w, "  ledger     entries %d to %d\n", ix.Ledger.Before.Seq+1, ix.Ledger.After.Seq)
	if ix.From != "" {
		fmt.Fprintf(w, "  continues  %s\n", ix.From)
	}
	for _, h := range res.Held {
		fmt.Fprintf(w, "  held: %s\n", h)
	}
}

// parseSize reads a byte count with an optional binary unit.
func parseSize(s string) (int64, error) {
	if s == "" {
		return 0, nil
	}
	units := []struct {
		suffix string
		factor int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40}, {"B", 1}}
	factor := int64(1)
	num := strings.TrimSpace(s)
	for _, u := range units {
		if n, ok := strings.CutSuffix(num, u.suffix); ok {
			num, factor = strings.TrimSpace(n), u.factor
			break
		}
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n <= 0 {
		return 0, errors.New("give a positive number of bytes, optionally with KiB, MiB, GiB or TiB")
	}
	if n > (1<<62)/factor {
		return 0, errors.New("size is too large")
	}
	return n * factor, nil
}
