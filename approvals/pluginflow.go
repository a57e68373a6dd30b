package approvals

import (
	"context"
	"fmt"

	"github.com/sluice-dev/sluice/ingest"
	"github.com/sluice-dev/sluice/ingest/plugin"
	"github.com/sluice-dev/sluice/manifests"
)

// RequestPlugin files a plugin request: it computes what body's plugin
// adds to the app whose lockfile content is lockData, runs only those
// packages through r's scan and evaluation stages, and files the request
// with FilePluginRequest under body.Requester (r.Actor when empty).
// Nothing is published or signed, whatever r is set up with: the packages
// wait for the request's approval. When the app locks the whole closure
// already, it returns the diff and a nil request.
func RequestPlugin(ctx context.Context, r *ingest.Runner, body *manifests.PluginRequest, lockPath string,
	lockData []byte) (*PluginRequest, *plugin.Diff, error) {
	diff, err := plugin.Compute(ctx, r.NPM, body, lockPath, lockData)
	if err != nil {
		return nil, nil, err
	}
	if len(diff.Added) == 0 {
		return nil, diff, nil
	}
	evaluate := *r
	evaluate.Sign, evaluate.Publish, evaluate.PublishImages = nil, nil, nil
	if body.Requester != "" {
		evaluate.Actor = body.Requester
	}
	m := body.Manifest()
	sum, err := evaluate.SyncRequests(ctx, m, diff.Requests(m.Metadata.Name))
	if err != nil {
		return nil, diff, fmt.Errorf("plugin request %s: %w", diff.Plugin, err)
	}
	req, err := FilePluginRequest(r.DB, r.Blobs, body, diff, evaluate.Actor, sum.Run)
	return req, diff, err
}
