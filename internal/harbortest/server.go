// Package harbortest is a fake Harbor for tests: an in-memory server on
// 127.0.0.1 that serves the part of Harbor's REST API v2.0 that Sluice
// calls (ping, current user, projects, robot accounts, artifacts and tags,
// tag immutability rules and tag retention policies) the way Harbor v2.15.2
// does: the status codes, Location and X-Total-Count headers, the
// {"errors":[{"code","message"}]} error body, 409 on name conflicts, 401
// for missing or wrong credentials and 403 for accounts without the
// permission. It checks request bodies against the contract's definitions
// and rejects fields the definitions do not have, which is stricter than
// Harbor (Harbor ignores unknown fields), so a misspelled field fails a test
// instead of being dropped silently. Hooks inject faults: 5xx responses and
// 429 with Retry-After.
//
// With WithRegistry it also serves the OCI registry protocol (/v2/) by
// proxying it to a real registry, behind the fake's users, robots and
// permissions, so images pushed through it appear in the artifact calls.
package harbortest

import (
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Administrator credentials of every fake Harbor.
const (
	AdminUser     = "admin"
	AdminPassword = "Harbor12345"
)

// Request is one request the fake received, for inspection.
type Request struct {
	Method    string
	Path      string // escaped, as sent
	Query     string
	Status    int
	RequestID string
	Time      time.Time
	// User is the basic auth username the request carried, valid or not,
	// and "" without credentials.
	User string
}

// Server is a running fake Harbor.
type Server struct {
	// URL is the base address to give a Harbor client, without /api/v2.0.
	URL string

	srv         *httptest.Server
	robotPrefix string
	registryURL string
	registry    *url.URL // nil unless WithRegistry was given

	mu         sync.Mutex
	nextID     map[string]int64
	users      map[string]*user
	projects   map[int64]*project
	robots     map[int64]*robot
	retentions map[int64]*retention
	faults     []fault
	requests   []Request
	// registryIDs keeps the IDs given to artifacts, repositories and tags
	// read from the registry, by kind and name.
	registryIDs map[string]int64
	// scans are the scan summaries of artifacts read from the registry,
	// by digest.
	scans map[string]*Scan
}

type user struct {
	id       int64
	name     string
	password string
	admin    bool
}

// fault is one scripted response that replaces the response to the next request.
type fault struct {
	status     int
	retryAfter time.Duration
	// afterHandling runs the request first, so its change is made, and
	// then discards the real response.
	afterHandling bool
	method        string // the fault waits for a request of this method; any when empty
}

// Option configures a Server.
type Option func(*Server)

// WithUser adds a local user. A non-administrator is a member of no
// project, so it can read public projects and nothing else.
func WithUser(name, password string, admin bool) Option {
	return func(s *Server) {
		s.users[name] = &user{id: s.newID("user"), name: name, password: password, admin: admin}
	}
}

// WithRobotPrefix sets the prefix of robot account names (Harbor's
// robot_name_prefix setting, "robot$" by default).
func WithRobotPrefix(prefix string) Option { return func(s *Server) { s.robotPrefix = prefix } }

// New starts a fake Harbor on 127.0.0.1 with the administrator AdminUser
// and stops it when the test ends.
func New(t testing.TB, opts ...Option) *Server {
	t.Helper()
	s := &Server{robotPrefix: "robot$", nextID: map[string]int64{}, users: map[string]*user{}, projects: map[int64]*project{},
		robots: map[int64]*robot{}, retentions: map[int64]*retention{}, registryIDs: map[string]int64{},
		scans: map[string]*Scan{}}
	s.users[AdminUser] = &user{id: s.newID("user"), name: AdminUser, password: AdminPassword, admin: true}
	for _, o := range opts {
		o(s)
	}
	if s.registryURL != "" {
		u, err := parseRegistry(s.registryURL)
		if err != nil {
			t.Fatal(err)
		}
		s.registry = u
	}
	s.srv = httptest.NewServer(s.routes())
	s.URL = s.srv.URL
	t.Cleanup(s.srv.Close)
	return s
}

// FailNext makes the next n API requests fail with status (a 5xx, say)
// and Harbor's error body.
func (s *Server) FailNext(n, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.faults = append(s.faults, fault{status: status})
	}
}

// FailNextAfterHandling makes the next n API requests of method take
// effect and then fail with status, as when Harbor commits a change but
// the response is lost to a proxy error. A client that retries a POST then
// meets its own earlier change. Requests of other methods pass.
func (s *Server) FailNextAfterHandling(method string, n, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.faults = append(s.faults, fault{status: status, afterHandling: true, method: method})
	}
}

// nextFault removes and returns the first fault that applies to a request
// of method.
func (s *Server) nextFault(method string) (fault, bool) {
	for i, f := range s.faults {
		if f.method == "" || f.method == method {
			s.faults = append(s.faults[:i:i], s.faults[i+1:]...)
			return f, true
		}
	}
	return fault{}, false
}

// ThrottleNext makes the next n API requests respond 429 Too Many Requests
// with a Retry-After header of retryAfter, rounded up to whole seconds.
func (s *Server) ThrottleNext(n int, retryAfter time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.faults = append(s.faults, fault{status: http.StatusTooManyRequests, retryAfter: retryAfter})
	}
}

// Requests returns the requests received so far, oldest first.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// logRequest appends a request to the log. The caller holds s.mu.
func (s *Server) logRequest(r *http.Request, status int, requestID string) {
	user, _, _ := r.BasicAuth()
	s.requests = append(s.requests, Request{Method: r.Method, Path: r.URL.EscapedPath(),
		Query: r.URL.RawQuery, Status: status, RequestID: requestID, Time: time.Now(), User: user})
}

