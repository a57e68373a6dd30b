package harbor

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/sluice-dev/sluice/ingest/fetch"
)

// Sentinel errors that an *Error matches with errors.Is, by HTTP status.
var (
	ErrUnauthorized = errors.New("unauthorized")
	ErrForbidden    = errors.New("forbidden")
	ErrNotFound     = errors.New("not found")
	ErrConflict     = errors.New("conflict")
)

// ErrorDetail is one entry of Harbor's error body,
// {"errors":[{"code":"...","message":"..."}]}.
type ErrorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Error is a non-2xx response from Harbor, after retries.
type Error struct {
	Op       string // the operation, such as "create project"
	Project  string // the project concerned, empty for system-level calls
	Username string // the account the request authenticated as
	Method   string
	Path     string // below /api/v2.0
	Status   int
	// Code and Message are the first entry of Harbor's error body; Details
	// holds every entry. Message is the raw body start when the body is not
	// Harbor's error shape.
	Code      string
	Message   string
	Details   []ErrorDetail
	RequestID string // the X-Request-Id to look for in Harbor's logs
	Attempts  int
	// Need names the permission the operation requires, for 403 messages.
	Need string
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "harbor: %s", e.Op)
	if e.Project != "" {
		fmt.Fprintf(&b, " in project %q", e.Project)
	}
	fmt.Fprintf(&b, ": %s %s: status %d", e.Method, e.Path, e.Status)
	if e.Code != "" {
		fmt.Fprintf(&b, " %s", e.Code)
	}
	if e.Message != "" {
		fmt.Fprintf(&b, ": %s", e.Message)
	}
	switch e.Status {
	case http.StatusUnauthorized:
		if e.Username == "" {
			b.WriteString("; the request had no credentials: configure a user or robot account")
		} else {
			fmt.Fprintf(&b, "; Harbor rejected the credentials of %q: check the username and the "+
				"password or robot secret", e.Username)
		}
	case http.StatusForbidden:
		fmt.Fprintf(&b, "; account %q lacks the permission", e.Username)
		if e.Need != "" {
			fmt.Fprintf(&b, " %s", e.Need)
		}
		b.WriteString(": grant it in Harbor or use another account")
	}
	fmt.Fprintf(&b, " (request id %s", e.RequestID)
	if e.Attempts > 1 {
		fmt.Fprintf(&b, ", after %d attempts", e.Attempts)
	}
	b.WriteString(")")
	return b.String()
}

// Is matches the sentinel errors by status.
func (e *Error) Is(target error) bool {
	switch target {
	case ErrUnauthorized:
		return e.Status == http.StatusUnauthorized
	case ErrForbidden:
		return e.Status == http.StatusForbidden
	case ErrNotFound:
		return e.Status == http.StatusNotFound
	case ErrConflict:
		return e.Status == http.StatusConflict
	}
	return false
}

// newError builds an *Error from the transport's status error, parsing
// Harbor's error body when it has that shape.
func newError(k call, se *fetch.StatusError, requestID string, username string) *Error {
	e := &Error{Op: k.op, Project: k.project, Username: username, Method: k.method, Path: k.path,
		Status: se.Status, RequestID: requestID, Attempts: se.Attempts, Need: k.need}
	var body struct {
		Errors []ErrorDetail `json:"errors"`
	}
	if err := json.Unmarshal([]byte(se.Body), &body); err == nil && len(body.Errors) > 0 {
		e.Details = body.Errors
		e.Code, e.Message = body.Errors[0].Code, body.Errors[0].Message
	} else {
		e.Message = se.Body
	}
	return e
}
