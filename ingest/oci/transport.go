package oci

import (
	"net/http"
	"strconv"
	"time"
)

// retryAfter is an http.RoundTripper that waits out a 429 or 503 response
// carrying a Retry-After header and sends the request again.
// go-containerregistry retries these status codes with its own fixed
// backoff but ignores Retry-After, so this transport sits beneath it.
type retryAfter struct {
	next http.RoundTripper
	// retries bounds the waits per request; maxWait caps one wait.
	retries int
	maxWait time.Duration
}

// NewTransport returns a transport for registry requests that honours
// Retry-After on 429 and 503 responses, at most retries times per request
// and for at most maxWait each time (2 minutes when maxWait is 0). A nil
// base means http.DefaultTransport.
func NewTransport(base http.RoundTripper, retries int, maxWait time.Duration) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	if maxWait <= 0 {
		maxWait = maxRetryAfter
	}
	return &retryAfter{next: base, retries: retries, maxWait: maxWait}
}

func (t *retryAfter) RoundTrip(req *http.Request) (*http.Response, error) {
	for attempt := 0; ; attempt++ {
		resp, err := t.next.RoundTrip(req)
		if err != nil || attempt >= t.retries {
			return resp, err
		}
		if resp.StatusCode != http.StatusTooManyRequests && resp.StatusCode != http.StatusServiceUnavailable {
			return resp, nil
		}
		wait, ok := parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
		// A request whose body cannot be read again is left to the caller.
		if !ok || (req.Body != nil && req.Body != http.NoBody && req.GetBody == nil) {
			return resp, nil
		}
		resp.Body.Close()
		if req.GetBody != nil {
			body, err := req.GetBody()
			if err != nil {
				return nil, err
			}
			req = req.Clone(req.Context())
			req.Body = body
		}
		timer := time.NewTimer(min(wait, t.maxWait))
		select {
		case <-req.Context().Done():
			timer.Stop()
			return nil, req.Context().Err()
		case <-timer.C:
		}
	}
}

// parseRetryAfter reads a Retry-After value in seconds or as an HTTP date.
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	if v == "" {
		return 0, false
	}
	if secs, err := strconv.Atoi(v); err == nil && secs >= 0 {
		return time.Duration(secs) * time.Second, true
	}
	if at, err := http.ParseTime(v); err == nil {
		return max(at.Sub(now), 0), true
	}
	return 0, false
}

// maxRetryAfter caps one Retry-After wait, so a registry asking for hours
// fails the request instead of stalling the run.
const maxRetryAfter = 2 * time.Minute
