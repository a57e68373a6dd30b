// Package harbor is Sluice's client for Harbor's REST API v2.0, written
// against the API contract that Harbor v2.15.2 publishes
// (api/v2.0/swagger.yaml; see testdata/SWAGGER.md). It owns the Harbor side of
// publishing and provisioning: projects and their security settings, robot
// accounts for pushing and pulling, reading artifacts back with their scan
// overview, tag immutability rules and tag retention policies. It does not
// push images: the OCI registry protocol is another package's work.
//
// Every Ensure call is idempotent: it reads the current state first, changes
// only what differs from the request, and returns the changes it made, so a
// plan view can show them and a second call changes nothing.
package harbor

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/sluice-dev/sluice/ingest/fetch"
)

// APIPrefix is the path under which Harbor serves REST API v2.0.
const APIPrefix = "/api/v2.0"

// maxPageSize is the largest page_size the contract allows on list calls.
const maxPageSize = 100

// Client calls one Harbor instance. It is safe for concurrent use.
type Client struct {
	base     *url.URL
	username string
	password string
	http     *fetch.Client
	log      *slog.Logger

	retries  int
	minWait  time.Duration
	maxWait  time.Duration
	transfer *http.Client
}

// Option configures a Client.
type Option func(*Client)

// WithBasicAuth sets the account every request authenticates as: a Harbor
// user (an administrator for provisioning) or a robot account, whose
// username is its full name such as robot$project+name.
func WithBasicAuth(username, password string) Option {
	return func(c *Client) { c.username, c.password = username, password }
}

// WithLogger sets the logger for request and retry records, at debug level.
func WithLogger(l *slog.Logger) Option { return func(c *Client) { c.log = l } }

// WithRetries sets how many times a request that failed with a connection
// error, 429 or 5xx is retried (default 4).
func WithRetries(n int) Option { return func(c *Client) { c.retries = n } }

// WithBackoff sets the shortest and longest wait between retries (default
// 250ms and 10s). A Retry-After header on 429 or 503 replaces the computed
// wait.
func WithBackoff(minWait, maxWait time.Duration) Option {
	return func(c *Client) { c.minWait, c.maxWait = minWait, maxWait }
}

// WithHTTPClient sets the transport client, for timeouts, proxies and TLS
// settings such as a private certificate authority.
func WithHTTPClient(h *http.Client) Option { return func(c *Client) { c.transfer = h } }

