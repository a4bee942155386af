package demoshop_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/paygate/paygate"
	"github.com/paygate/paygate/client"
	"github.com/paygate/paygate/demoshop"
	"github.com/paygate/paygate/internal/browsertest"
	"github.com/paygate/paygate/internal/gatewaytest"
)

// The browser tests drive a real headless Chromium through the demo shop
// and the gateway's payment page, as a customer does: click, type, submit,
// follow the redirect, read the page. With PAYGATE_SCREENSHOTS=dir they
// leave a screenshot of every page they read there.

func css(sel string) chromedp.CSS { return chromedp.CSS(sel) }

// tab is one customer's browser tab on the shop.
type tab struct {
	t   *testing.T
	e   *env
	ctx context.Context
}

func (e *env) tab(t *testing.T, browser context.Context) *tab {
	return &tab{t: t, e: e, ctx: browsertest.Tab(t, browser)}
}

func (b *tab) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	browsertest.Do(b.t, b.ctx, what, steps...)
}

func (b *tab) text() string     { b.t.Helper(); return browsertest.Text(b.t, b.ctx) }
func (b *tab) location() string { b.t.Helper(); return browsertest.Location(b.t, b.ctx) }
func (b *tab) shot(name string) { b.t.Helper(); browsertest.Screenshot(b.t, b.ctx, name) }
func (b *tab) textOf(sel string) string {
	b.t.Helper()
	return strings.TrimSpace(browsertest.Get(b.t, b.ctx, "read "+sel, chromedp.Text(css(sel))))
}

// buy opens the shop and clicks one of its buy buttons; it returns once
// the gateway's payment page shows.
func (b *tab) buy(button string) (sessionID string) {
	b.t.Helper()
	b.do("open the shop and click "+button, chromedp.Navigate(b.e.srv.URL+"/"), chromedp.Click(css(button)),
		chromedp.WaitVisible(css("#cc-number")))
	loc := b.location()
	if !strings.HasPrefix(loc, b.e.g.URL()+"/pay/cs_") {
		b.t.Fatalf("after %s: at %s, want the gateway's payment page", button, loc)
	}
	return strings.TrimPrefix(loc, b.e.g.URL()+"/pay/")
}

// pay types a card on the gateway's page and clicks Pay; wait is what shows
// next.
func (b *tab) pay(number, wait string) {
	b.t.Helper()
	b.do("type the card and pay",
		chromedp.Clear(css("#cc-number")), chromedp.SendKeys(css("#cc-number"), number),
		chromedp.Clear(css("#cc-exp-month")), chromedp.SendKeys(css("#cc-exp-month"), "12"),
		chromedp.Clear(css("#cc-exp-year")), chromedp.SendKeys(css("#cc-exp-year"), yearPlus(3)),
		chromedp.Clear(css("#cc-csc")), chromedp.SendKeys(css("#cc-csc"), "123"),
		chromedp.Click(css("form.pay-form button[type=submit]")),
		chromedp.WaitVisible(css(wait)))
}

func yearPlus(n int) string { return time.Now().AddDate(n, 0, 0).Format("06") }

