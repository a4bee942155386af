package web_test

import (
	"bytes"
	"encoding/csv"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/paygate/paygate"
	"github.com/paygate/paygate/internal/gatewaytest"
	"github.com/paygate/paygate/web"
)

// site is a test gateway's dashboard with a signed-in user of each role
// (enrolled in TOTP where the role needs it), for HTTP-level page tests.
type site struct {
	t       *testing.T
	gw      *gatewaytest.Gateway
	users   map[paygate.Role]*paygate.User
	cookies map[paygate.Role]*http.Cookie
}

func newSite(t *testing.T, gw *gatewaytest.Gateway) *site {
	t.Helper()
	s := &site{t: t, gw: gw, users: map[paygate.Role]*paygate.User{}, cookies: map[paygate.Role]*http.Cookie{}}
	run := paygate.RandomToken(6)
	for _, role := range paygate.Roles {
		u, err := paygate.NewUser(gw.Merchant.ID, string(role)+"-"+run+"@example.com", role, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		u.TOTPSecret = "JBSWY3DPEHPK3PXP"
		s.users[role] = u
		s.cookies[role] = web.SignInForTest(gw.Node.Dashboard, u, gw.Merchant)
	}
	return s
}

// get fetches path as role, without following redirects.
func (s *site) get(role paygate.Role, path string) (int, string) {
	s.t.Helper()
	req, _ := http.NewRequest("GET", s.gw.URL()+path, nil)
	return s.do(role, req)
}

// post submits form to path as role, with the session's CSRF token.
func (s *site) post(role paygate.Role, path string, form url.Values) (int, string) {
	s.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	form.Set("csrf", web.DashboardCSRFForTest(s.gw.Node.Dashboard, s.cookies[role]))
	req, _ := http.NewRequest("POST", s.gw.URL()+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return s.do(role, req)
}

func (s *site) do(role paygate.Role, req *http.Request) (int, string) {
	s.t.Helper()
	if c := s.cookies[role]; c != nil {
		req.AddCookie(c)
	}
	resp, body := dashDo(s.t, req)
	if resp.StatusCode == http.StatusSeeOther {
		return resp.StatusCode, resp.Header.Get("Location")
	}
	return resp.StatusCode, body
}

// csv downloads path as role and parses it.
func (s *site) csv(role paygate.Role, path string) [][]string {
	s.t.Helper()
	req, _ := http.NewRequest("GET", s.gw.URL()+path, nil)
	req.AddCookie(s.cookies[role])
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/csv") {
		s.t.Fatalf("GET %s: %d %s\n%s", path, resp.StatusCode, resp.Header.Get("Content-Type"), b)
	}
	rows, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
	if err != nil {
		s.t.Fatalf("GET %s: not CSV: %v", path, err)
	}
	return rows
}

// noCardNumbers fails the test if a page shows more of a test card than
// its last 4.
func noCardNumbers(t *testing.T, name, page string) {
	t.Helper()
	for _, pan := range []string{"4242424242424242", "424242******", "4000000000000002"} {
		if strings.Contains(page, pan) {
			t.Errorf("page %s shows more of a card than its last 4", name)
		}
	}
}

// postgresFromEnv is the PostgreSQL DSN of the tests that run on one
// engine: PostgreSQL when PAYGATE_TEST_POSTGRES is set, else SQLite ("").
func postgresFromEnv(t testing.TB) string { return gatewaytest.PostgresIfSet(t) }
