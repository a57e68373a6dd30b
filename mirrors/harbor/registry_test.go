package harbor_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/sluice-dev/sluice/internal/harbortest"
	"github.com/sluice-dev/sluice/mirrors/harbor"
)

// TestArtifactPushedThroughRegistry pushes an image through the fake's
// registry endpoint with the push robot, and reads it back through the
// REST API. The registry behind the fake is go-containerregistry's
// in-process registry on loopback.
func TestArtifactPushedThroughRegistry(t *testing.T) {
	upstream := httptest.NewServer(registry.New())
	t.Cleanup(upstream.Close)
	srv, c := withProject(t, harbortest.WithRegistry(upstream.URL))
	ctx := context.Background()
	push, err := c.EnsureRobot(ctx, harbor.PushRobot("mirror"))
	if err != nil {
		t.Fatal(err)
	}
	pull, err := c.EnsureRobot(ctx, harbor.PullRobot("mirror"))
	if err != nil {
		t.Fatal(err)
	}
	img, err := random.Image(512, 2)
	if err != nil {
		t.Fatal(err)
	}
	digest, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	host := strings.TrimPrefix(srv.URL, "http://")
	ref, err := name.ParseReference(host+"/mirror/library/app:v1", name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	auth := func(r harbor.RobotResult) remote.Option {
		return remote.WithAuth(&authn.Basic{Username: r.Robot.Name, Password: r.Secret})
	}
	tests := []struct {
		name       string
		opts       []remote.Option
		wantStatus int // 0 for success
	}{
		{"anonymous", nil, http.StatusUnauthorized},
		{"pull robot", []remote.Option{auth(pull)}, http.StatusForbidden},
		{"push robot", []remote.Option{auth(push)}, 0},
	}
	for _, tt := range tests {
		err := remote.Write(ref, img, append(tt.opts, remote.WithContext(ctx))...)
		var te *transport.Error
		switch {
		case tt.wantStatus == 0 && err != nil:
			t.Fatalf("push as %s: %v", tt.name, err)
		case tt.wantStatus != 0 && (!errors.As(err, &te) || te.StatusCode != tt.wantStatus):
			t.Errorf("push as %s: error %v, want status %d", tt.name, err, tt.wantStatus)
		}
	}
	pullClient := newClient(t, srv, pull.Robot.Name, pull.Secret)
	a, err := pullClient.Artifact(ctx, "mirror", "library/app", digest.String())
	if err != nil {
		t.Fatal(err)
	}
	if a.Digest != digest.String() || len(a.Tags) != 1 || a.Tags[0].Name != "v1" || a.Size == 0 {
		t.Errorf("artifact = %s, tags %+v, size %d; want %s tagged v1", a.Digest, a.Tags, a.Size, digest)
	}
	if _, err := pullClient.Artifact(ctx, "mirror", "library/app", "v2"); !errors.Is(err, harbor.ErrNotFound) {
		t.Errorf("artifact by an unknown tag: %v, want ErrNotFound", err)
	}
}