// newID returns the next ID of a kind of resource, counting from 1 for
// each kind as Harbor's database tables do.
func (s *Server) newID(kind string) int64 {
	s.nextID[kind]++
	return s.nextID[kind]
}

// statusRecorder keeps the status a handler wrote, for the request log.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(status int) {
	r.status = status
	r.ResponseWriter.WriteHeader(status)
}

// Unwrap lets http.ResponseController reach the connection's writer, for
// the registry proxy's flushes.
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// serve runs the common steps of every request: the request ID, the log,
// scripted faults, authentication and the state lock.
func (s *Server) serve(h func(w http.ResponseWriter, r *http.Request, caller identity)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get("X-Request-Id")
		if id == "" {
			var b [8]byte
			_, _ = rand.Read(b[:])
			id = hex.EncodeToString(b[:])
		}
		w.Header().Set("X-Request-Id", id)
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		s.mu.Lock()
		defer s.mu.Unlock()
		defer func() {
			s.logRequest(r, rec.status, id)
		}()
		if f, ok := s.nextFault(r.Method); ok {
			if f.retryAfter > 0 {
				secs := int((f.retryAfter + time.Second - 1) / time.Second)
				rec.Header().Set("Retry-After", strconv.Itoa(secs))
			}
			if f.afterHandling {
				h(httptest.NewRecorder(), r, s.authenticate(r))
			}
			code := "UNKNOWN"
			if f.status == http.StatusTooManyRequests {
				code = "TOO_MANY_REQUEST"
			}
			writeError(rec, f.status, code, "injected fault: "+http.StatusText(f.status))
			return
		}
		h(rec, r, s.authenticate(r))
	}
}

// identity is the security context of a request: anonymous, a local user
// or a robot account.
type identity struct {
	user  *user
	robot *robot
}

func (i identity) anonymous() bool { return i.user == nil && i.robot == nil }
func (i identity) admin() bool     { return i.user != nil && i.user.admin }

// authenticate resolves basic auth the way Harbor does: wrong credentials
// leave the request anonymous, and the handler then returns 401 where it
// needs an account.
func (s *Server) authenticate(r *http.Request) identity {
	name, password, ok := r.BasicAuth()
	if !ok {
		return identity{}
	}
	if u := s.users[name]; u != nil && u.password == password {
		return identity{user: u}
	}
	for _, rb := range s.robots {
		if s.robotName(rb) == name && rb.secret == password && !rb.disabled {
			return identity{robot: rb}
		}
	}
	return identity{}
}

// routes maps the contract's paths, below /api/v2.0, to handlers.
func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	handle := func(pattern string, h func(http.ResponseWriter, *http.Request, identity)) {
		method, path, _ := strings.Cut(pattern, " ")
		mux.Handle(method+" /api/v2.0"+path, s.serve(h))
	}
	handle("GET /ping", s.ping)
	handle("GET /health", s.health)
	handle("GET /users/current", s.currentUser)
	handle("HEAD /projects", s.headProject)
	handle("GET /projects", s.listProjects)
	handle("POST /projects", s.createProject)
	handle("GET /projects/{project}", s.getProject)
	handle("PUT /projects/{project}", s.updateProject)
	handle("GET /robots", s.listRobots)
	handle("POST /robots", s.createRobot)
	handle("GET /robots/{id}", s.getRobot)
	handle("PUT /robots/{id}", s.updateRobot)
	handle("PATCH /robots/{id}", s.refreshRobotSecret)
	handle("GET /projects/{project}/repositories/{repo}/artifacts/{ref}", s.getArtifact)
	handle("GET /projects/{project}/repositories/{repo}/artifacts/{ref}/tags", s.listTags)
	handle("GET /projects/{project}/immutabletagrules", s.listImmutableRules)
	handle("POST /projects/{project}/immutabletagrules", s.createImmutableRule)
	handle("PUT /projects/{project}/immutabletagrules/{id}", s.updateImmutableRule)
	handle("POST /retentions", s.createRetention)
	handle("GET /retentions/{id}", s.getRetention)
	handle("PUT /retentions/{id}", s.updateRetention)
	mux.HandleFunc("/v2/", s.serveRegistry)
	mux.Handle("/", s.serve(func(w http.ResponseWriter, r *http.Request, _ identity) {
		writeError(w, http.StatusNotFound, "NOT_FOUND", "no route for "+r.Method+" "+r.URL.Path+
			" in the fake Harbor")
	}))
	return mux
}

func (s *Server) ping(w http.ResponseWriter, _ *http.Request, _ identity) {
	w.Header().Set("Content-Type", "text/plain")
	_, _ = w.Write([]byte("Pong"))
}

func (s *Server) health(w http.ResponseWriter, _ *http.Request, _ identity) {
	writeJSON(w, http.StatusOK, map[string]any{"status": "healthy", "components": []map[string]string{
		{"name": "core", "status": "healthy"}, {"name": "registry", "status": "healthy"},
	}})
}

func (s *Server) currentUser(w http.ResponseWriter, _ *http.Request, caller identity) {
	switch {
	case caller.robot != nil:
		writeError(w, http.StatusPreconditionFailed, "PRECONDITION",
			"get current user not available for security context: robot")
	case caller.user == nil:
		writeUnauthorized(w)
	default:
		u := caller.user
		writeJSON(w, http.StatusOK, map[string]any{"user_id": u.id, "username": u.name,
			"sysadmin_flag": u.admin, "admin_role_in_auth": false, "email": u.name + "@example.invalid",
			"realname": u.name, "comment": "", "creation_time": timestamp, "update_time": timestamp})
	}
}
