package harbor

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// User is the account the client authenticates as.
type User struct {
	ID       int64  `json:"user_id"`
	Username string `json:"username"`
	SysAdmin bool   `json:"sysadmin_flag"`
	// Robot is true for a robot account, which Harbor does not describe
	// through /users/current.
	Robot bool `json:"-"`
}

// Ping checks that Harbor's API server returns "Pong" for GET /ping. It
// needs no credentials.
func (c *Client) Ping(ctx context.Context) error {
	// The contract declares that /ping produces text/plain only, so the request
	// accepts that type: a negotiating server may return 406 to a request that accepts JSON only.
	resp, err := c.do(ctx, call{op: "ping", method: http.MethodGet, path: "/ping",
		header: http.Header{"Accept": {"text/plain"}}})
	if err != nil {
		return err
	}
	if body := strings.Trim(strings.TrimSpace(string(resp.body)), `"`); body != "Pong" {
		return fmt.Errorf("harbor: ping %s: got %q, want \"Pong\": is this a Harbor v2 API? (request id %s)",
			c.base, body, resp.requestID)
	}
	return nil
}

// CurrentUser returns the user the credentials belong to. Harbor returns
// 412 for robot accounts on this endpoint, after it has accepted their
// credentials, so a robot is returned with Robot set and its username.
func (c *Client) CurrentUser(ctx context.Context) (User, error) {
	var u User
	_, err := c.decode(ctx, call{op: "read current user", method: http.MethodGet, path: "/users/current"}, &u)
	var he *Error
	if errors.As(err, &he) && he.Status == http.StatusPreconditionFailed {
		return User{Username: c.username, Robot: true}, nil
	}
	return u, err
}

// Check pings Harbor and then checks the credentials, so that a wrong URL
// or password fails once, up front, with a message naming which.
func (c *Client) Check(ctx context.Context) (User, error) {
	if err := c.Ping(ctx); err != nil {
		return User{}, fmt.Errorf("harbor at %s is not reachable: %w", c.base, err)
	}
	if c.username == "" {
		return User{}, fmt.Errorf("harbor at %s: no credentials configured: set a user or robot account", c.base)
	}
	u, err := c.CurrentUser(ctx)
	if errors.Is(err, ErrUnauthorized) {
		return User{}, fmt.Errorf("harbor at %s rejected the credentials of %q: check the password or "+
			"robot secret: %w", c.base, c.username, err)
	}
	return u, err
}
