package fetch

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestClientRetries(t *testing.T) {
	tests := []struct {
		name       string
		statuses   []int
		wantStatus int
		wantCalls  int32
	}{
		{"500 then ok", []int{500, 500, 200}, 200, 3},
		{"429 then ok", []int{429, 200}, 200, 2},
		{"404 is final", []int{404, 200}, 404, 1},
		{"always 503", []int{503, 503, 503, 503}, 503, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var calls atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				n := calls.Add(1)
				w.WriteHeader(tt.statuses[n-1])
				w.Write([]byte("body"))
			}))
			defer srv.Close()
			c := New(WithRetries(2), WithBackoff(time.Millisecond, 5*time.Millisecond))
			resp, err := c.Get(context.Background(), srv.URL+"/x", nil)
			if got := calls.Load(); got != tt.wantCalls {
				t.Errorf("server saw %d requests, want %d", got, tt.wantCalls)
			}
			if tt.wantStatus == 200 {
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				return
			}
			var se *StatusError
			if !errors.As(err, &se) || se.Status != tt.wantStatus {
				t.Fatalf("err = %v, want a StatusError with %d", err, tt.wantStatus)
			}
			if se.Attempts != int(tt.wantCalls) {
				t.Errorf("error counts %d attempts, want %d", se.Attempts, tt.wantCalls)
			}
			if !strings.Contains(err.Error(), srv.URL+"/x") {
				t.Errorf("error %q does not name the URL", err)
			}
		})
	}
}

func TestClientHonoursRetryAfter(t *testing.T) {
	var calls atomic.Int32
	var first time.Time
	var waited time.Duration
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			first = time.Now()
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		waited = time.Since(first)
	}))
	defer srv.Close()
	c := New(WithRetries(1), WithBackoff(time.Millisecond, 2*time.Second))
	resp, err := c.Get(context.Background(), srv.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if waited < 900*time.Millisecond {
		t.Errorf("retried after %s, want the 1s Retry-After honoured", waited)
	}
}
