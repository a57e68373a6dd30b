package pipeline

import (
	"context"
	"errors"
	"fmt"

	"github.com/sluice-dev/sluice/approvals"
	"github.com/sluice-dev/sluice/ingest"
)

// ErrPluginNotApproved is returned by PublishPlugin for a request with a
// package that is not approved yet, or rejected.
var ErrPluginNotApproved = errors.New("plugin request is not approved")

// PublishPlugin runs the packages of plugin request req through r once
// more, so r's gated publisher publishes them. Stored tarballs are not
// fetched again. It publishes nothing and returns ErrPluginNotApproved
// unless every package is approved or already published.
func PublishPlugin(ctx context.Context, r *ingest.Runner, req *approvals.PluginRequest) (*ingest.Summary, error) {
	status, _, err := req.Status(r.DB)
	if err != nil {
		return nil, err
	}
	if status != approvals.PluginApproved && status != approvals.PluginPublished {
		return nil, fmt.Errorf("plugin request %s is %s: %w", req.ID, status, ErrPluginNotApproved)
	}
	m := req.Body.Manifest()
	sum, err := r.SyncRequests(ctx, m, req.Diff.Requests(m.Metadata.Name))
	if err != nil {
		return sum, fmt.Errorf("publish plugin request %s: %w", req.ID, err)
	}
	return sum, nil
}
