package web_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/paygate/paygate"
	"github.com/paygate/paygate/client"
	"github.com/paygate/paygate/internal/browsertest"
	"github.com/paygate/paygate/internal/gatewaytest"
	"github.com/paygate/paygate/web"
)

// The Settings pages in a real browser: an operator is refused them; an
// admin changes the success URL and finds the change in the audit log,
// creates an API key whose secret is shown once and never again, and
// redelivers a webhook that had failed.
func TestSettingsInBrowser(t *testing.T) {
	t.Parallel() // each has its own gateway and Chromium
	ctx := browsertest.New(t)
	gw := gatewaytest.MustOpen(t, gatewaytest.Options{Postgres: gatewaytest.PostgresIfSet(t), Quiet: true})
	d := gw.Node.Dashboard
	base := gw.URL()
	signIn := func(role paygate.Role) {
		u, err := paygate.NewUser(gw.Merchant.ID, string(role)+"@example.com", role, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		u.TOTPSecret = "JBSWY3DPEHPK3PXP"
		c := web.SignInForTest(d, u, gw.Merchant)
		if _, err := chromedp.Call(ctx, network.SetCookie, network.SetCookieParams{Name: c.Name, Value: c.Value, URL: base}); err != nil {
			t.Fatalf("set the session cookie: %v", err)
		}
	}

	signIn(paygate.RoleOperator)
	browsertest.Do(t, ctx, "operator opens settings", chromedp.Navigate(base+"/dashboard/settings"), chromedp.WaitVisible(byCSS("h1")))
	if text := browsertest.Text(t, ctx); !strings.Contains(text, "You do not have access") || strings.Contains(text, "Success URL") {
		t.Errorf("operator's settings page reads:\n%s", text)
	}

	signIn(paygate.RoleAdmin)
	browsertest.Do(t, ctx, "change the success URL", chromedp.Navigate(base+"/dashboard/settings"),
		chromedp.WaitVisible(byCSS("#success_url")),
		chromedp.SetValue(byCSS("#allowed_origins"), "https://shop.example.com"),
		chromedp.SetValue(byCSS("#success_url"), "https://shop.example.com/paid"),
		chromedp.Click(byCSS("form.settings button[type=submit]")),
		chromedp.WaitVisible(byCSS(".notice.ok")))
	browsertest.Screenshot(t, ctx, "dashboard-settings")
	browsertest.Do(t, ctx, "narrow settings", chromedp.EmulateViewport(390, 844), chromedp.Reload(), chromedp.WaitVisible(byCSS("#success_url")))
	browsertest.Screenshot(t, ctx, "dashboard-settings-narrow")
	browsertest.Do(t, ctx, "wide again", chromedp.EmulateViewport(1280, 900))
	browsertest.Do(t, ctx, "audit log", chromedp.Navigate(base+"/dashboard/audit"), chromedp.WaitVisible(byCSS("table")))
	if text := browsertest.Text(t, ctx); !strings.Contains(text, "settings.update") || !strings.Contains(text, "success_url: (none) → https://shop.example.com/paid") {
		t.Errorf("audit log reads:\n%s", text)
	}

	// A key: its secret on the page that made it, then never again.
	browsertest.Do(t, ctx, "create a key", chromedp.Navigate(base+"/dashboard/settings/keys"),
		chromedp.WaitVisible(byCSS("#key-name")), chromedp.SendKeys(byCSS("#key-name"), "Checkout server"),
		chromedp.Click(byCSS(`form[action="/dashboard/settings/keys"] button[type=submit]`)),
		chromedp.WaitVisible(byCSS("#new-secret")))
	secret := browsertest.Get(t, ctx, "read the secret", chromedp.Text(byCSS("#new-secret")))
	browsertest.Screenshot(t, ctx, "dashboard-key-created")
	if !strings.HasPrefix(secret, "sk_") {
		t.Fatalf("new key page shows %q", secret)
	}
	browsertest.Do(t, ctx, "keys again", chromedp.Navigate(base+"/dashboard/settings/keys"), chromedp.WaitVisible(byCSS("table.keys")))
	browsertest.Screenshot(t, ctx, "dashboard-keys")
	html := browsertest.Get(t, ctx, "read keys", chromedp.OuterHTML(byCSS("html")))
	if strings.Contains(html, secret) || !strings.Contains(html, "Checkout server") {
		t.Errorf("keys page (shows the secret: %v) lacks the key's name", strings.Contains(html, secret))
	}
	browsertest.Do(t, ctx, "back to the key's page", chromedp.NavigateBack(), chromedp.WaitReady(byCSS("body")))
	if html := browsertest.Get(t, ctx, "read", chromedp.OuterHTML(byCSS("html"))); strings.Contains(html, secret) {
		t.Error("going back shows the secret again")
	}

	// A webhook that fails, then is redelivered from its delivery log.
	var status atomic.Int32
	status.Store(500)
	shop := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(int(status.Load())) }))
	t.Cleanup(shop.Close)
	browsertest.Do(t, ctx, "add an endpoint", chromedp.Navigate(base+"/dashboard/settings/webhooks"),
		chromedp.WaitVisible(byCSS("#url")), chromedp.SendKeys(byCSS("#url"), shop.URL+"/hooks"),
		chromedp.Click(byCSS(`form[action="/dashboard/settings/webhooks"] button[type=submit]`)),
		chromedp.WaitVisible(byCSS("#new-secret")))
	bg := context.Background()
	if _, err := gw.Client().CreatePayment(bg, client.PaymentParams{Amount: 1250, Currency: "USD",
		Card: &client.CardParams{Number: cardOK, ExpMonth: 12, ExpYear: 2040, CVC: testCVC}}); err != nil {
		t.Fatal(err)
	}
	if _, err := gw.Gateway.DeliverWebhooks(bg); err != nil {
		t.Fatal(err)
	}
	browsertest.Do(t, ctx, "endpoint page", chromedp.Click(byCSS("a.button.secondary")), chromedp.WaitVisible(byCSS("table.deliveries")))
	browsertest.Screenshot(t, ctx, "dashboard-webhook")
	if text := browsertest.Text(t, ctx); !strings.Contains(text, "HTTP 500") || !strings.Contains(text, "pending") {
		t.Errorf("endpoint page after a failure reads:\n%s", text)
	}
	status.Store(204)
	browsertest.Do(t, ctx, "redeliver", chromedp.Click(byCSS(`button[aria-label^="Redeliver"]`)), chromedp.WaitVisible(byCSS(".notice.ok")))
	if _, err := gw.Gateway.DeliverWebhooks(bg); err != nil {
		t.Fatal(err)
	}
	browsertest.Do(t, ctx, "reload", chromedp.Reload(), chromedp.WaitVisible(byCSS("table.deliveries")))
	if text := browsertest.Text(t, ctx); !strings.Contains(text, "delivered") || !strings.Contains(text, "HTTP 204") {
		t.Errorf("endpoint page after the redelivery reads:\n%s", text)
	}
}
