package server

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/sluice-dev/sluice/approvals"
)

// browserClient is an HTTP client with a cookie jar that does not follow
// redirects, like a browser session seen one response at a time.
func browserClient(t *testing.T) *http.Client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}
}

func postForm(t *testing.T, c *http.Client, target string, form url.Values, origin string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest("POST", target, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp, string(data)
}

func get(t *testing.T, c *http.Client, target string) (*http.Response, string) {
	t.Helper()
	resp, err := c.Get(target)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp, string(data)
}

var csrfField = regexp.MustCompile(`name="csrf" value="([0-9a-f]+)"`)

// TestReviewPageForms checks sign-in, the session cookie, and that a
// decision posted without the session's CSRF token, from another origin
// or by a role that may not decide is refused and changes nothing.
func TestReviewPageForms(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	f.sync(f.idp.token(t, "bob"))
	requestPage := f.url + "/ui/requests/" + lodashKey
	decide := requestPage + "/decide"

	t.Run("sign-in", func(t *testing.T) {
		c := browserClient(t)
		resp, _ := get(t, c, requestPage)
		if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/ui/login") {
			t.Fatalf("page without session = %d to %q, want redirect to login", resp.StatusCode, resp.Header.Get("Location"))
		}
		resp, body := postForm(t, c, f.url+"/ui/login", url.Values{"token": {"forged"}}, "")
		if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "sign-in failed") {
			t.Errorf("bad token sign-in = %d", resp.StatusCode)
		}
		resp, _ = postForm(t, c, f.url+"/ui/login", url.Values{"token": {f.idp.token(t, "rita")}}, "")
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("requester sign-in = %d, want 403", resp.StatusCode)
		}
		resp, _ = postForm(t, c, f.url+"/ui/login", url.Values{"token": {f.idp.token(t, "alice")},
			"next": {"https://evil.example/"}}, "")
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/ui/" {
			t.Fatalf("sign-in = %d to %q, want redirect to /ui/", resp.StatusCode, resp.Header.Get("Location"))
		}
		cookie := resp.Cookies()[0]
		if cookie.Name != sessionCookie || !cookie.HttpOnly || cookie.SameSite != http.SameSiteStrictMode {
			t.Errorf("session cookie = %+v, want HttpOnly and SameSite=Strict", cookie)
		}
	})

	signIn := func(user string) (*http.Client, string) {
		c := browserClient(t)
		resp, _ := postForm(t, c, f.url+"/ui/login", url.Values{"token": {f.idp.token(t, user)}}, "")
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("sign-in as %s = %d", user, resp.StatusCode)
		}
		_, page := get(t, c, requestPage)
		m := csrfField.FindStringSubmatch(page)
		if m == nil {
			t.Fatalf("no CSRF token on the request page of %s", user)
		}
		return c, m[1]
	}
	pending := func() {
		t.Helper()
		r, err := approvals.LoadRequest(f.srv.db, "npm/lodash@4.17.20")
		if err != nil {
			t.Fatal(err)
		}
		if r.Status != approvals.StatusPending {
			t.Fatalf("request is %s after a refused post, want pending", r.Status)
		}
	}

	alice, csrf := signIn("alice")
	refused := []struct {
		name   string
		client *http.Client
		form   url.Values
		origin string
	}{
		{"forged token", alice, url.Values{"csrf": {strings.Repeat("0", 64)}, "action": {"approve"}}, ""},
		{"missing token", alice, url.Values{"action": {"approve"}}, ""},
		{"other origin", alice, url.Values{"csrf": {csrf}, "action": {"approve"}}, "https://evil.example"},
		{"no session", browserClient(t), url.Values{"csrf": {csrf}, "action": {"approve"}}, ""},
	}
	for _, tt := range refused {
		t.Run(tt.name, func(t *testing.T) {
			resp, _ := postForm(t, tt.client, decide, tt.form, tt.origin)
			if resp.StatusCode != http.StatusForbidden {
				t.Errorf("status = %d, want 403", resp.StatusCode)
			}
			pending()
		})
	}
	t.Run("auditor may not decide", func(t *testing.T) {
		audrey, token := signIn("audrey")
		_, page := get(t, audrey, requestPage)
		if strings.Contains(page, `id="approve"`) {
			t.Error("the auditor sees the approve button")
		}
		resp, _ := postForm(t, audrey, decide, url.Values{"csrf": {token}, "action": {"approve"}}, "")
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("auditor approve = %d, want 403", resp.StatusCode)
		}
		pending()
	})
	t.Run("requester may not approve own request", func(t *testing.T) {
		bob, token := signIn("bob")
		resp, body := postForm(t, bob, decide, url.Values{"csrf": {token}, "action": {"approve"}}, f.url)
		if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "may not approve their own request") {
			t.Errorf("bob approve = %d, want 403 for separation of duties", resp.StatusCode)
		}
		pending()
	})
	t.Run("approve", func(t *testing.T) {
		resp, _ := postForm(t, alice, decide, url.Values{"csrf": {csrf}, "action": {"approve"},
			"reason": {"template functions unused"}}, f.url)
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("approve = %d, want 303", resp.StatusCode)
		}
		r, err := approvals.LoadRequest(f.srv.db, "npm/lodash@4.17.20")
		if err != nil {
			t.Fatal(err)
		}
		if r.Status != approvals.StatusApproved || r.Approvals[0].Via != "review-page" {
			t.Errorf("request = %s via %q, want approved via review-page", r.Status, r.Approvals[0].Via)
		}
	})
	t.Run("plugin page shows scripts and dependency diff", func(t *testing.T) {
		resp, page := get(t, alice, f.url+"/ui/requests/"+plugin11)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("plugin page = %d", resp.StatusCode)
		}
		for _, want := range []string{"install-scripts", "postinstall", "Compared with 1.0.0",
			`<td>added</td><td>debug</td><td></td><td>^4.3.0</td>`,
			`<td>changed</td><td>ms</td><td>^2.1.0</td><td>^2.1.3</td>`} {
			if !strings.Contains(page, want) {
				t.Errorf("plugin page lacks %q", want)
			}
		}
	})
	t.Run("sign out needs the token", func(t *testing.T) {
		resp, _ := postForm(t, alice, f.url+"/ui/logout", url.Values{}, "")
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("logout without CSRF token = %d, want 403", resp.StatusCode)
		}
		resp, _ = postForm(t, alice, f.url+"/ui/logout", url.Values{"csrf": {csrf}}, "")
		if resp.StatusCode != http.StatusSeeOther {
			t.Errorf("logout = %d, want 303", resp.StatusCode)
		}
		resp, _ = get(t, alice, f.url+"/ui/")
		if resp.StatusCode != http.StatusSeeOther {
			t.Errorf("index after logout = %d, want redirect to login", resp.StatusCode)
		}
	})
}