// New returns a client for the Harbor instance at baseURL, the address its
// users open in a browser (for example https://harbor.internal), without
// the /api/v2.0 suffix.
func New(baseURL string, opts ...Option) (*Client, error) {
	u, err := url.Parse(strings.TrimSuffix(baseURL, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("harbor: invalid base URL %q: want http(s)://host[:port]", baseURL)
	}
	u.Path = strings.TrimSuffix(u.Path, APIPrefix)
	c := &Client{base: u, log: slog.New(slog.DiscardHandler), retries: 4,
		minWait: 250 * time.Millisecond, maxWait: 10 * time.Second}
	for _, o := range opts {
		o(c)
	}
	fopts := []fetch.Option{fetch.WithRetries(c.retries), fetch.WithBackoff(c.minWait, c.maxWait),
		fetch.WithLogger(c.log)}
	if c.transfer != nil {
		fopts = append(fopts, fetch.WithHTTPClient(c.transfer))
	}
	c.http = fetch.New(fopts...)
	return c, nil
}

// URL returns the base URL of the Harbor instance.
func (c *Client) URL() string { return c.base.String() }

// Username returns the account the client authenticates as.
func (c *Client) Username() string { return c.username }

// call describes one API request and what its failure means to a user.
type call struct {
	op      string // what Sluice was doing, e.g. "create project"
	project string // the project concerned, if any
	need    string // the permission the operation needs, for 403 messages
	method  string
	path    string // below APIPrefix, already escaped
	query   url.Values
	header  http.Header
	body    any
}

// response is a 2xx response with its body read.
type response struct {
	header    http.Header
	body      []byte
	requestID string
}

// do sends a call with retries and returns its 2xx response, or an *Error.
func (c *Client) do(ctx context.Context, k call) (*response, error) {
	target := c.base.String() + APIPrefix + k.path
	if len(k.query) > 0 {
		target += "?" + k.query.Encode()
	}
	header := http.Header{}
	for name, values := range k.header {
		header[name] = values
	}
	requestID := newRequestID()
	header.Set("X-Request-Id", requestID)
	if header.Get("Accept") == "" {
		header.Set("Accept", "application/json")
	}
	if c.username != "" || c.password != "" {
		header.Set("Authorization", "Basic "+basicToken(c.username, c.password))
	}
	var payload []byte
	if k.body != nil {
		var err error
		if payload, err = json.Marshal(k.body); err != nil {
			return nil, fmt.Errorf("harbor: %s: encode request: %w", k.op, err)
		}
		header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(ctx, k.method, target, header, payload)
	if err != nil {
		var se *fetch.StatusError
		if errors.As(err, &se) {
			c.log.Debug("harbor request failed", "op", k.op, "method", k.method, "path", k.path,
				"status", se.Status, "attempts", se.Attempts, "request_id", requestID)
			return nil, newError(k, se, requestID, c.username)
		}
		return nil, fmt.Errorf("harbor: %s: %w (request id %s)", k.op, err, requestID)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, fmt.Errorf("harbor: %s: read response: %w (request id %s)", k.op, err, requestID)
	}
	if id := resp.Header.Get("X-Request-Id"); id != "" {
		requestID = id
	}
	c.log.Debug("harbor request", "op", k.op, "method", k.method, "path", k.path,
		"status", resp.StatusCode, "request_id", requestID)
	return &response{header: resp.Header, body: body, requestID: requestID}, nil
}

// decode sends a call and decodes its JSON body into out.
func (c *Client) decode(ctx context.Context, k call, out any) (*response, error) {
	resp, err := c.do(ctx, k)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(resp.body, out); err != nil {
		return nil, fmt.Errorf("harbor: %s: invalid JSON in response to %s %s: %w (request id %s)",
			k.op, k.method, k.path, err, resp.requestID)
	}
	return resp, nil
}

// list fetches every page of a list call, page_size 100 at a time, and
// returns the items of all pages. It stops at the X-Total-Count the server sends,
// or at the first short page when the header is missing.
func list[T any](ctx context.Context, c *Client, k call) ([]T, error) {
	var all []T
	for page := 1; ; page++ {
		q := url.Values{}
		for name, values := range k.query {
			q[name] = values
		}
		q.Set("page", strconv.Itoa(page))
		q.Set("page_size", strconv.Itoa(maxPageSize))
		pk := k
		pk.query = q
		var items []T
		resp, err := c.decode(ctx, pk, &items)
		if err != nil {
			return nil, err
		}
		all = append(all, items...)
		total, err := strconv.Atoi(resp.header.Get("X-Total-Count"))
		if err != nil {
			total = -1
		}
		if len(items) < maxPageSize || (total >= 0 && len(all) >= total) {
			return all, nil
		}
	}
}

// location returns the numeric ID at the end of a 201 response's Location
// header, e.g. 7 for /api/v2.0/robots/7.
func (r *response) location() (int64, error) {
	loc := r.header.Get("Location")
	i := strings.LastIndex(loc, "/")
	id, err := strconv.ParseInt(loc[i+1:], 10, 64)
	if loc == "" || err != nil {
		return 0, fmt.Errorf("created resource has no numeric ID in its Location header %q", loc)
	}
	return id, nil
}

func basicToken(username, password string) string {
	return base64.StdEncoding.EncodeToString([]byte(username + ":" + password))
}

// newRequestID returns a random ID that Harbor echoes in X-Request-Id and
// writes to its logs, so a failure can be found on the server side.
func newRequestID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return "sluice-" + hex.EncodeToString(b[:])
}

// pathEscape escapes one path segment. Harbor wants repository names that
// contain slashes encoded twice (a/b becomes a%252Fb), so the segment
// survives the router's own unescaping.
func pathEscape(segment string, twice bool) string {
	s := url.PathEscape(segment)
	if twice {
		s = url.PathEscape(s)
	}
	return s
}
