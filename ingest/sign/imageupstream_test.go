package sign

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluice-dev/sluice/ingest/oci"
	"github.com/sluice-dev/sluice/ingest/state"
	"github.com/sluice-dev/sluice/internal/storetest"
)

func TestUpstreamImageCheckMissingKeyFile(t *testing.T) {
	db, _ := storetest.Open(t)
	missing := filepath.Join(t.TempDir(), "absent.pub")
	const digest = "sha256:3333333333333333333333333333333333333333333333333333333333333333"
	a := &state.Artifact{Ecosystem: state.EcosystemOCI, Name: "127.0.0.1:9/team/app", Version: digest}
	res := &oci.Resolved{Repository: a.Name, Digest: digest, VerifyKeys: []string{missing},
		RequestedBy: "m.yaml:9:7 127.0.0.1:9/team/app:1"}
	_, err := UpstreamImageCheck{DB: db}.Verify(context.Background(), a, res)
	if err == nil {
		t.Fatal("Verify with a missing key file succeeded")
	}
	for _, want := range []string{res.RequestedBy, missing} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}
	id, _, err := ImageSignatureFinding(db)(context.Background(), a)
	if err != nil || id != "" {
		t.Errorf("a failed check left the finding %q (%v), want none", id, err)
	}
}
