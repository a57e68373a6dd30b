// Package fetch is Sluice's HTTP client for upstream registries: retries
// with exponential backoff on connection errors, 429 and 5xx (honouring
// Retry-After), per-request contexts, and errors that name the URL, the
// status and the number of attempts.
package fetch

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/hashicorp/go-retryablehttp"
)

// StatusError is returned when a server responds with a status that is
// not 2xx after all retries.
type StatusError struct {
	Method   string
	URL      string
	Status   int
	Attempts int
	// Body is the start of the response body, for the error message.
	Body string
}

func (e *StatusError) Error() string {
	msg := fmt.Sprintf("%s %s: %s", e.Method, e.URL, http.StatusText(e.Status))
	if e.Status != 0 {
		msg = fmt.Sprintf("%s %s: status %d %s", e.Method, e.URL, e.Status, http.StatusText(e.Status))
	}
	if e.Attempts > 1 {
		msg += fmt.Sprintf(" after %d attempts", e.Attempts)
	}
	if e.Body != "" {
		msg += ": " + e.Body
	}
	return msg
}

// Client sends requests with retries. The zero value is not usable; call New.
type Client struct {
	http      *retryablehttp.Client
	userAgent string
}

// Option configures a Client.
type Option func(*Client)

// WithRetries sets how many times a failed request is retried (default 4).
func WithRetries(n int) Option { return func(c *Client) { c.http.RetryMax = n } }

// WithBackoff sets the shortest and longest wait between retries
// (default 250ms and 10s). A Retry-After header on 429 or 503 overrides it.
func WithBackoff(minWait, maxWait time.Duration) Option {
	return func(c *Client) { c.http.RetryWaitMin, c.http.RetryWaitMax = minWait, maxWait }
}

// WithLogger logs each retry at debug level. The caller reports the final
// error, so the client logs nothing above debug.
func WithLogger(l *slog.Logger) Option {
	return func(c *Client) { c.http.Logger = slogAdapter{l} }
}

// WithHTTPClient sets the underlying transport client, for timeouts, proxies
// and TLS settings.
func WithHTTPClient(h *http.Client) Option { return func(c *Client) { c.http.HTTPClient = h } }

// New returns a client with the given options.
func New(opts ...Option) *Client {
	rc := retryablehttp.NewClient()
	rc.RetryMax = 4
	rc.RetryWaitMin = 250 * time.Millisecond
	rc.RetryWaitMax = 10 * time.Second
	rc.Logger = nil
	rc.ErrorHandler = retryablehttp.PassthroughErrorHandler
	rc.RequestLogHook = countAttempt
	rc.HTTPClient = &http.Client{
		Timeout: 5 * time.Minute,
		Transport: &http.Transport{
			Proxy:               http.ProxyFromEnvironment,
			MaxIdleConnsPerHost: 32,
			IdleConnTimeout:     90 * time.Second,
		},
	}
	c := &Client{http: rc, userAgent: "sluice"}
	for _, o := range opts {
		o(c)
	}
	return c
}

// Do sends a request with retries and returns the response when its status
// is 2xx or 304. Any other status is returned as a *StatusError after the
// body is read and closed. body may be nil; a non-nil body must be
// re-readable, because a retry sends it again.
func (c *Client) Do(ctx context.Context, method, url string, header http.Header, body []byte) (*http.Response, error) {
	var rbody any
	if body != nil {
		rbody = body
	}
	attempts := new(int)
	ctx = context.WithValue(ctx, attemptsKey{}, attempts)
	req, err := retryablehttp.NewRequestWithContext(ctx, method, url, rbody)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, url, err)
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	if req.Header.Get("User-Agent") == "" {
		req.Header.Set("User-Agent", c.userAgent)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("%s %s: %w", method, url, ctx.Err())
		}
		return nil, fmt.Errorf("%s %s after %d attempts: %w", method, url, *attempts, err)
	}
	if resp.StatusCode/100 == 2 || resp.StatusCode == http.StatusNotModified {
		return resp, nil
	}
	defer resp.Body.Close()
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	return nil, &StatusError{Method: method, URL: url, Status: resp.StatusCode, Attempts: *attempts,
		Body: strings.TrimSpace(string(snippet))}
}

// Get is Do with method GET and no body.
func (c *Client) Get(ctx context.Context, url string, header http.Header) (*http.Response, error) {
	return c.Do(ctx, http.MethodGet, url, header, nil)
}

// attemptsKey keys the per-request attempt counter in the request context.
type attemptsKey struct{}

func countAttempt(_ retryablehttp.Logger, req *http.Request, _ int) {
	if n, ok := req.Context().Value(attemptsKey{}).(*int); ok {
		*n++
	}
}

// slogAdapter lets retryablehttp log through log/slog.
type slogAdapter struct{ l *slog.Logger }

func (a slogAdapter) Error(msg string, kv ...any) { a.l.Debug(msg, kv...) }
func (a slogAdapter) Info(msg string, kv ...any)  { a.l.Debug(msg, kv...) }
func (a slogAdapter) Debug(msg string, kv ...any) { a.l.Debug(msg, kv...) }
func (a slogAdapter) Warn(msg string, kv ...any)  { a.l.Debug(msg, kv...) }
