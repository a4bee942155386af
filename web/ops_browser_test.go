package web_test

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/paygate/paygate"
	"github.com/paygate/paygate/internal/browsertest"
	"github.com/paygate/paygate/internal/gatewaytest"
)

// An admin in a real browser closes a batch out of balance from the
// Batches page through its confirmation, accepts it with a reason typed
// in, and reads the Deposits and the Outbox, wide and on a phone's width.
func TestSettlementInBrowser(t *testing.T) {
	t.Parallel() // each has its own gateway and Chromium
	ctx := browsertest.New(t)
	gw := gatewaytest.MustOpen(t, gatewaytest.Options{Postgres: postgresFromEnv(t), Quiet: true})
	settler := gatewaytest.NewSettler(gw.Gateway)
	gw.Gateway.Settler = settler
	s := newSite(t, gw)
	c := s.cookies[paygate.RoleAdmin]
	base := gw.URL()
	if _, err := chromedp.Call(ctx, network.SetCookie, network.SetCookieParams{Name: c.Name, Value: c.Value, URL: base}); err != nil {
		t.Fatal(err)
	}
	card := &paygate.Card{Number: "4242424242424242", ExpMonth: 12, ExpYear: time.Now().Year() + 3, CVC: "123"}
	var rrn string
	for i, amount := range []int64{4250, 1999, 12000} {
		p, err := gw.Gateway.CreatePayment(t.Context(), gw.Merchant, paygate.PaymentRequest{Amount: amount, Currency: "USD", Card: card,
			Capture: true, ReceiptEmail: "buyer@example.com", OrderID: "web-" + string(rune('a'+i))})
		if err != nil {
			t.Fatal(err)
		}
		rrn = p.RRN
	}
	settler.Change(rrn, 11900)
	if _, err := gw.Gateway.OpenBatch(t.Context(), gw.Merchant, paygate.Currency{Code: "USD", Exponent: 2}); err != nil {
		t.Fatal(err)
	}
	gw.Clock.Advance(time.Second)

	shot := func(name string) {
		browsertest.Screenshot(t, ctx, "ops-"+name)
		browsertest.Do(t, ctx, "narrow", chromedp.EmulateViewport(390, 844))
		browsertest.Screenshot(t, ctx, "ops-"+name+"-narrow")
		browsertest.Do(t, ctx, "wide", chromedp.EmulateViewport(1280, 900))
	}
	browsertest.Do(t, ctx, "batches", chromedp.EmulateViewport(1280, 900), chromedp.Navigate(base+"/dashboard/batches"),
		chromedp.WaitVisible(byCSS("table.batches-open")))
	shot("batches")
	browsertest.Do(t, ctx, "close now", chromedp.Click(byCSS(`table.batches-open a.button`)),
		chromedp.WaitVisible(byCSS("form.confirm-form button[type=submit]")))
	browsertest.Do(t, ctx, "confirm close", chromedp.Click(byCSS("form.confirm-form button[type=submit]")),
		chromedp.WaitVisible(byCSS("table.differences")))
	shot("batch-out-of-balance")
	if text := browsertest.Text(t, ctx); !strings.Contains(text, "Out of balance") || !strings.Contains(text, "$119.00") {
		t.Errorf("batch page reads:\n%s", text)
	}
	browsertest.Do(t, ctx, "accept", chromedp.Click(byCSS(`a[href$="/accept"]`)), chromedp.WaitVisible(byCSS("#reason")),
		chromedp.SendKeys(byCSS("#reason"), "Acquirer confirmed by phone, ticket 42"))
	shot("batch-accept")
	browsertest.Do(t, ctx, "confirm accept", chromedp.Click(byCSS("form.confirm-form button[type=submit]")),
		chromedp.WaitVisible(byCSS(".notice.ok")))
	shot("batch-settled")
	browsertest.Do(t, ctx, "deposits", chromedp.Navigate(base+"/dashboard/deposits"), chromedp.WaitVisible(byCSS("table.deposits")))
	shot("deposits")
	if text := browsertest.Text(t, ctx); !strings.Contains(text, "$182.49") {
		t.Errorf("deposits page reads:\n%s", text)
	}
	browsertest.Do(t, ctx, "outbox", chromedp.Navigate(base+"/dashboard/outbox"), chromedp.WaitVisible(byCSS("table.outbox")))
	shot("outbox")
	browsertest.Do(t, ctx, "a mail", chromedp.Click(byCSS(`table.outbox a`)), chromedp.WaitVisible(byCSS("pre.mail-text")))
	shot("mail")
	if html := browsertest.Get(t, ctx, "read", chromedp.OuterHTML(byCSS("html"))); strings.Contains(html, "4242424242424242") {
		t.Errorf("mail page shows the card number")
	}
}
