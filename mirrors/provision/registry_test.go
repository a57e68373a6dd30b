package provision

import (
	"context"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/sluice-dev/sluice/internal/harbortest"
)

// TestCredentialFilesWorkWithRegistry pushes an image with the push
// credentials file and pulls it with the Kubernetes pull secret, each read
// by go-containerregistry's docker keychain, through the fake Harbor's
// registry endpoint. Behind it runs go-containerregistry's in-process
// registry on loopback.
func TestCredentialFilesWorkWithRegistry(t *testing.T) {
	upstream := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(upstream.Close)
	f := newFixture(t, harbortest.WithRegistry(upstream.URL))
	host := strings.TrimPrefix(f.harbor.URL, "http://")
	f.d.Harbor.Registry = "http://" + host
	f.apply(t)
	out := f.d.OutputDir()

	pullConfig := t.TempDir()
	secret, err := os.ReadFile(filepath.Join(out, filepath.FromSlash(pullSecretPath("payments"))))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(pullConfig, "config.json"), dockerConfigOfSecret(t, secret), 0o600); err != nil {
		t.Fatal(err)
	}
	pushConfig := filepath.Dir(filepath.Join(out, filepath.FromSlash(pushCredentialPath("payments"))))

	ref, err := name.ParseReference(host+"/payments/tools/app:v1", name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	img, err := random.Image(256, 1)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	keychain := remote.WithAuthFromKeychain(authn.DefaultKeychain)

	t.Setenv("DOCKER_CONFIG", pullConfig)
	err = remote.Write(ref, img, keychain, remote.WithContext(ctx))
	var te *transport.Error
	if !errors.As(err, &te) || te.StatusCode != http.StatusForbidden {
		t.Errorf("push with the pull secret: %v, want status 403", err)
	}

	t.Setenv("DOCKER_CONFIG", pushConfig)
	if err := remote.Write(ref, img, keychain, remote.WithContext(ctx)); err != nil {
		t.Fatalf("push with the push credentials: %v", err)
	}

	t.Setenv("DOCKER_CONFIG", pullConfig)
	pulled, err := remote.Image(ref, keychain, remote.WithContext(ctx))
	if err != nil {
		t.Fatalf("pull with the pull secret: %v", err)
	}
	want, _ := img.Digest()
	if got, _ := pulled.Digest(); got != want {
		t.Errorf("pulled %s, want %s", got, want)
	}
}
