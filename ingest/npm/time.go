package npm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/sluice-dev/sluice/ingest/fetch"
)

// fullAccept requests the full packument, because the abbreviated form
// that resolving uses has no "time" field.
const fullAccept = "application/json"

// PublishTimes fetches a package's full packument and returns its "time"
// field: when each version was published. The registry's "created" and
// "modified" entries are left out.
func (r *Registry) PublishTimes(ctx context.Context, name string) (map[string]time.Time, error) {
	u := r.PackumentURL(name)
	resp, err := r.client.Get(ctx, u, r.header(u, fullAccept))
	var se *fetch.StatusError
	if errors.As(err, &se) && se.Status == http.StatusNotFound {
		return nil, fmt.Errorf("%s: %w at %s", name, ErrPackageNotFound, r.base)
	}
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var doc struct {
		Time map[string]string `json:"time"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
		return nil, fmt.Errorf("%s: invalid packument from %s: %w", name, u, err)
	}
	out := make(map[string]time.Time, len(doc.Time))
	for version, value := range doc.Time {
		if version == "created" || version == "modified" {
			continue
		}
		t, err := time.Parse(time.RFC3339, value)
		if err != nil {
			return nil, fmt.Errorf("%s: packument from %s has an invalid time for %s: %q", name, u, version, value)
		}
		out[version] = t
	}
	return out, nil
}
