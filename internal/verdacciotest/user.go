package verdacciotest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"
)

// addUser creates the publish user through the CouchDB-style endpoint that
// npm adduser uses, PUT /-/user/org.couchdb.user:<name>, and keeps the
// token from the response. When the user already exists (Verdaccio returns
// 409), it sends the same request with Basic credentials, which Verdaccio
// treats as a login, also returning a token.
func (s *Server) addUser(ctx context.Context) error {
	token, status, err := s.putUser(ctx, false)
	if err == nil && status == http.StatusConflict {
		token, status, err = s.putUser(ctx, true)
	}
	if err != nil {
		return err
	}
	if status != http.StatusCreated && status != http.StatusOK {
		return fmt.Errorf("create verdaccio user %s: status %d", s.User, status)
	}
	if token == "" {
		return fmt.Errorf("create verdaccio user %s: reply carries no token", s.User)
	}
	s.Token = token
	return nil
}

func (s *Server) putUser(ctx context.Context, login bool) (token string, status int, err error) {
	body, err := json.Marshal(map[string]any{
		"_id":      "org.couchdb.user:" + s.User,
		"name":     s.User,
		"password": s.Password,
		"email":    s.User + "@sluice.invalid",
		"type":     "user",
		"roles":    []string{},
		"date":     time.Now().UTC().Format(time.RFC3339),
	})
	if err != nil {
		return "", 0, err
	}

	endpoint := s.URL + "/-/user/org.couchdb.user:" + url.PathEscape(s.User)
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, endpoint, bytes.NewReader(body))
	if err != nil {
		return "", 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	if login {
		req.SetBasicAuth(s.User, s.Password)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", 0, fmt.Errorf("create verdaccio user %s: %w", s.User, err)
	}
	defer resp.Body.Close()

	reply, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", 0, fmt.Errorf("read reply to creating verdaccio user %s: %w", s.User, err)
	}
	if resp.StatusCode == http.StatusConflict {
		return "", resp.StatusCode, nil
	}
	if resp.StatusCode >= 300 {
		return "", resp.StatusCode, fmt.Errorf("create verdaccio user %s: status %d: %s",
			s.User, resp.StatusCode, reply)
	}
	var parsed struct {
		Token string `json:"token"`
	}
	if err := json.Unmarshal(reply, &parsed); err != nil {
		return "", resp.StatusCode, fmt.Errorf("parse reply to creating verdaccio user %s: %w",
			s.User, err)
	}
	return parsed.Token, resp.StatusCode, nil
}
