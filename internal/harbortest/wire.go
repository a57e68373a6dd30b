package harbortest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
)

// timestamp is the creation and update time of every resource, so responses
// are reproducible.
const timestamp = "2026-01-02T03:04:05.000Z"

// errorBody is Harbor's Errors definition.
type errorBody struct {
	Errors []errorItem `json:"errors"`
}

type errorItem struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, code, message string) {
	writeJSON(w, status, errorBody{Errors: []errorItem{{Code: code, Message: message}}})
}

func writeUnauthorized(w http.ResponseWriter) {
	writeError(w, http.StatusUnauthorized, "UNAUTHORIZED", "unauthorized")
}

func writeForbidden(w http.ResponseWriter) {
	writeError(w, http.StatusForbidden, "FORBIDDEN", "forbidden")
}

func badRequest(w http.ResponseWriter, format string, args ...any) {
	writeError(w, http.StatusBadRequest, "BAD_REQUEST", fmt.Sprintf(format, args...))
}

// created responds 201 with the Location of the new resource, the request
// path followed by its ID, as Harbor builds it.
func created(w http.ResponseWriter, r *http.Request, id int64) {
	w.Header().Set("Location", fmt.Sprintf("%s/%d", r.URL.Path, id))
	w.WriteHeader(http.StatusCreated)
}

// decodeBody decodes a JSON request body into v, a mirror of the
// contract's definition, and rejects fields the definition does not have
// and values of the wrong type. It writes the 400 response itself.
func decodeBody(w http.ResponseWriter, r *http.Request, definition string, v any) bool {
	data, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err == nil && len(bytes.TrimSpace(data)) == 0 {
		err = errors.New("the body is required")
	}
	if err == nil {
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.DisallowUnknownFields()
		err = dec.Decode(v)
	}
	if err != nil {
		badRequest(w, "invalid %s in request body: %v", definition, err)
		return false
	}
	return true
}

// paginate writes the response to a list call: it applies page and page_size (default
// 10, at most 100, as the contract's parameters define), and sets the
// X-Total-Count and Link headers.
func paginate[T any](w http.ResponseWriter, r *http.Request, all []T) {
	page, size := int64(1), int64(10)
	q := r.URL.Query()
	for name, dst := range map[string]*int64{"page": &page, "page_size": &size} {
		if v := q.Get(name); v != "" {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 1 {
				badRequest(w, "%s in query must be a positive integer, got %q", name, v)
				return
			}
			*dst = n
		}
	}
	if size > 100 {
		badRequest(w, "page_size in query should be less than or equal to 100")
		return
	}
	total := int64(len(all))
	start := min((page-1)*size, total)
	end := min(start+size, total)
	w.Header().Set("X-Total-Count", strconv.FormatInt(total, 10))
	if end < total {
		next := url.Values{}
		for k, v := range q {
			next[k] = v
		}
		next.Set("page", strconv.FormatInt(page+1, 10))
		w.Header().Set("Link", fmt.Sprintf(`<%s?%s>; rel="next"`, r.URL.Path, next.Encode()))
	}
	items := all[start:end]
	if items == nil {
		items = []T{}
	}
	writeJSON(w, http.StatusOK, items)
}
