package eapproval

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/sluice-dev/sluice/approvals"
	"github.com/sluice-dev/sluice/ingest/blobs"
	"github.com/sluice-dev/sluice/ingest/fetch"
	"github.com/sluice-dev/sluice/ingest/state"
	"github.com/sluice-dev/sluice/manifests/policy"
)

// Document is the body of POST {base}/documents.
type Document struct {
	// ExternalRef is the artifact key; callbacks send it back.
	ExternalRef  string           `json:"externalRef"`
	Title        string           `json:"title"`
	Artifact     string           `json:"artifact"`
	Digest       string           `json:"digest"`
	Tier         policy.Tier      `json:"tier"`
	Policy       string           `json:"policy"`
	PolicyDigest string           `json:"policyDigest"`
	Rules        []string         `json:"rules,omitempty"`
	Requester    string           `json:"requester,omitempty"`
	Requested    time.Time        `json:"requested"`
	Expires      time.Time        `json:"expires,omitzero"`
	Chain        []approvals.Step `json:"chain"`
	Evidence     Attachment       `json:"evidence"`
	CallbackURL  string           `json:"callbackURL,omitempty"`
}

// Attachment is a document attached inline with its digest.
type Attachment struct {
	Digest    string          `json:"digest"`
	MediaType string          `json:"mediaType"`
	Content   json.RawMessage `json:"content"`
}

// Created is the response to POST {base}/documents.
type Created struct {
	ID  string `json:"id"`
	URL string `json:"url,omitempty"`
}

// Outcomes of a document, and of each decision on it.
const (
	StatusPending  = "pending"
	StatusApproved = "approved"
	StatusRejected = "rejected"

	DecisionApprove = "approve"
	DecisionReject  = "reject"
)

// Status is the response to GET {base}/documents/{id} and the body of a
// callback.
type Status struct {
	ID          string     `json:"id"`
	ExternalRef string     `json:"externalRef,omitempty"`
	Status      string     `json:"status"`
	Decisions   []Decision `json:"decisions,omitempty"`
	// Reason explains a rejection that no single decision carries, such as
	// a withdrawn document.
	Reason string `json:"reason,omitempty"`
}

// Decision is one person's decision on a document.
type Decision struct {
	Identity string    `json:"identity"`
	Role     string    `json:"role,omitempty"`
	Decision string    `json:"decision"`
	Time     time.Time `json:"time"`
	Reason   string    `json:"reason,omitempty"`
}

// Client talks to one e-approval system.
type Client struct {
	base        *url.URL
	token       string
	system      string
	callbackURL string
	http        *fetch.Client
	log         *slog.Logger
}

// Option configures a Client.
type Option func(*Client)

// WithToken sets the bearer token sent to the e-approval system.
func WithToken(token string) Option { return func(c *Client) { c.token = token } }

// WithSystem names the system in requests and the ledger (default
// "e-approval").
func WithSystem(name string) Option { return func(c *Client) { c.system = name } }

// WithCallbackURL sets the URL the system should POST outcomes to.
func WithCallbackURL(url string) Option { return func(c *Client) { c.callbackURL = url } }

// WithHTTP sets the HTTP client, for retries, backoff and timeouts
// (default fetch.New()).
func WithHTTP(h *fetch.Client) Option { return func(c *Client) { c.http = h } }

// WithLogger sets the logger for submissions, decisions and decisions not counted.
func WithLogger(l *slog.Logger) Option { return func(c *Client) { c.log = l } }

// New returns a client for the e-approval system at base.
func New(base string, opts ...Option) (*Client, error) {
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("invalid e-approval URL %q: use an http or https URL", base)
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	c := &Client{base: u, system: "e-approval", http: fetch.New(), log: slog.New(slog.DiscardHandler)}
	for _, o := range opts {
		o(c)
	}
	return c, nil
}

func (c *Client) header() http.Header {
	h := http.Header{"Content-Type": {"application/json"}, "Accept": {"application/json"}}
	if c.token != "" {
		h.Set("Authorization", "Bearer "+c.token)
	}
	return h
}

