package web_test

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/paygate/paygate"
	"github.com/paygate/paygate/internal/gatewaytest"
	"github.com/paygate/paygate/web"
)

// A Virtual Terminal form submitted several times at once (a double click,
// a reload) charges the card once: every submission lands on the receipt
// of the one payment, which carries the customer's e-mail and sends it a
// receipt.
func TestTerminalDoubleSubmit(t *testing.T) {
	gw := gatewaytest.MustOpen(t, gatewaytest.Options{Postgres: postgresFromEnv(t), Quiet: true})
	s := newSite(t, gw)
	st, page := s.get(paygate.RoleOperator, "/dashboard/terminal")
	i := strings.Index(page, `name="token" value="`)
	if st != 200 || i < 0 {
		t.Fatalf("terminal: %d", st)
	}
	token := page[i+len(`name="token" value="`):]
	token = token[:strings.Index(token, `"`)]
	c := s.cookies[paygate.RoleOperator]
	form := url.Values{"csrf": {web.DashboardCSRFForTest(gw.Node.Dashboard, c)}, "token": {token}, "type": {"sale"},
		"amount": {"17.25"}, "currency": {"USD"}, "order_id": {"phone-1"}, "email": {"caller@example.com"},
		"card_number": {"4242424242424242"}, "exp_month": {"12"}, "exp_year": {strconv.Itoa(time.Now().Year() + 2)}, "cvc": {"123"}}
	const n = 5
	locs := make([]string, n)
	var wg sync.WaitGroup
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for k := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequest("POST", gw.URL()+"/dashboard/terminal", strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.AddCookie(c)
			resp, err := client.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusSeeOther {
				t.Errorf("submission %d: got %d, want 303 to the receipt", k, resp.StatusCode)
			}
			locs[k] = resp.Header.Get("Location")
		}()
	}
	wg.Wait()
	list, _, err := gw.Payments.Payments(t.Context(), paygate.PaymentFilter{MerchantID: gw.Merchant.ID, Limit: 10})
	if err != nil || len(list) != 1 {
		t.Fatalf("%d submissions made %d payments (%v), want 1", n, len(list), err)
	}
	p := list[0]
	for k, loc := range locs {
		if loc != "/dashboard/receipts/"+p.ID+"?new=1" {
			t.Errorf("submission %d went to %q, want the receipt of %s", k, loc, p.ID)
		}
	}
	if p.Status != paygate.StatusCaptured || p.Amount != 1725 || p.Channel != paygate.ChannelMOTO || p.ReceiptEmail != "caller@example.com" {
		t.Errorf("payment: %s %d %s %q", p.Status, p.Amount, p.Channel, p.ReceiptEmail)
	}
	mails, _, err := gw.Gateway.ListMail(t.Context(), gw.Merchant, paygate.MailFilter{PaymentID: p.ID, Limit: 10})
	if err != nil || len(mails) != 1 || mails[0].To != "caller@example.com" || mails[0].Kind != paygate.MailReceipt {
		t.Errorf("mail of the terminal's payment: %v %v", mails, err)
	}
	entries, err := gw.Audit.AuditLog(t.Context(), gw.Merchant.ID, paygate.AuditFilter{Action: "terminal.payment", Limit: 10})
	if err != nil || len(entries) != 1 {
		t.Errorf("audit: %d terminal.payment entries (%v), want 1", len(entries), err)
	}
}
