package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/spf13/cobra"

	"github.com/sluice-dev/sluice/ingest/sign"
	"github.com/sluice-dev/sluice/ingest/state"
	"github.com/sluice-dev/sluice/scanners"
)

// keyPassword returns the password of a cosign key file: from the
// environment variable named by passwordEnv, which defaults to
// COSIGN_PASSWORD as in cosign.
func keyPassword(passwordEnv string) ([]byte, error) {
	if passwordEnv == "" {
		passwordEnv = "COSIGN_PASSWORD"
	}
	v, ok := os.LookupEnv(passwordEnv)
	if !ok {
		return nil, &usageError{fmt.Errorf("%s is not set: set it to the key's password "+
			"(an empty value means no password)", passwordEnv)}
	}
	return []byte(v), nil
}

// signFlags configure the signing stage of a sync.
type signFlags struct {
	key         string
	passwordEnv string
}

func (f *signFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.key, "sign-key", os.Getenv("SLUICE_SIGN_KEY"),
		"cosign private key file that signs every approved artifact (env SLUICE_SIGN_KEY); "+
			"without it nothing is signed and the ledger records signing as skipped")
	fl.StringVar(&f.passwordEnv, "sign-key-password-env", "COSIGN_PASSWORD",
		"environment variable that holds the signing key's password")
}

// signer loads the signing key, or returns nil when none is given.
func (f *signFlags) signer() (sign.Signer, error) {
	if f.key == "" {
		return nil, nil
	}
	password, err := keyPassword(f.passwordEnv)
	if err != nil {
		return nil, err
	}
	s, err := sign.LoadPrivateKey(f.key, password)
	if err != nil {
		return nil, &usageError{err}
	}
	return s, nil
}

// scanEvidence gives the signing stage the digests of an artifact's SBOMs
// and of its stored scan result, which it keeps as a blob so the digest
// can be resolved later.
type scanEvidence struct{ st *store }

func (e scanEvidence) Evidence(_ context.Context, a *state.Artifact) (sign.Evidence, error) {
	r, err := scanners.LoadResult(e.st.db, a.Key())
	if err != nil || r == nil {
		return sign.Evidence{}, err
	}
	data, err := json.Marshal(r)
	if err != nil {
		return sign.Evidence{}, err
	}
	digest, err := e.st.blobs.Put(data)
	if err != nil {
		return sign.Evidence{}, fmt.Errorf("store scan result: %w", err)
	}
	ev := sign.Evidence{SBOMs: map[string]string{}, Scan: digest}
	if r.SBOM.SPDX != "" {
		ev.SBOMs["spdx"] = r.SBOM.SPDX
	}
	if r.SBOM.CycloneDX != "" {
		ev.SBOMs["cyclonedx"] = r.SBOM.CycloneDX
	}
	for platform, d := range r.Platforms {
		if ev.Platforms == nil {
			ev.Platforms = map[string]map[string]string{}
		}
		ev.Platforms[platform] = map[string]string{"spdx": d.SPDX, "cyclonedx": d.CycloneDX}
	}
	return ev, nil
}

func newKeysCommand(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "keys",
		Short: "Create signing keys and import upstream registries' public keys",
	}
	var prefix string
	generate := &cobra.Command{
		Use:   "generate",
		Short: "Write an encrypted cosign key pair (PREFIX.key, PREFIX.pub)",
		Long: `Generate writes an ECDSA P-256 key pair in cosign's formats: the private
key encrypted with the password in COSIGN_PASSWORD, and the public key that
consumers pass to 'cosign verify --key' and 'sluice verify --key'.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			password, err := keyPassword("COSIGN_PASSWORD")
			if err != nil {
				return err
			}
			pair, err := sign.GenerateKeyPair(password)
			if err != nil {
				return err
			}
			if err := writeNew(prefix+".key", pair.PrivatePEM, 0o600); err != nil {
				return err
			}
			if err := writeNew(prefix+".pub", pair.PublicPEM, 0o644); err != nil {
				return err
			}
			pub, err := sign.ParsePublicKey(pair.PublicPEM)
			if err != nil {
				return err
			}
			id, err := sign.KeyID(pub)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "wrote %s.key and %s.pub, key id %s\n", prefix, prefix, id)
			return nil
		},
	}
	generate.Flags().StringVar(&prefix, "output-key-prefix", "cosign", "path and name of the key files without extension")

	importUpstream := &cobra.Command{
		Use:   "import-upstream FILE",
		Short: "Import the npm registry's signing keys (the JSON of /-/npm/v1/keys)",
		Long: `Import-upstream stores the npm registry's public signing keys in the data
directory and records the import in the ledger. Registry signatures are
checked against these keys only; they are never fetched during a sync.
Download the file on the connected side, for example with
'curl https://registry.npmjs.org/-/npm/v1/keys', and review it before import.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			data, err := os.ReadFile(args[0])
			if err != nil {
				return &usageError{err}
			}
			st, err := g.openStore()
			if err != nil {
				return err
			}
			defer st.Close()
			keys, digest, err := sign.ImportNPMKeys(st.db, st.blobs, data, args[0], actor())
			if err != nil {
				return fmt.Errorf("%s: %w", args[0], err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "imported %s from %s (%s)\n",
				plural(len(keys.Keys), "npm registry key", "npm registry keys"), args[0], digest)
			return nil
		},
	}
	cmd.AddCommand(generate, importUpstream)
	return cmd
}

// writeNew writes a file that must not exist yet.
func writeNew(path string, data []byte, perm os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if errors.Is(err, fs.ErrExist) {
		return &usageError{fmt.Errorf("%s exists: remove it or choose another --output-key-prefix", path)}
	}
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
