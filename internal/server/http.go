package server

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/sluice-dev/sluice/approvals"
	"github.com/sluice-dev/sluice/ingest/state"
	"github.com/sluice-dev/sluice/internal/pipeline"
	"github.com/sluice-dev/sluice/scanners"
)

// Error codes of the API's error documents.
const (
	codeBadRequest       = "bad_request"
	codeUnauthenticated  = "unauthenticated"
	codeForbidden        = "forbidden"
	codeSeparation       = "separation_of_duties"
	codeNotApprover      = "not_in_approval_chain"
	codeNotFound         = "not_found"
	codeConflict         = "conflict"
	codeMethodNotAllowed = "method_not_allowed"
	codeInternal         = "internal"
)

// apiError is the body of every error response:
// {"error": {"status": 403, "code": "forbidden", "message": "...", "requestId": "..."}}.
type apiError struct {
	Status    int    `json:"status"`
	Code      string `json:"code"`
	Message   string `json:"message"`
	RequestID string `json:"requestId"`
}

type ctxKey int

const requestIDKey ctxKey = 0

func requestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey).(string)
	return id
}

// withRequestID takes X-Request-Id from the request when it is short and
// printable, or makes one, and echoes it in the response.
func withRequestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get("X-Request-Id")
		if id == "" || len(id) > 128 || strings.IndexFunc(id, func(c rune) bool {
			return c > unicode.MaxASCII || !unicode.IsPrint(c) || c == ' '
		}) >= 0 {
			id = newID(8)
		}
		w.Header().Set("X-Request-Id", id)
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), requestIDKey, id)))
	})
}

func newID(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

func writeError(w http.ResponseWriter, r *http.Request, status int, code, msg string) {
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="sluice"`)
	}
	writeJSON(w, status, map[string]apiError{"error": {Status: status, Code: code, Message: msg,
		RequestID: requestID(r.Context())}})
}

// fail writes the error response for err, choosing the status from the
// library's sentinel errors, and logs what is the server's fault.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	status, code := classify(err)
	if status == http.StatusInternalServerError {
		s.log.Error("request failed", "method", r.Method, "path", r.URL.Path,
			"requestId", requestID(r.Context()), "error", err)
	}
	writeError(w, r, status, code, err.Error())
}

func classify(err error) (int, string) {
	var bad *badRequest
	switch {
	case errors.As(err, &bad), errors.Is(err, approvals.ErrReasonRequired),
		errors.Is(err, approvals.ErrInvalidText), errors.Is(err, approvals.ErrIdentityRequired):
		return http.StatusBadRequest, codeBadRequest
	case errors.Is(err, approvals.ErrSelfApproval), errors.Is(err, approvals.ErrAlreadyApproved):
		return http.StatusForbidden, codeSeparation
	case errors.Is(err, approvals.ErrNotApprover):
		return http.StatusForbidden, codeNotApprover
	case errors.Is(err, approvals.ErrNoRequest), errors.Is(err, state.ErrNotFound),
		errors.Is(err, scanners.ErrNoResult), errors.Is(err, errNotFound),
		errors.Is(err, approvals.ErrNoPluginRequest):
		return http.StatusNotFound, codeNotFound
	case errors.Is(err, approvals.ErrNotPending), errors.Is(err, approvals.ErrExpired),
		errors.Is(err, approvals.ErrOutOfOrder), errors.Is(err, approvals.ErrStepComplete),
		errors.Is(err, errBusy), errors.Is(err, pipeline.ErrPluginNotApproved):
		return http.StatusConflict, codeConflict
	}
	return http.StatusInternalServerError, codeInternal
}

// badRequest marks invalid input from the caller.
type badRequest struct{ msg string }

func (e *badRequest) Error() string { return e.msg }

func badRequestf(format string, args ...any) error {
	return &badRequest{fmt.Sprintf(format, args...)}
}

var errNotFound = errors.New("not found")

// decodeBody decodes a JSON request body of at most 1 MiB into v,
// rejecting unknown fields.
func decodeBody(r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(nil, r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return badRequestf("invalid JSON body: %v", err)
	}
	return nil
}

// page is one page of a list response.
type page[T any] struct {
	Items         []T    `json:"items"`
	NextPageToken string `json:"nextPageToken,omitempty"`
}

// paginate cuts items by the limit (default 50, at most 500) and
// pageToken query parameters. A page token is an opaque offset.
func paginate[T any](r *http.Request, items []T) (page[T], error) {
	limit := 50
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 500 {
			return page[T]{}, badRequestf("invalid limit %q: use 1 to 500", v)
		}
		limit = n
	}
	offset := 0
	if v := r.URL.Query().Get("pageToken"); v != "" {
		raw, err := base64.RawURLEncoding.DecodeString(v)
		n, perr := strconv.Atoi(strings.TrimPrefix(string(raw), "o:"))
		if err != nil || perr != nil || !strings.HasPrefix(string(raw), "o:") || n < 0 {
			return page[T]{}, badRequestf("invalid pageToken %q: pass nextPageToken from the previous page", v)
		}
		offset = n
	}
	p := page[T]{Items: []T{}}
	if offset < len(items) {
		end := min(offset+limit, len(items))
		p.Items = items[offset:end]
		if end < len(items) {
			p.NextPageToken = base64.RawURLEncoding.EncodeToString([]byte("o:" + strconv.Itoa(end)))
		}
	}
	return p, nil
}

// statusWriter records the status code for metrics.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// instrument counts requests and their duration by route pattern.
func (s *Server) instrument(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(sw, r)
		pattern := r.Pattern
		if pattern == "" {
			pattern = "unmatched"
		}
		s.metrics.observeHTTP(pattern, sw.status, time.Since(start))
	})
}
