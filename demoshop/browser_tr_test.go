package demoshop_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/paygate/paygate"
	"github.com/paygate/paygate/internal/browsertest"
	"github.com/paygate/paygate/internal/gatewaytest"
)

// trPay opens the shop's transparent redirect form from its home page,
// types the card and pays; wait is what shows next, on the shop.
func (b *tab) trPay(number, wait string) {
	b.t.Helper()
	b.do("open the shop and its own card form", chromedp.Navigate(b.e.srv.URL+"/"), chromedp.Click(css("#buy-tr")),
		chromedp.WaitVisible(css("#tr-form")))
	if loc := b.location(); loc != b.e.srv.URL+"/tr" {
		b.t.Fatalf("the card form is at %s, want the shop's %s/tr", loc, b.e.srv.URL)
	}
	b.shot("shop-tr-form")
	b.do("type the card and pay",
		chromedp.SendKeys(css("#tr-card-number"), number),
		chromedp.SendKeys(css("#tr-card-expiration"), "12"+yearPlus(3)),
		chromedp.SendKeys(css("#tr-card-verification"), "123"),
		chromedp.SendKeys(css("#tr-first-name"), "Ada"),
		chromedp.SendKeys(css("#tr-last-name"), "Lovelace"),
		chromedp.Click(css("#pay-tr")),
		chromedp.WaitVisible(css(wait)))
}

// TestBrowserTransparentRedirect: the shop's own page, on its own origin,
// posts the card form to the gateway's /tr; the browser lands on the
// shop's success page, or its decline page, and the card never reaches
// the shop.
func TestBrowserTransparentRedirect(t *testing.T) {
	t.Parallel() // each has its own gateway, shop and Chromium
	browser := browsertest.New(t)
	e := mustStart(t, gatewaytest.Options{})
	if shop, gw := originOf(t, e.srv.URL), originOf(t, e.g.URL()); shop == gw {
		t.Fatalf("the shop and the gateway share the origin %s", shop)
	}

	t.Run("approved", func(t *testing.T) {
		b := e.tab(t, browser)
		b.trPay(approve, "#receipt")
		b.shot("shop-tr-success")
		if !strings.Contains(string(e.seen.Bytes()), "GET /tr/success?") {
			t.Errorf("the shop's server never received the success page's request")
		}
		if loc := b.location(); !strings.HasPrefix(loc, e.srv.URL+"/tr/success?") {
			t.Errorf("after paying: at %s, want the shop's success page", loc)
		}
		id := b.textOf("#payment-id")
		p, err := e.g.Gateway.Payment(ctx, e.g.Merchant, id)
		if err != nil {
			t.Fatal(err)
		}
		if got := b.textOf("#outcome"); got != "approved" || p.Status != paygate.StatusCaptured || b.textOf("#confirmation-number") != p.ConfirmationNumber {
			t.Errorf("the shop says %q, confirmation %q; the payment is %s, %s", got, b.textOf("#confirmation-number"), p.Status, p.ConfirmationNumber)
		}
		// A refresh of the success page fulfils nothing again.
		b.do("refresh the success page", chromedp.Reload(), chromedp.WaitVisible(css("#receipt")))
		for _, o := range e.shop.Orders() {
			if o.PaymentID == id && o.Fulfilled != 1 {
				t.Errorf("order fulfilled %d times, want once", o.Fulfilled)
			}
		}
	})

	t.Run("declined", func(t *testing.T) {
		b := e.tab(t, browser)
		b.trPay(decline, "#declined")
		b.shot("shop-tr-decline")
		if loc := b.location(); !strings.HasPrefix(loc, e.srv.URL+"/tr/decline?") {
			t.Errorf("after a decline: at %s, want the shop's decline page", loc)
		}
		if got := b.textOf("#outcome"); got != "declined" {
			t.Errorf("the shop says %q, want declined", got)
		}
		// Trying again gives a new form, which pays.
		b.do("try again", chromedp.Click(css("#try-again")), chromedp.WaitVisible(css("#tr-form")))
		b.do("pay with another card",
			chromedp.SendKeys(css("#tr-card-number"), approve),
			chromedp.SendKeys(css("#tr-card-expiration"), "12"+yearPlus(3)),
			chromedp.SendKeys(css("#tr-card-verification"), "123"),
			chromedp.Click(css("#pay-tr")),
			chromedp.WaitVisible(css("#receipt")))
	})

	t.Run("a mistyped card", func(t *testing.T) {
		b := e.tab(t, browser)
		b.trPay("4242424242424241", "#error")
		b.shot("shop-tr-invalid-card")
		if got := b.textOf("#error"); got != "Card number is incorrect." {
			t.Errorf("the shop says %q, want the gateway's reason", got)
		}
	})

	t.Run("the amount changed in the browser", func(t *testing.T) {
		b := e.tab(t, browser)
		b.do("open the shop's card form", chromedp.Navigate(e.srv.URL+"/tr"), chromedp.WaitVisible(css("#tr-form")))
		b.do("change the hidden amount and pay",
			chromedp.SetAttributeValue(css(`input[name="transaction_amount"]`), "value", "0.01"),
			chromedp.SendKeys(css("#tr-card-number"), approve),
			chromedp.SendKeys(css("#tr-card-expiration"), "12"+yearPlus(3)),
			chromedp.SendKeys(css("#tr-card-verification"), "123"),
			chromedp.Click(css("#pay-tr")),
			chromedp.WaitVisible(css(".status-error")))
		b.shot("gateway-tr-refused")
		if txt := b.text(); !strings.Contains(txt, "could not be verified") || !strings.Contains(txt, "Nothing was charged") {
			t.Errorf("a changed amount: the page says %q", txt)
		}
		if loc := b.location(); loc != e.g.URL()+"/tr" {
			t.Errorf("a changed amount: at %s, want the gateway's page", loc)
		}
	})

	t.Run("the access key in the page", func(t *testing.T) {
		b := e.tab(t, browser)
		b.do("open the shop's card form", chromedp.Navigate(e.srv.URL+"/tr"), chromedp.WaitVisible(css("#tr-form")))
		// A page built wrong: the access key as a field of its own.
		b.do("add the access key to the form and pay",
			chromedp.SetAttributeValue(css(`input[name="tender_type"]`), "name", "api_accesskey"),
			chromedp.SetAttributeValue(css(`input[name="api_accesskey"]`), "value", e.shop.AccessKey),
			chromedp.SendKeys(css("#tr-card-number"), approve),
			chromedp.SendKeys(css("#tr-card-expiration"), "12"+yearPlus(3)),
			chromedp.SendKeys(css("#tr-card-verification"), "123"),
			chromedp.Click(css("#pay-tr")),
			chromedp.WaitVisible(css(".status-error")))
		b.shot("gateway-tr-security-violation")
		if txt := b.text(); !strings.Contains(txt, "Security Violation") || strings.Contains(txt, e.shop.AccessKey) {
			t.Errorf("the access key sent: the page says %q", txt)
		}
	})

	// The card went from the browser to the gateway only.
	seen := string(e.seen.Bytes())
	for _, s := range []string{approve, decline, "4242424242424241", e.shop.AccessKey} {
		if strings.Contains(seen, s) {
			t.Errorf("the shop's server received %q", s)
		}
	}
}

func originOf(t *testing.T, raw string) string {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u.Scheme + "://" + u.Host
}