// Submit creates the document for a pending request and returns its ID.
func (c *Client) Submit(ctx context.Context, r *approvals.Request, evidence []byte) (*Created, error) {
	doc := Document{ExternalRef: r.Artifact, Title: fmt.Sprintf("Approve %s (risk tier %s)", r.Artifact, r.Tier),
		Artifact: r.Artifact, Digest: r.Digest, Tier: r.Tier, Policy: r.Policy, PolicyDigest: r.PolicyDigest,
		Rules: r.Rules, Requester: r.Requester, Requested: r.Created, Expires: r.Expires, Chain: r.Chain,
		Evidence:    Attachment{Digest: r.Evidence, MediaType: "application/json", Content: evidence},
		CallbackURL: c.callbackURL}
	body, err := json.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("encode document for %s: %w", r.Artifact, err)
	}
	h := c.header()
	h.Set("Idempotency-Key", r.Artifact+"@"+r.Created.UTC().Format(time.RFC3339Nano))
	resp, err := c.http.Do(ctx, http.MethodPost, c.base.String()+"/documents", h, body)
	if err != nil {
		return nil, fmt.Errorf("create %s document for %s: %w", c.system, r.Artifact, err)
	}
	defer resp.Body.Close()
	var created Created
	if err := decode(resp.Body, &created); err != nil || created.ID == "" {
		return nil, fmt.Errorf("create %s document for %s: response has no document id: %v", c.system,
			r.Artifact, err)
	}
	return &created, nil
}

// Status fetches a document's status.
func (c *Client) Status(ctx context.Context, id string) (*Status, error) {
	resp, err := c.http.Get(ctx, c.base.String()+"/documents/"+url.PathEscape(id), c.header())
	if err != nil {
		return nil, fmt.Errorf("status of %s document %s: %w", c.system, id, err)
	}
	defer resp.Body.Close()
	var st Status
	if err := decode(resp.Body, &st); err != nil {
		return nil, fmt.Errorf("status of %s document %s: %w", c.system, id, err)
	}
	return &st, nil
}

func decode(r io.Reader, v any) error {
	if err := json.NewDecoder(io.LimitReader(r, 4<<20)).Decode(v); err != nil {
		return fmt.Errorf("invalid JSON response: %w", err)
	}
	return nil
}

// Summary counts what one Sync did.
type Summary struct {
	Expired   []string
	Submitted []string
	Approved  []string
	Rejected  []string
	// NotCounted lists decisions that break the chain's rules, such as an
	// approval by the requester.
	NotCounted []string
}

// Sync expires overdue requests, submits every pending request that has
// no document yet, and applies the status of every submitted one. It
// keeps going past a failing request and returns every failure at the
// end.
func (c *Client) Sync(ctx context.Context, db *state.DB, bs *blobs.Store) (*Summary, error) {
	sum := &Summary{}
	var err error
	if sum.Expired, err = approvals.ExpireDue(db); err != nil {
		return sum, err
	}
	pending, err := approvals.Requests(db, func(r *approvals.Request) bool {
		return r.Status == approvals.StatusPending
	})
	if err != nil {
		return sum, err
	}
	var errs []error
	for _, r := range pending {
		if ctx.Err() != nil {
			errs = append(errs, ctx.Err())
			break
		}
		if r.External == nil {
			if err := c.submit(ctx, db, bs, r); err != nil {
				errs = append(errs, err)
				continue
			}
			sum.Submitted = append(sum.Submitted, r.Artifact)
		}
		st, err := c.Status(ctx, r.External.DocumentID)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if err := c.apply(db, r, st, sum); err != nil {
			errs = append(errs, err)
		}
	}
	return sum, errors.Join(errs...)
}

// submit creates the document and records its ID on the request and in
// the ledger, in one transaction.
func (c *Client) submit(ctx context.Context, db *state.DB, bs *blobs.Store, r *approvals.Request) error {
	_, evidence, err := approvals.LoadEvidence(bs, r.Evidence)
	if err != nil {
		return err
	}
	created, err := c.Submit(ctx, r, evidence)
	if err != nil {
		return err
	}
	ext := approvals.External{System: c.system, DocumentID: created.ID, URL: created.URL}
	if err := approvals.LinkExternal(db, r.Artifact, ext); err != nil {
		return err
	}
	r.External = &ext
	c.log.Debug("approval request submitted", "artifact", r.Artifact, "system", c.system,
		"document", created.ID)
	return nil
}
