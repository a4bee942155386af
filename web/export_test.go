package web

import (
	"net/http"

	"github.com/paygate/paygate"
)

// InjectBase exposes injectBase to the tests.
var InjectBase = injectBase

// SignInForTest signs u of merchant m in to d without the sign-in flow (the
// second factor counts as given) and returns the session cookie to send.
// Page tests use it to run as a given user; the forms' CSRF token is
// DashboardCSRFForTest's.
func SignInForTest(d *Dashboard, u *paygate.User, m *paygate.Merchant) *http.Cookie {
	token := "test_" + paygate.RandomToken(32)
	d.testMu.Lock()
	if d.testSessions == nil {
		d.testSessions = map[string]*signIn{}
	}
	d.testSessions[token] = &signIn{User: u, Merchant: m, SessionID: "dss_test_" + token, Verified: true}
	d.testMu.Unlock()
	return &http.Cookie{Name: d.sessionCookieName(), Value: token}
}

// DashboardCSRFForTest returns the CSRF token of the forms shown to the
// session of cookie c (from SignInForTest).
func DashboardCSRFForTest(d *Dashboard, c *http.Cookie) string {
	d.testMu.Lock()
	defer d.testMu.Unlock()
	s := d.testSessions[c.Value]
	if s == nil {
		return ""
	}
	return d.csrfToken("session", s.SessionID)
}

// DashboardRoutesForTest returns the patterns of d's route table
// ("GET /dashboard/payments/{id}", ...).
func DashboardRoutesForTest(d *Dashboard) []string {
	var out []string
	for _, rt := range d.routes() {
		out = append(out, rt.pattern)
	}
	return out
}
