package web_test

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/paygate/paygate"
	"github.com/paygate/paygate/internal/gatewaytest"
	"github.com/paygate/paygate/web"
	"github.com/pquerna/otp/totp"
)

// browser is a client with a cookie jar that does not follow redirects.
type browser struct {
	t      *testing.T
	base   string
	client *http.Client
}

func newBrowser(t *testing.T, base string) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, base: base, client: &http.Client{Jar: jar, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (b *browser) do(method, path string, form url.Values) (int, string, string) {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, b.base+path, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := b.client.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Location"), string(out)
}

var dashCSRFRe = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// submit GETs page, then POSTs form to action with the page's CSRF token.
func (b *browser) submit(page, action string, form url.Values) (int, string, string) {
	b.t.Helper()
	_, _, body := b.do("GET", page, nil)
	m := dashCSRFRe.FindStringSubmatch(body)
	if m == nil {
		b.t.Fatalf("GET %s: no CSRF field in\n%s", page, body)
	}
	form.Set("csrf", m[1])
	return b.do("POST", action, form)
}

func code(t *testing.T, secret string, at time.Time) string {
	t.Helper()
	c, err := totp.GenerateCode(secret, at)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// inviteUser creates a user of the test merchant and returns the path of
// their set-password link.
func inviteUser(t *testing.T, gw *gatewaytest.Gateway, email string, role paygate.Role) string {
	t.Helper()
	u, err := paygate.NewUser(gw.Merchant.ID, email, role, gw.Clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	token, tok := paygate.NewSetPasswordToken(u, gw.Clock.Now())
	if err := gw.Users.CreateUser(context.Background(), u, tok, nil); err != nil {
		t.Fatal(err)
	}
	return strings.TrimPrefix(web.SetPasswordLink("", token), "")
}

const testPassword = "purple monkey dishwasher"

func TestSignIn(t *testing.T) {
	gw := gatewaytest.MustOpen(t, gatewaytest.Options{Postgres: gatewaytest.PostgresIfSet(t)})
	b := newBrowser(t, gw.Server.URL())
	// Addresses are unique across the gateway, and a PostgreSQL test
	// database outlives the test: each run has its own.
	run := paygate.RandomToken(8)
	ann, vic := "ann-"+run+"@example.com", "vic-"+run+"@example.com"
	// Failed sign-ins from 127.0.0.1 that earlier runs left in that
	// database are outside the window from here on.
	gw.Clock.Advance(3 * paygate.SignInWindow)

	link := inviteUser(t, gw, ann, paygate.RoleAdmin)
	if st, loc, body := b.submit(link, "/dashboard/set-password", url.Values{"token": {tokenOf(link)}, "password": {"short"}, "confirm": {"short"}}); st != 422 {
		t.Fatalf("short password: %d %s %s", st, loc, body)
	}
	if st, loc, _ := b.submit(link, "/dashboard/set-password", url.Values{"token": {tokenOf(link)}, "password": {testPassword}, "confirm": {testPassword}}); st != 303 || !strings.Contains(loc, "done=password") {
		t.Fatalf("set password: %d %s", st, loc)
	}
	if st, _, _ := b.submit(link, "/dashboard/set-password", url.Values{"token": {tokenOf(link)}, "password": {testPassword}, "confirm": {testPassword}}); st != 404 {
		t.Errorf("link used twice: %d, want 404", st)
	}

	// An admin without a second factor must enrol before anything else.
	st, loc, _ := b.submit("/dashboard/login", "/dashboard/login", url.Values{"email": {strings.ToUpper(ann[:1]) + ann[1:]}, "password": {testPassword}})
	if st != 303 || loc != "/dashboard/" {
		t.Fatalf("sign in: %d %s", st, loc)
	}
	if _, loc, _ := b.do("GET", "/dashboard/users", nil); loc != "/dashboard/account/totp" {
		t.Fatalf("before enrolment: to %q, want the enrolment page", loc)
	}
	_, _, page := b.do("GET", "/dashboard/account/totp", nil)
	secret := regexp.MustCompile(`class="secret"[^>]*>([A-Z2-7]+)<`).FindStringSubmatch(page)
	if secret == nil {
		t.Fatalf("no secret on the enrolment page:\n%s", page)
	}
	if st, _, png := b.do("GET", "/dashboard/account/totp/qr.png", nil); st != 200 || !strings.HasPrefix(png, "\x89PNG") {
		t.Errorf("QR image: %d", st)
	}
	enrolCode := code(t, secret[1], gw.Clock.Now())
	st, _, codes := b.submit("/dashboard/account/totp", "/dashboard/account/totp", url.Values{"code": {enrolCode}})
	recovery := regexp.MustCompile(`<li>([0-9a-z]{5}-[0-9a-z]{5})</li>`).FindAllStringSubmatch(codes, -1)
	if st != 200 || len(recovery) != 10 {
		t.Fatalf("enrol: %d, %d recovery codes", st, len(recovery))
	}
	if st, _, _ := b.do("GET", "/dashboard/users", nil); st != 200 {
		t.Errorf("users page after enrolment: %d", st)
	}

	// Sign out, then in again with both factors.
	if st, loc, _ := b.submit("/dashboard/", "/dashboard/logout", url.Values{}); st != 303 || !strings.Contains(loc, "/dashboard/login") {
		t.Fatalf("logout: %d %s", st, loc)
	}
	if _, loc, _ := b.do("GET", "/dashboard/", nil); !strings.HasPrefix(loc, "/dashboard/login") {
		t.Fatalf("after logout: to %q", loc)
	}
	st, loc, _ = b.submit("/dashboard/login", "/dashboard/login", url.Values{"email": {ann}, "password": {testPassword}})
	if st != 303 || !strings.HasPrefix(loc, "/dashboard/login/totp") {
		t.Fatalf("password step: %d %s", st, loc)
	}
	if _, loc, _ := b.do("GET", "/dashboard/", nil); loc != "/dashboard/login/totp" {
		t.Errorf("half signed in: to %q, want the code step", loc)
	}
	// The enrolment's code does not work twice (the same code: the clock,
	// the wall clock's, may have moved to the next 30 seconds since).
	if st, _, _ := b.submit("/dashboard/login/totp", "/dashboard/login/totp", url.Values{"code": {enrolCode}}); st != 401 {
		t.Errorf("code reused: %d, want 401", st)
	}
	gw.Clock.Advance(30 * time.Second)
	if st, loc, _ := b.submit("/dashboard/login/totp", "/dashboard/login/totp", url.Values{"code": {code(t, secret[1], gw.Clock.Now())}}); st != 303 || loc != "/dashboard/" {
		t.Fatalf("code step: %d %s", st, loc)
	}
	// A recovery code works once too.
	b.submit("/dashboard/", "/dashboard/logout", url.Values{})
	b.submit("/dashboard/login", "/dashboard/login", url.Values{"email": {ann}, "password": {testPassword}})
	if st, _, _ := b.submit("/dashboard/login/totp", "/dashboard/login/totp", url.Values{"code": {recovery[0][1]}}); st != 303 {
		t.Errorf("recovery code: %d", st)
	}

	// The admin invites a viewer, who may not see the Users page.
	st, _, body := b.submit("/dashboard/users", "/dashboard/users", url.Values{"email": {vic}, "role": {"viewer"}})
	inv := regexp.MustCompile(`id="invite-link">[^<]*(/dashboard/set-password\?token=[^<]+)<`).FindStringSubmatch(body)
	if st != 200 || inv == nil {
		t.Fatalf("invite: %d\n%s", st, body)
	}
	v := newBrowser(t, gw.Server.URL())
	v.submit(inv[1], "/dashboard/set-password", url.Values{"token": {tokenOf(inv[1])}, "password": {testPassword}, "confirm": {testPassword}})
	if st, loc, _ := v.submit("/dashboard/login", "/dashboard/login", url.Values{"email": {vic}, "password": {testPassword}}); st != 303 || loc != "/dashboard/" {
		t.Fatalf("viewer sign-in (no second factor needed): %d %s", st, loc)
	}
	if st, _, _ := v.do("GET", "/dashboard/", nil); st != 200 {
		t.Errorf("viewer overview: %d", st)
	}
	for _, p := range []string{"/dashboard/users", "/dashboard/audit"} {
		if st, _, _ := v.do("GET", p, nil); st != 403 {
			t.Errorf("viewer GET %s: %d, want 403", p, st)
		}
	}

	// Lock-out: five wrong passwords lock the address, even for the right one.
	x := newBrowser(t, gw.Server.URL())
	for i := range paygate.SignInMaxFailures {
		if st, _, _ := x.submit("/dashboard/login", "/dashboard/login", url.Values{"email": {vic}, "password": {"wrong password " + string(rune('a'+i))}}); st != 401 {
			t.Fatalf("wrong password %d: %d", i, st)
		}
	}
	if st, _, body := x.submit("/dashboard/login", "/dashboard/login", url.Values{"email": {vic}, "password": {testPassword}}); st != 429 || !strings.Contains(body, "locked") {
		t.Errorf("locked: %d", st)
	}
	gw.Clock.Advance(paygate.SignInWindow + time.Second)
	if st, _, _ := x.submit("/dashboard/login", "/dashboard/login", url.Values{"email": {vic}, "password": {testPassword}}); st != 303 {
		t.Errorf("after the lock: %d", st)
	}
	// The idle timeout: the first browser's session has been idle too long.
	if _, loc, _ := b.do("GET", "/dashboard/", nil); !strings.HasPrefix(loc, "/dashboard/login") {
		t.Errorf("idle session: to %q, want sign-in", loc)
	}

	// The audit log has it all.
	entries, err := gw.Audit.AuditLog(context.Background(), gw.Merchant.ID, paygate.AuditFilter{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, e := range entries {
		seen[e.Action]++
		if e.IP != "127.0.0.1" {
			t.Errorf("%s from %q", e.Action, e.IP)
		}
	}
	for _, a := range []string{"user.set_password", "user.totp_enrol", "user.sign_in", "user.sign_out", "user.invite", "user.sign_in_failed"} {
		if seen[a] == 0 {
			t.Errorf("no %s in the audit log (%v)", a, seen)
		}
	}
}

func tokenOf(link string) string {
	u, _ := url.Parse(link)
	return u.Query().Get("token")
}
