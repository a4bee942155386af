package web_test

import (
	"fmt"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/paygate/paygate"
	"github.com/paygate/paygate/internal/gatewaytest"
	"github.com/paygate/paygate/web"
)

// BenchmarkDashboardPages renders each dashboard page of a merchant with
// 10,000 payments over the last 30 days (on PostgreSQL when
// PAYGATE_TEST_POSTGRES is set) and reports, per page, the milliseconds
// per request, the ratio to the 100 ms budget and the ratio to a
// baseline measured in the same run: the static sign-in page, which reads
// nothing from the database.
//
//	go test ./web -run '^$' -bench DashboardPages -benchtime 20x
func BenchmarkDashboardPages(b *testing.B) {
	gw := gatewaytest.MustOpen(b, gatewaytest.Options{Postgres: postgresFromEnv(b), Quiet: true})
	settler := gatewaytest.NewSettler(gw.Gateway)
	gw.Gateway.Settler = settler
	s := newBenchSite(b, gw)
	ids := seedPayments(b, gw, 10000)

	pages := []struct{ name, path string }{
		{"login (baseline)", "/dashboard/login"},
		{"overview", "/dashboard/"},
		{"payments", "/dashboard/payments"},
		{"search", "/dashboard/payments?q=4242"},
		{"search-email", "/dashboard/payments?q=buyer7%40example.com"},
		{"payment", "/dashboard/payments/" + ids[len(ids)/2]},
		{"batches", "/dashboard/batches"},
		{"deposits", "/dashboard/deposits"},
		{"outbox", "/dashboard/outbox"},
		{"terminal", "/dashboard/terminal"},
	}
	var baseline float64
	for _, pg := range pages {
		b.Run(pg.name, func(b *testing.B) {
			for b.Loop() {
				s.fetch(b, pg.path, pg.name == "login (baseline)")
			}
			ms := float64(b.Elapsed().Microseconds()) / 1000 / float64(b.N)
			if pg.name == "login (baseline)" {
				baseline = ms
			}
			b.ReportMetric(ms, "ms/page")
			b.ReportMetric(ms/100, "x_budget")
			if baseline > 0 {
				b.ReportMetric(ms/baseline, "x_baseline")
			}
		})
	}
}

type benchSite struct {
	gw     *gatewaytest.Gateway
	cookie *http.Cookie
	client *http.Client
}

func newBenchSite(b *testing.B, gw *gatewaytest.Gateway) *benchSite {
	u, err := paygate.NewUser(gw.Merchant.ID, "bench@example.com", paygate.RoleAdmin, time.Now())
	if err != nil {
		b.Fatal(err)
	}
	u.TOTPSecret = "JBSWY3DPEHPK3PXP"
	return &benchSite{gw: gw, cookie: web.SignInForTest(gw.Node.Dashboard, u, gw.Merchant), client: &http.Client{
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (s *benchSite) fetch(b *testing.B, path string, anonymous bool) {
	req, _ := http.NewRequest("GET", s.gw.URL()+path, nil)
	if !anonymous {
		req.AddCookie(s.cookie)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		b.Fatalf("GET %s: %d", path, resp.StatusCode)
	}
}

// seedPayments writes n payments of the merchant through the payment
// store, spread over the last 30 days: one in ten declined, one in five
// an authorization, a few with a customer e-mail; the approved ones of
// the last days in a settled batch. It returns their ids.
func seedPayments(b *testing.B, gw *gatewaytest.Gateway, n int) []string {
	b.Helper()
	ctx := b.Context()
	card := &paygate.Card{Number: "4242424242424242", ExpMonth: 12, ExpYear: time.Now().Year() + 3, CVC: "123"}
	proto, err := gw.Gateway.CreatePayment(ctx, gw.Merchant, paygate.PaymentRequest{Amount: 1000, Currency: "USD", Card: card, Capture: true})
	if err != nil {
		b.Fatal(err)
	}
	now := gw.Clock.Now()
	ids := make([]string, n)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += 8 {
				p := *proto
				at := now.Add(-time.Duration(i) * 30 * 24 * time.Hour / time.Duration(n))
				p.ID = paygate.NewID("pay", at)
				p.RRN = fmt.Sprintf("9%011d", i)
				p.STAN = fmt.Sprintf("%06d", i%1000000)
				p.ConfirmationNumber = fmt.Sprintf("PG-B%07d", i)
				p.Amount = int64(500 + i%9000)
				p.AmountCaptured = p.Amount
				p.CreatedAt, p.UpdatedAt, p.CapturedAt, p.TransmittedAt = at, at, at, at
				p.OrderID = fmt.Sprintf("order-%d", i)
				p.ReceiptEmail = ""
				if i%50 == 0 {
					p.ReceiptEmail = fmt.Sprintf("buyer%d@example.com", i%100)
				}
				p.Trace = nil
				p.Refunds = nil
				switch {
				case i%10 == 3:
					p.Status, p.AmountCaptured, p.CapturedAt = paygate.StatusDeclined, 0, time.Time{}
					p.ResponseCode, p.DeclineCode, p.DeclineReason, p.AuthCode = "05", "do_not_honor", "Do not honor", ""
				case i%5 == 1:
					p.Status, p.AmountCaptured, p.CapturedAt, p.CaptureRequested = paygate.StatusAuthorized, 0, time.Time{}, false
				}
				if err := gw.Payments.CreatePayment(ctx, &p); err != nil {
					errs <- err
					return
				}
				ids[i] = p.ID
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		b.Fatalf("seed: %v", err)
	}
	// A settled batch and an open one, as a day of business leaves them.
	bt, err := gw.Gateway.OpenBatch(ctx, gw.Merchant, proto.Currency)
	if err != nil {
		b.Fatal(err)
	}
	gw.Clock.Advance(time.Second)
	if _, _, err := gw.Gateway.CloseBatch(ctx, gw.Merchant, bt.ID); err != nil {
		b.Fatalf("close: %v", err)
	}
	// As autovacuum would after a load this size: without statistics,
	// PostgreSQL plans the Overview's per-day join as a scan of every
	// payment per day (145 ms here instead of 37).
	if gw.Postgres != "" {
		conn, err := pgx.Connect(ctx, gw.Postgres)
		if err != nil {
			b.Fatal(err)
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "ANALYZE"); err != nil {
			b.Fatal(err)
		}
	}
	return ids
}