// payments lists the payments made for a session's order.
func (e *env) payments(t *testing.T, sessionID string) []*paygate.Payment {
	t.Helper()
	s, _, err := e.g.Gateway.SessionResult(ctx, e.g.Merchant, sessionID)
	if err != nil {
		t.Fatal(err)
	}
	list, _, err := e.g.Payments.Payments(ctx, paygate.PaymentFilter{MerchantID: e.g.Merchant.ID, OrderID: s.OrderID, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	return list
}

func (e *env) orderOf(t *testing.T, sessionID string) demoshop.Order {
	t.Helper()
	for _, o := range e.shop.Orders() {
		if o.SessionID == sessionID {
			return o
		}
	}
	t.Fatalf("the shop has no order for session %s", sessionID)
	return demoshop.Order{}
}

func TestBrowser(t *testing.T) {
	t.Parallel() // each has its own gateway, shop and Chromium
	browser := browsertest.New(t)
	e := mustStart(t, gatewaytest.Options{})

	t.Run("redirect: decline, then retry, approved", func(t *testing.T) {
		b := e.tab(t, browser)
		id := b.buy("#buy-redirect")
		b.shot("gateway-payment-page")
		b.do("type a name", chromedp.SendKeys(css("#cc-name"), "Ada Lovelace"))
		b.pay(decline, ".notice[role=alert]")
		b.shot("gateway-declined-once")
		alert := b.textOf(".notice[role=alert]")
		if !strings.Contains(alert, "2") || !strings.Contains(strings.ToLower(alert), "declin") && !strings.Contains(alert, "not approve") {
			t.Errorf("after a decline the page says %q; want the decline and the 2 tries left", alert)
		}
		number := browsertest.Get(t, b.ctx, "read the number", chromedp.Value(css("#cc-number")))
		name := browsertest.Get(t, b.ctx, "read the name", chromedp.Value(css("#cc-name")))
		if number != "" || name != "Ada Lovelace" {
			t.Errorf("after a decline: number %q, name %q; want the number cleared and the name kept", number, name)
		}
		if strings.Contains(b.text(), decline) {
			t.Errorf("the page shows the declined card number")
		}
		b.pay(approve, "#receipt")
		b.shot("shop-receipt-redirect")
		if !strings.HasPrefix(b.location(), e.srv.URL+"/return?") {
			t.Errorf("after approval: at %s, want the shop's return URL", b.location())
		}
		s, p, err := e.g.Gateway.SessionResult(ctx, e.g.Merchant, id)
		if err != nil {
			t.Fatal(err)
		}
		if got := b.textOf("#outcome"); got != "approved" || b.textOf("#confirmation-number") != p.ConfirmationNumber {
			t.Errorf("shop receipt: outcome %q, confirmation %q; want approved, %s", got, b.textOf("#confirmation-number"), p.ConfirmationNumber)
		}
		if s.AckedAt.IsZero() || s.Sequence != 2 {
			t.Errorf("session after the shop's receipt: acked %v, sequence %d; want acked, 2", s.AckedAt, s.Sequence)
		}
		if o := e.orderOf(t, id); o.Fulfilled != 1 {
			t.Errorf("order fulfilled %d times, want once", o.Fulfilled)
		}

		// The back button: the payment page either says it was paid, or (a
		// page the browser kept) shows its old form, which pays nothing
		// again: submitting it leads to the same result. The back button is
		// pressed once the script that presses it has returned: a
		// navigation that starts while Chromium answers the script fails
		// the call ("Inspected target navigated or closed").
		if _, err := chromedp.Run(b.ctx, chromedp.Evaluate[any]("setTimeout(() => history.back(), 0)")); err != nil {
			t.Fatalf("back: %v", err)
		}
		b.do("wait for the payment page", chromedp.WaitVisible(css(".status, form.pay-form")))
		b.shot("gateway-back-after-payment")
		if txt := b.text(); !strings.Contains(txt, "Payment successful") {
			if !strings.Contains(txt, "Pay with card") {
				t.Fatalf("back on the payment page after paying: %q", txt)
			}
			b.pay(approve, "#receipt")
			if got := b.textOf("#outcome"); got != "approved" {
				t.Errorf("the old form submitted again: the shop says %q", got)
			}
		}
		if o := e.orderOf(t, id); o.Fulfilled != 1 {
			t.Errorf("order fulfilled %d times after the back button, want once", o.Fulfilled)
		}
		if n := len(e.payments(t, id)); n != 2 {
			t.Errorf("payments for the order: %d, want 2 (one decline, one approval)", n)
		}
	})

	t.Run("double submit pays once", func(t *testing.T) {
		b := e.tab(t, browser)
		id := b.buy("#buy-redirect")
		b.do("type the card and double-click Pay",
			chromedp.SendKeys(css("#cc-number"), approve), chromedp.SendKeys(css("#cc-exp-month"), "12"),
			chromedp.SendKeys(css("#cc-exp-year"), yearPlus(2)), chromedp.SendKeys(css("#cc-csc"), "123"),
			chromedp.DoubleClick(css("form.pay-form button[type=submit]")),
			chromedp.WaitVisible(css("#receipt")))
		if n := len(e.payments(t, id)); n != 1 {
			t.Errorf("a double click made %d payments, want 1", n)
		}
		if got := b.textOf("#outcome"); got != "approved" {
			t.Errorf("after a double click the shop says %q", got)
		}
		// A refresh of the receipt does not fulfil the order again.
		b.do("refresh the receipt", chromedp.Reload(), chromedp.WaitVisible(css("#receipt")))
		if o := e.orderOf(t, id); o.Fulfilled != 1 {
			t.Errorf("order fulfilled %d times after a refresh, want once", o.Fulfilled)
		}
	})

	t.Run("proxy: the shop's page on the gateway's URL", func(t *testing.T) {
		b := e.tab(t, browser)
		id := b.buy("#buy-proxy")
		b.pay(approve, "#receipt")
		b.shot("shop-receipt-relayed-by-proxy")
		if loc := b.location(); !strings.HasPrefix(loc, e.g.URL()+"/pay/"+id) {
			t.Errorf("proxy receipt at %s, want the gateway's URL", loc)
		}
		if got := b.textOf("#outcome"); got != "approved" {
			t.Errorf("relayed page says %q, want approved", got)
		}
		if o := e.orderOf(t, id); o.Fulfilled != 1 {
			t.Errorf("proxy order fulfilled %d times, want once", o.Fulfilled)
		}
		// Its links lead to the shop.
		b.do("follow the shop's link", chromedp.Click(css("#back")), chromedp.WaitVisible(css("#buy-proxy")))
		if loc := b.location(); !strings.HasPrefix(loc, e.srv.URL) {
			t.Errorf("the relayed page's link led to %s, want the shop", loc)
		}
	})

	t.Run("proxy: the shop is down", func(t *testing.T) {
		b := e.tab(t, browser)
		id := b.buy("#buy-proxy")
		e.shop.ProxyDown.Store(true)
		b.pay(approve, ".receipt")
		e.shop.ProxyDown.Store(false)
		b.shot("gateway-receipt-shop-down")
		_, p, err := e.g.Gateway.SessionResult(ctx, e.g.Merchant, id)
		if err != nil {
			t.Fatal(err)
		}
		if txt := b.text(); !strings.Contains(txt, "Payment successful") || !strings.Contains(txt, p.ConfirmationNumber) {
			t.Errorf("with the shop down the customer sees %q; want the gateway's receipt with %s", txt, p.ConfirmationNumber)
		}
		if o := e.orderOf(t, id); o.Fulfilled != 0 {
			t.Errorf("order fulfilled %d times while the shop was down", o.Fulfilled)
		}
		e.g.Clock.Advance(paygate.DeliveryRetries[0] + time.Second)
		if n, err := e.g.Gateway.RetryDeliveries(ctx); err != nil || n != 1 {
			t.Fatalf("RetryDeliveries: %d, %v; want 1", n, err)
		}
		if o := e.orderOf(t, id); o.Fulfilled != 1 {
			t.Errorf("after the retry the order was fulfilled %d times, want once", o.Fulfilled)
		}
		trace, err := e.g.Gateway.Payment(ctx, e.g.Merchant, p.ID)
		if err != nil {
			t.Fatal(err)
		}
		var events []string
		for _, te := range trace.Trace {
			if te.Kind == "proxy" {
				events = append(events, te.Event)
			}
		}
		if strings.Join(events, ",") != "delivery_failed,delivered" {
			t.Errorf("deliveries on the trace: %v, want delivery_failed then delivered", events)
		}
	})

	t.Run("signed form", func(t *testing.T) {
		b := e.tab(t, browser)
		id := b.buy("#buy-form")
		b.pay(approve, "#receipt")
		b.shot("shop-receipt-signed-form")
		if got := b.textOf("#outcome"); got != "approved" {
			t.Errorf("signed form: the shop says %q", got)
		}
		if o := e.orderOf(t, id); o.Fulfilled != 1 {
			t.Errorf("signed-form order fulfilled %d times, want once", o.Fulfilled)
		}
	})

	t.Run("direct API", func(t *testing.T) {
		b := e.tab(t, browser)
		b.do("pay on the shop's own form", chromedp.Navigate(e.srv.URL+"/"), chromedp.Click(css("#buy-direct")),
			chromedp.WaitVisible(css("#card-number")),
			chromedp.SendKeys(css("#card-number"), approve),
			chromedp.Clear(css("#card-exp-month")), chromedp.SendKeys(css("#card-exp-month"), "11"),
			chromedp.Clear(css("#card-exp-year")), chromedp.SendKeys(css("#card-exp-year"), "20"+yearPlus(2)),
			chromedp.SendKeys(css("#card-cvc"), "123"),
			chromedp.Click(css("#pay-direct")), chromedp.WaitVisible(css("#receipt")))
		b.shot("shop-receipt-direct")
		if got := b.textOf("#outcome"); got != "approved" || b.textOf("#confirmation-number") == "" {
			t.Errorf("direct payment: the shop says %q, confirmation %q", got, b.textOf("#confirmation-number"))
		}
	})

	t.Run("cancel", func(t *testing.T) {
		b := e.tab(t, browser)
		id := b.buy("#buy-redirect")
		b.do("cancel", chromedp.Click(css("form.cancel-form button")), chromedp.WaitVisible(css("#outcome")))
		if got := b.textOf("#outcome"); got != "canceled" || len(e.payments(t, id)) != 0 {
			t.Errorf("cancel: the shop says %q, %d payments", got, len(e.payments(t, id)))
		}
	})

	t.Run("tampered redirect", func(t *testing.T) {
		b := e.tab(t, browser)
		id := b.buy("#buy-redirect")
		b.pay(approve, "#receipt")
		u, err := url.Parse(b.location())
		if err != nil {
			t.Fatal(err)
		}
		q := u.Query()
		q.Set("amount", "1")
		q.Set("session_id", id)
		u.RawQuery = q.Encode()
		b.do("open the result with a changed amount", chromedp.Navigate(u.String()), chromedp.WaitVisible(css("#error")))
		b.shot("shop-tampered-result")
		if got := b.textOf("#error"); !strings.Contains(got, demoshop.BadSignatureMessage) {
			t.Errorf("tampered result: the shop says %q", got)
		}
		if o := e.orderOf(t, id); o.Fulfilled != 1 {
			t.Errorf("order fulfilled %d times after a tampered result, want once", o.Fulfilled)
		}
	})

	t.Run("foreign return URL", func(t *testing.T) {
		// A page whose signed form sends the result off the merchant's
		// origins: the gateway refuses it, and opens no session.
		fields, err := client.SignForm(client.FormParams{MerchantID: e.g.Merchant.ID, Amount: 1999, Currency: "USD",
			OrderID: "evil-1", ReturnURL: "https://evil.example.net/steal"}, e.g.Clock.Now(), e.shop.SigningSecret)
		if err != nil {
			t.Fatal(err)
		}
		var form strings.Builder
		form.WriteString(`<form method="post" action="` + e.g.URL() + `/pay">`)
		for k := range fields {
			form.WriteString(`<input type="hidden" name="` + k + `" value="` + htmlEscape(fields.Get(k)) + `">`)
		}
		form.WriteString(`<button id="go">Pay</button></form>`)
		page := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			w.Write([]byte(form.String()))
		}))
		defer page.Close()
		b := e.tab(t, browser)
		b.do("post the form", chromedp.Navigate(page.URL), chromedp.Click(css("#go")), chromedp.WaitVisible(css("h1")))
		b.shot("gateway-foreign-return-url")
		if txt := b.text(); !strings.Contains(txt, "not valid") || !strings.Contains(txt, "has not registered") {
			t.Errorf("foreign return URL: the gateway says %q", txt)
		}
		if list, _, _ := e.g.Payments.Payments(ctx, paygate.PaymentFilter{MerchantID: e.g.Merchant.ID, OrderID: "evil-1", Limit: 10}); len(list) != 0 {
			t.Errorf("a payment was made for the refused form")
		}
	})

	t.Run("expired session", func(t *testing.T) {
		b := e.tab(t, browser)
		id := b.buy("#buy-redirect")
		e.g.Clock.Advance(paygate.DefaultSessionLifetime + time.Minute)
		b.do("come back later", chromedp.Reload(), chromedp.WaitVisible(css("h1")))
		b.shot("gateway-expired")
		if txt := b.text(); !strings.Contains(txt, "expired") || strings.Contains(txt, "Pay with card") {
			t.Errorf("expired session page: %q", txt)
		}
		if n := len(e.payments(t, id)); n != 0 {
			t.Errorf("expired session: %d payments", n)
		}
	})
}

func htmlEscape(s string) string {
	return strings.NewReplacer(`&`, "&amp;", `"`, "&quot;", `<`, "&lt;", `>`, "&gt;").Replace(s)
}
