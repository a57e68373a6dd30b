package registrytest

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
)

// CosignOfflineVerifyFlags keep `cosign verify` and `cosign
// verify-attestation` from asking Rekor, Fulcio or a TUF repository.
var CosignOfflineVerifyFlags = []string{"--insecure-ignore-tlog=true", "--insecure-ignore-sct=true",
	"--offline=true"}

// Cosign runs the cosign program in dir with no way to reach a public
// host: every proxy points at a closed loopback port, HOME and the TUF
// cache are inside dir, and key files use the password "test-password".
// It returns the combined output.
func Cosign(dir string, args ...string) (string, error) {
	bin, err := Tool("cosign")
	if err != nil {
		return "", err
	}
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "HOME="+dir, "TUF_ROOT="+filepath.Join(dir, "tuf"),
		"COSIGN_PASSWORD=test-password", "HTTPS_PROXY=http://127.0.0.1:9",
		"HTTP_PROXY=http://127.0.0.1:9", "NO_PROXY=127.0.0.1,localhost", "COSIGN_EXPERIMENTAL=0")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err = cmd.Run()
	return out.String(), err
}
