package npm

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/ingest/fetch"
)

func TestPublishTimes(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Accept") != "application/json" {
			t.Errorf("Accept = %q, want the full packument", r.Header.Get("Accept"))
		}
		switch r.URL.Path {
		case "/left-pad":
			w.Write([]byte(`{"name":"left-pad","time":{"created":"2014-03-14T00:00:00.000Z",
				"modified":"2024-01-01T00:00:00.000Z","1.3.0":"2018-04-10T01:40:31.964Z"}}`))
		case "/bad-time":
			w.Write([]byte(`{"time":{"1.0.0":"yesterday"}}`))
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	reg, err := NewRegistry(srv.URL, "", fetch.New(fetch.WithRetries(0)))
	if err != nil {
		t.Fatal(err)
	}
	times, err := reg.PublishTimes(context.Background(), "left-pad")
	if err != nil {
		t.Fatal(err)
	}
	want := time.Date(2018, 4, 10, 1, 40, 31, 964e6, time.UTC)
	if len(times) != 1 || !times["1.3.0"].Equal(want) {
		t.Errorf("times = %v, want only 1.3.0 at %s", times, want)
	}
	if _, err := reg.PublishTimes(context.Background(), "missing"); !errors.Is(err, ErrPackageNotFound) {
		t.Errorf("missing package: %v, want ErrPackageNotFound", err)
	}
	if _, err := reg.PublishTimes(context.Background(), "bad-time"); err == nil {
		t.Error("invalid time accepted")
	}
}
