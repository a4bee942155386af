package web_test

import (
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/paygate/paygate"
	"github.com/paygate/paygate/internal/browsertest"
	"github.com/paygate/paygate/internal/gatewaytest"
)

// TestDashboardBrowser signs in through Chromium with a password and a
// TOTP code (computed here), is refused a forged form (CSRF), signs out,
// and is locked out after repeated failures.
func TestDashboardBrowser(t *testing.T) {
	t.Parallel() // its own gateway and Chromium
	gw := gatewaytest.MustOpen(t, gatewaytest.Options{})
	base := gw.Server.URL()
	// Ann is an admin with a password and a second factor, set up over HTTP.
	b := newBrowser(t, base)
	link := inviteUser(t, gw, "ann@example.com", paygate.RoleAdmin)
	b.submit(link, "/dashboard/set-password", url.Values{"token": {tokenOf(link)}, "password": {testPassword}, "confirm": {testPassword}})
	b.submit("/dashboard/login", "/dashboard/login", url.Values{"email": {"ann@example.com"}, "password": {testPassword}})
	_, _, page := b.do("GET", "/dashboard/account/totp", nil)
	secret := regexp.MustCompile(`class="secret"[^>]*>([A-Z2-7]+)<`).FindStringSubmatch(page)[1]
	b.submit("/dashboard/account/totp", "/dashboard/account/totp", url.Values{"code": {code(t, secret, gw.Clock.Now())}})
	gw.Clock.Advance(30 * time.Second)

	ctx := browsertest.New(t)
	text := func(sel string) string {
		return browsertest.Get(t, ctx, "read "+sel, chromedp.Text(chromedp.CSS(sel)))
	}
	browsertest.Do(t, ctx, "password step",
		chromedp.Navigate(base+"/dashboard/users"),
		chromedp.WaitVisible(chromedp.CSS("#email")),
		chromedp.SendKeys(chromedp.CSS("#email"), "ann@example.com"),
		chromedp.SendKeys(chromedp.CSS("#password"), testPassword),
		chromedp.Click(chromedp.CSS(`form[action="/dashboard/login"] button`)),
		chromedp.WaitVisible(chromedp.CSS("#code")))
	browsertest.Screenshot(t, ctx, "dashboard-login-code")
	browsertest.Do(t, ctx, "code step",
		chromedp.SendKeys(chromedp.CSS("#code"), code(t, secret, gw.Clock.Now())),
		chromedp.Click(chromedp.CSS(`form[action="/dashboard/login/totp"] button`)),
		chromedp.WaitVisible(chromedp.CSS("#invite")))
	if loc := browsertest.Location(t, ctx); !strings.HasSuffix(loc, "/dashboard/users") {
		t.Errorf("after sign-in: at %s, want the page first asked for", loc)
	}
	if got := text("main"); !strings.Contains(got, "ann@example.com") {
		t.Errorf("users page: %q", got)
	}

	// A form whose CSRF token was tampered with is refused.
	browsertest.Do(t, ctx, "forged form",
		chromedp.SetAttributeValue(chromedp.CSS(`form[action="/dashboard/users"] input[name=csrf]`), "value", "forged"),
		chromedp.SendKeys(chromedp.CSS("#email"), "mallory@example.com"),
		chromedp.Click(chromedp.CSS(`form[action="/dashboard/users"] button`)),
		chromedp.WaitVisible(chromedp.CSS("#message")))
	if got := text("#message"); got != "This request was refused" {
		t.Errorf("forged form: %q", got)
	}
	if _, err := gw.Users.UserByEmail(t.Context(), "mallory@example.com"); err == nil {
		t.Error("the forged form created a user")
	}

	// Sign out: the dashboard asks to sign in again.
	browsertest.Do(t, ctx, "sign out",
		chromedp.Navigate(base+"/dashboard/"),
		chromedp.Click(chromedp.CSS(`form[action="/dashboard/logout"] button`)),
		chromedp.WaitVisible(chromedp.CSS("#email")))
	if got := text("main"); !strings.Contains(got, "You have signed out") {
		t.Errorf("after sign-out: %q", got)
	}

	// Five wrong passwords lock the account.
	for i := range paygate.SignInMaxFailures {
		browsertest.Do(t, ctx, "wrong password",
			chromedp.Navigate(base+"/dashboard/login"),
			chromedp.WaitVisible(chromedp.CSS("#email")),
			chromedp.SendKeys(chromedp.CSS("#email"), "ann@example.com"),
			chromedp.SendKeys(chromedp.CSS("#password"), "not the password "+string(rune(97+i))),
			chromedp.Click(chromedp.CSS(`form[action="/dashboard/login"] button`)),
			chromedp.WaitVisible(chromedp.CSS("#login-error")))
	}
	browsertest.Do(t, ctx, "right password, locked",
		chromedp.Navigate(base+"/dashboard/login"),
		chromedp.WaitVisible(chromedp.CSS("#email")),
		chromedp.SendKeys(chromedp.CSS("#email"), "ann@example.com"),
		chromedp.SendKeys(chromedp.CSS("#password"), testPassword),
		chromedp.Click(chromedp.CSS(`form[action="/dashboard/login"] button`)),
		chromedp.WaitVisible(chromedp.CSS("#message")))
	if got := text("#message"); got != "This account is locked" {
		t.Errorf("locked: %q", got)
	}
}
