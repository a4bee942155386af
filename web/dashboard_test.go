package web_test

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/paygate/paygate"
	"github.com/paygate/paygate/web"
)

// dash is a dashboard on a bare gateway (no stores), for the tests of its
// shell: access rules, headers, CSRF.
func newBareDashboard(t *testing.T) (*web.Dashboard, *httptest.Server) {
	t.Helper()
	d := &web.Dashboard{Gateway: paygate.NewGateway(), CSRFKey: bytes.Repeat([]byte{7}, 32)}
	srv := httptest.NewServer(d)
	t.Cleanup(srv.Close)
	return d, srv
}

func testUser(t *testing.T, role paygate.Role) (*paygate.User, *paygate.Merchant) {
	t.Helper()
	m, err := paygate.NewMerchant("Blue Heron Books", "books@example.com", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	u, err := paygate.NewUser(m.ID, string(role)+"@example.com", role, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	u.TOTPSecret = "JBSWY3DPEHPK3PXP"
	return u, m
}

func dashGet(t *testing.T, srv *httptest.Server, path string, c *http.Cookie) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", srv.URL+path, nil)
	if c != nil {
		req.AddCookie(c)
	}
	return dashDo(t, req)
}

func dashPost(t *testing.T, srv *httptest.Server, path string, c *http.Cookie, form url.Values) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", srv.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if c != nil {
		req.AddCookie(c)
	}
	return dashDo(t, req)
}

func dashDo(t *testing.T, req *http.Request) (*http.Response, string) {
	t.Helper()
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func TestDashboardShell(t *testing.T) {
	d, srv := newBareDashboard(t)

	resp, _ := dashGet(t, srv, "/dashboard/", nil)
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/dashboard/login") {
		t.Fatalf("signed out: got %d to %q, want 303 to /dashboard/login", resp.StatusCode, resp.Header.Get("Location"))
	}

	viewer, m := testUser(t, paygate.RoleViewer)
	c := web.SignInForTest(d, viewer, m)
	resp, body := dashGet(t, srv, "/dashboard/", c)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("viewer overview: got %d, want 200\n%s", resp.StatusCode, body)
	}
	for _, want := range []string{"Blue Heron Books", viewer.Email, `href="#main"`, `<main id="main"`, `aria-current="page"`, "Payments"} {
		if !strings.Contains(body, want) {
			t.Errorf("overview lacks %q", want)
		}
	}
	for _, not := range []string{"/dashboard/users", "/dashboard/audit", "/dashboard/terminal", "<script"} {
		if strings.Contains(body, not) {
			t.Errorf("viewer's overview shows %q", not)
		}
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") || strings.Contains(csp, "script") {
		t.Errorf("CSP %q", csp)
	}
	if resp.Header.Get("Cache-Control") != "no-store" || resp.Header.Get("X-Frame-Options") != "DENY" {
		t.Errorf("headers %v", resp.Header)
	}

	admin, m := testUser(t, paygate.RoleAdmin)
	ca := web.SignInForTest(d, admin, m)
	_, body = dashGet(t, srv, "/dashboard/", ca)
	for _, want := range []string{"/dashboard/users", "/dashboard/audit", "/dashboard/terminal"} {
		if !strings.Contains(body, want) {
			t.Errorf("admin's overview lacks %q", want)
		}
	}

	// The stylesheet the layout links to is served.
	i := strings.Index(body, "/dashboard/assets/dashboard.")
	if i < 0 {
		t.Fatal("no stylesheet link")
	}
	href := body[i : i+strings.Index(body[i:], `"`)]
	resp, css := dashGet(t, srv, href, nil)
	if resp.StatusCode != 200 || !strings.Contains(css, ".mainnav") {
		t.Errorf("stylesheet %s: %d", href, resp.StatusCode)
	}

	// A POST without the session's token is refused, whatever the path.
	resp, _ = dashPost(t, srv, "/dashboard/logout", ca, url.Values{})
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("POST without csrf: got %d, want 403", resp.StatusCode)
	}
	resp, _ = dashPost(t, srv, "/dashboard/logout", ca, url.Values{"csrf": {web.DashboardCSRFForTest(d, c)}})
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("POST with another session's csrf: got %d, want 403", resp.StatusCode)
	}
}
