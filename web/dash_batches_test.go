package web_test

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/paygate/paygate"
	"github.com/paygate/paygate/internal/gatewaytest"
)

func settlePay(t *testing.T, gw *gatewaytest.Gateway, amount int64) *paygate.Payment {
	t.Helper()
	p, err := gw.Gateway.CreatePayment(t.Context(), gw.Merchant, paygate.PaymentRequest{Amount: amount, Currency: "USD",
		Card: &paygate.Card{Number: "4242424242424242", ExpMonth: 12, ExpYear: time.Now().Year() + 3, CVC: "123"}, Capture: true})
	if err != nil || p.Status != paygate.StatusCaptured {
		t.Fatalf("pay %d: %v %v", amount, p, err)
	}
	return p
}

// The Batches and Deposits pages on both engines: an admin closes the open
// batch now (it comes out of balance: the acquirer recorded another
// amount), sees the difference, accepts it with a reason (audited), and
// downloads the batch and the deposit's statement; a viewer sees the
// pages but neither the buttons nor the actions.
func TestBatchesPages(t *testing.T) { gatewaytest.Engines(t, testBatchesPages) }

func testBatchesPages(t *testing.T, pg string) {
	gw := gatewaytest.MustOpen(t, gatewaytest.Options{Postgres: pg, Quiet: true})
	settler := gatewaytest.NewSettler(gw.Gateway)
	gw.Gateway.Settler = settler
	s := newSite(t, gw)
	const admin, viewer = paygate.RoleAdmin, paygate.RoleViewer

	p := settlePay(t, gw, 3000)
	settlePay(t, gw, 1250)
	settler.Change(p.RRN, 2999)
	b, err := gw.Gateway.OpenBatch(t.Context(), gw.Merchant, p.Currency)
	if err != nil {
		t.Fatal(err)
	}
	gw.Clock.Advance(time.Second)

	st, page := s.get(viewer, "/dashboard/batches")
	if st != 200 || !strings.Contains(page, "$42.50") || !strings.Contains(page, `href="/dashboard/batches/`+b.ID+`"`) {
		t.Fatalf("viewer's batches page: %d\n%s", st, page)
	}
	if strings.Contains(page, "Close now") {
		t.Errorf("viewer's batches page offers to close")
	}
	if st, _ := s.get(viewer, "/dashboard/batches/"+b.ID+"/close"); st != 403 {
		t.Errorf("viewer GET close: %d, want 403", st)
	}
	if st, _ := s.post(viewer, "/dashboard/batches/"+b.ID+"/close", nil); st != 403 {
		t.Errorf("viewer POST close: %d, want 403", st)
	}
	if st, page := s.get(admin, "/dashboard/batches"); st != 200 || !strings.Contains(page, `href="/dashboard/batches/`+b.ID+`/close"`) {
		t.Fatalf("admin's batches page has no close button: %d", st)
	}
	if st, page := s.get(admin, "/dashboard/batches/"+b.ID+"/close"); st != 200 || !strings.Contains(page, `action="/dashboard/batches/`+b.ID+`/close"`) {
		t.Fatalf("close confirmation: %d\n%s", st, page)
	}
	st, loc := s.post(admin, "/dashboard/batches/"+b.ID+"/close", nil)
	if st != 303 || loc != "/dashboard/batches/"+b.ID+"?done=close" {
		t.Fatalf("close: %d %s", st, loc)
	}
	st, page = s.get(admin, loc)
	for _, want := range []string{"Out of balance", p.RRN, "Amounts differ", "$29.99", "Send again", "/accept", "out of balance"} {
		if !strings.Contains(page, want) {
			t.Errorf("out-of-balance batch page lacks %q", want)
		}
	}
	if _, page := s.get(viewer, "/dashboard/batches/"+b.ID); strings.Contains(page, "Send again") || strings.Contains(page, "/accept") {
		t.Errorf("viewer's batch page offers resend or accept")
	}
	if st, _ := s.post(viewer, "/dashboard/batches/"+b.ID+"/accept", url.Values{"reason": {"no"}}); st != 403 {
		t.Errorf("viewer POST accept: %d, want 403", st)
	}
	if st, page := s.post(admin, "/dashboard/batches/"+b.ID+"/accept", url.Values{"reason": {"  "}}); st != 422 || !strings.Contains(page, "Give the reason") {
		t.Errorf("accept without a reason: %d", st)
	}
	// Sent again while the acquirer still disagrees: out of balance still.
	if st, loc := s.post(admin, "/dashboard/batches/"+b.ID+"/resend", nil); st != 303 {
		t.Fatalf("resend: %d %s", st, loc)
	}
	reason := "Acquirer confirmed <b>by phone</b>, ticket 42"
	if st, loc := s.post(admin, "/dashboard/batches/"+b.ID+"/accept", url.Values{"reason": {reason}}); st != 303 {
		t.Fatalf("accept: %d %s", st, loc)
	}
	st, page = s.get(viewer, "/dashboard/batches/"+b.ID)
	if st != 200 || !strings.Contains(page, "The batch is settled") && !strings.Contains(page, "Settled") ||
		!strings.Contains(page, "ticket 42") || strings.Contains(page, "<b>by phone</b>") {
		t.Errorf("settled batch page: %d\n%s", st, page)
	}
	if strings.Count(page, `href="/dashboard/payments/pay_`) != 2 {
		t.Errorf("batch page lists %d payments, want 2", strings.Count(page, `href="/dashboard/payments/pay_`))
	}
	noCardNumbers(t, "batch", page)
	if st, page := s.post(admin, "/dashboard/batches/"+b.ID+"/accept", url.Values{"reason": {"again"}}); st != 409 {
		t.Errorf("accept a settled batch: %d\n%s", st, page)
	}

	entries, err := gw.Audit.AuditLog(t.Context(), gw.Merchant.ID, paygate.AuditFilter{Action: "batch.", Limit: 10})
	if err != nil || len(entries) != 3 || entries[0].Action != "batch.accept" || !strings.Contains(entries[0].Detail, reason) ||
		entries[0].ActorID != s.users[admin].ID || entries[2].Action != "batch.close" {
		t.Errorf("audit: %v %v", entries, err)
	}

	rows := s.csv(viewer, "/dashboard/batches/"+b.ID+"/export.csv")
	if len(rows) != 3 || rows[0][0] != "batch_id" || rows[1][0] != b.ID {
		t.Errorf("batch CSV: %v", rows)
	}
	deps, _, err := gw.Gateway.Batches.Deposits(t.Context(), paygate.BatchFilter{MerchantID: gw.Merchant.ID, Limit: 10})
	if err != nil || len(deps) != 1 {
		t.Fatalf("deposits: %v %v", deps, err)
	}
	st, page = s.get(viewer, "/dashboard/deposits")
	if st != 200 || !strings.Contains(page, deps[0].FundingDate) || !strings.Contains(page, "$42.50") ||
		!strings.Contains(page, formatNet(deps[0])) || !strings.Contains(page, "/dashboard/deposits/"+deps[0].ID+"/statement.csv") {
		t.Errorf("deposits page: %d\n%s", st, page)
	}
	rows = s.csv(viewer, "/dashboard/deposits/"+deps[0].ID+"/statement.csv")
	if len(rows) != 4 || rows[3][4] != "total" || rows[3][13] != paygate.FormatAmount(deps[0].Net, deps[0].Currency) {
		t.Errorf("statement CSV: %v", rows)
	}
	if st, _ := s.get(viewer, "/dashboard/deposits/dep_nope/statement.csv"); st != 404 {
		t.Errorf("statement of no deposit: %d", st)
	}
	if st, _ := s.get(viewer, "/dashboard/batches?status=bogus"); st != 422 {
		t.Errorf("bad status: %d", st)
	}
}

func formatNet(d *paygate.Deposit) string {
	return "$" + paygate.FormatAmount(d.Net, d.Currency)
}
