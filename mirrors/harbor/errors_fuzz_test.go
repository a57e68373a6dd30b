package harbor

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/sluice-dev/sluice/ingest/fetch"
)

// FuzzNewError feeds arbitrary error bodies to the parser of Harbor's
// error shape: it must not panic, and the message must keep the status
// and the request ID.
func FuzzNewError(f *testing.F) {
	f.Add(403, `{"errors":[{"code":"FORBIDDEN","message":"forbidden"}]}`)
	f.Add(401, `{"errors":[]}`)
	f.Add(500, `<html>bad gateway</html>`)
	f.Add(409, `{"errors":[{"code":1}]}`)
	f.Fuzz(func(t *testing.T, status int, body string) {
		k := call{op: "read project", project: "p", method: http.MethodGet, path: "/projects/p"}
		e := newError(k, &fetch.StatusError{Status: status, Body: body, Attempts: 1}, "id-1", "admin")
		msg := e.Error()
		if !strings.Contains(msg, "(request id id-1") || !strings.Contains(msg, "status ") {
			t.Errorf("message %q lacks the status or request id", msg)
		}
		if errors.Is(e, ErrForbidden) != (status == http.StatusForbidden) {
			t.Errorf("errors.Is(ErrForbidden) wrong for status %d", status)
		}
	})
}
