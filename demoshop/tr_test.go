package demoshop_test

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/paygate/paygate"
	"github.com/paygate/paygate/demoshop"
	"github.com/paygate/paygate/internal/gatewaytest"
)

// trPay reads the shop's transparent redirect form, fills in the card and
// posts it to the gateway, as the customer's browser does from the shop's
// page; it returns the gateway's answer.
func (e *env) trPay(pan string) (form url.Values, answer page) {
	e.t.Helper()
	p := e.get(e.srv.URL + "/tr")
	if p.status != http.StatusOK {
		e.t.Fatalf("GET /tr: got %d\n%s", p.status, p.body)
	}
	if strings.Contains(p.body, e.shop.AccessKey) || strings.Contains(p.body, e.shop.SigningSecret) || strings.Contains(p.body, "<script") {
		e.t.Fatalf("GET /tr: the access key, the signing secret or a script in the page")
	}
	if !strings.Contains(p.body, `action="`+e.g.URL()+`/tr"`) {
		e.t.Fatalf("GET /tr: the form does not post to the gateway's /tr:\n%s", p.body)
	}
	form = inputs(e.t, p.body, `id="tr-form"`)
	form.Set("card_number", pan)
	form.Set("card_expiration", "12"+strconv.Itoa(time.Now().Year() + 2)[2:])
	form.Set("card_verification", "123")
	form.Set("first_name", "Ada")
	form.Set("last_name", "Lovelace")
	req, err := http.NewRequest("POST", e.g.URL()+"/tr", strings.NewReader(form.Encode()))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", e.srv.URL)
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	resp, err := browser.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	resp.Body.Close()
	return form, page{status: resp.StatusCode, location: resp.Header.Get("Location"), header: resp.Header}
}

// landing follows the gateway's 303 to the shop's page, which must start
// with prefix.
func (e *env) landing(p page, prefix string) page {
	e.t.Helper()
	if p.status != http.StatusSeeOther || !strings.HasPrefix(p.location, prefix) {
		e.t.Fatalf("POST /tr: got %d to %q, want 303 to %s...", p.status, p.location, prefix)
	}
	return e.get(p.location)
}

func TestTransparentRedirect(t *testing.T) {
	gatewaytest.Engines(t, func(t *testing.T, pg string) {
		e := mustStart(t, gatewaytest.Options{Postgres: pg})
		home := e.get(e.srv.URL + "/")
		if !strings.Contains(home.body, `id="buy-tr"`) || !strings.Contains(home.body, "SAQ A-EP") {
			t.Errorf("GET /: no transparent redirect option with its scope")
		}
		if csp := home.header.Get("Content-Security-Policy"); !strings.Contains(csp, "form-action 'self' "+e.g.URL()) {
			t.Errorf("the shop's pages may post forms anywhere: %q", csp)
		}

		// Approved: the shop's success page, fulfilled once however often
		// the result is loaded.
		_, answer := e.trPay(approve)
		okURL := answer.location
		p := e.landing(answer, e.srv.URL+"/tr/success?")
		if p.status != http.StatusOK || text(p.body, "outcome") != "approved" || text(p.body, "pci-scope") == "" ||
			!strings.Contains(text(p.body, "pci-scope"), "SAQ A-EP") {
			t.Fatalf("success page: got %d\n%s", p.status, p.body)
		}
		id := text(p.body, "payment-id")
		pay, err := e.g.Client().GetPayment(ctx, id)
		if err != nil || text(p.body, "confirmation-number") != pay.ConfirmationNumber || pay.Amount != demoshop.ItemPrice {
			t.Errorf("success page: confirmation %q, payment %+v, %v", text(p.body, "confirmation-number"), pay, err)
		}
		e.get(okURL)
		var o demoshop.Order
		for _, x := range e.shop.Orders() {
			if x.PaymentID == id {
				o = x
			}
		}
		if o.Flow != demoshop.FlowTR || o.Fulfilled != 1 || !o.Acked {
			t.Errorf("order %+v: want the transparent flow, fulfilled once, acknowledged", o)
		}

		// Declined: the shop's decline page, a new form to try again.
		_, answer = e.trPay(decline)
		p = e.landing(answer, e.srv.URL+"/tr/decline?")
		if p.status != http.StatusOK || text(p.body, "outcome") != "declined" || !strings.Contains(p.body, `id="try-again"`) {
			t.Errorf("decline page: got %d\n%s", p.status, p.body)
		}

		// A mistyped card: nothing charged, the gateway's reason shown.
		_, answer = e.trPay("4242424242424241")
		p = e.landing(answer, e.srv.URL+"/tr/decline?")
		if p.status != http.StatusOK || text(p.body, "error") != "Card number is incorrect." {
			t.Errorf("invalid card: got %d, error %q\n%s", p.status, text(p.body, "error"), p.body)
		}

		// A result changed on the way is refused.
		u, _ := url.Parse(okURL)
		q := u.Query()
		q.Set("transaction_amount", "0.01")
		u.RawQuery = q.Encode()
		if p := e.get(u.String()); p.status != http.StatusBadRequest || text(p.body, "error") != demoshop.BadSignatureMessage {
			t.Errorf("tampered result: got %d\n%s", p.status, p.body)
		}
		list, _, err := e.g.Payments.Payments(ctx, paygate.PaymentFilter{MerchantID: e.g.Merchant.ID, Limit: 10})
		if err != nil || len(list) != 2 {
			t.Errorf("payments: %d, %v; want 2 (the approval and the decline)", len(list), err)
		}
	})
}
