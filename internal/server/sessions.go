package server

import (
	"crypto/subtle"
	"net/http"
	"net/url"
	"sync"
	"time"
)

// Review page sessions. The page runs without the identity provider being
// reachable, so a reviewer signs in by pasting a bearer token (an OIDC
// token from the provider, or a static API token); the server verifies it
// like an API call and keeps the identity in a server-side session named
// by an HttpOnly, SameSite=Strict cookie (Secure under TLS). Each session
// has its own CSRF token, which every form posts back.
const (
	sessionCookie = "sluice_session"
	sessionTTL    = 8 * time.Hour
)

type session struct {
	id      *Identity
	csrf    string
	expires time.Time
}

type sessions struct {
	mu     sync.Mutex
	byID   map[string]*session
	secure bool
}

func newSessions() *sessions { return &sessions{byID: map[string]*session{}} }

// create starts a session for id and sets its cookie.
func (ss *sessions) create(w http.ResponseWriter, id *Identity) {
	sid := newID(32)
	ss.mu.Lock()
	now := time.Now()
	for k, s := range ss.byID {
		if now.After(s.expires) {
			delete(ss.byID, k)
		}
	}
	ss.byID[sid] = &session{id: id, csrf: newID(32), expires: now.Add(sessionTTL)}
	ss.mu.Unlock()
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: sid, Path: "/ui", HttpOnly: true,
		Secure: ss.secure, SameSite: http.SameSiteStrictMode, MaxAge: int(sessionTTL.Seconds())})
}

// get returns the request's live session.
func (ss *sessions) get(r *http.Request) *session {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return nil
	}
	ss.mu.Lock()
	defer ss.mu.Unlock()
	s := ss.byID[c.Value]
	if s == nil || time.Now().After(s.expires) {
		delete(ss.byID, c.Value)
		return nil
	}
	return s
}

// end removes the request's session and its cookie.
func (ss *sessions) end(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(sessionCookie); err == nil {
		ss.mu.Lock()
		delete(ss.byID, c.Value)
		ss.mu.Unlock()
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/ui", HttpOnly: true,
		Secure: ss.secure, SameSite: http.SameSiteStrictMode, MaxAge: -1})
}

// validPost reports whether a form post carries the session's CSRF token
// and, when the browser sends an Origin, comes from this server.
func (s *session) validPost(r *http.Request) bool {
	if origin := r.Header.Get("Origin"); origin != "" {
		u, err := url.Parse(origin)
		if err != nil || u.Host != r.Host {
			return false
		}
	}
	token := r.PostFormValue("csrf")
	return token != "" && subtle.ConstantTimeCompare([]byte(token), []byte(s.csrf)) == 1
}
