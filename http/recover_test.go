package http_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/paygate/paygate"
	"github.com/paygate/paygate/client"
	"github.com/paygate/paygate/internal/gatewaytest"
	"github.com/paygate/paygate/sqlite"
)

// freezer makes the gateway "crash" after the bank has answered a chosen
// request: the answer never comes back, as if the process died between
// sending and recording. Release unfreezes the stuck goroutine at test end.
type freezer struct {
	amount  int64
	kind    paygate.NetworkKind
	reached chan struct{}
	release chan struct{}
	once    sync.Once
}

func newFreezer(t *testing.T, kind paygate.NetworkKind, amount int64) *freezer {
	f := &freezer{kind: kind, amount: amount, reached: make(chan struct{}), release: make(chan struct{})}
	return f
}

func (f *freezer) wrap(a paygate.Acquirer) paygate.Acquirer {
	return acquirerFunc(func(ctx context.Context, r paygate.NetworkRequest) (paygate.NetworkResponse, error) {
		resp, err := a.Send(ctx, r)
		if r.Kind == f.kind && (r.Amount == f.amount || r.OriginalAmount == f.amount) {
			f.once.Do(func() { close(f.reached) })
			<-f.release
			return resp, context.Canceled
		}
		return resp, err
	})
}

func TestRecoverAfterCrash(t *testing.T) { gatewaytest.Engines(t, testRecoverAfterCrash) }

func testRecoverAfterCrash(t *testing.T, pg string) {
	const pan = "3566002020360505"
	tests := []struct {
		name   string
		kind   paygate.NetworkKind
		setup  func(c *client.Client) string // returns the payment id, after starting the frozen call
		status client.Status
		posted int64 // issuer's posted debit afterwards
	}{
		{"sale in doubt is reversed", paygate.NetworkSale, nil, client.StatusFailed, 0},
		{"authorization in doubt is reversed", paygate.NetworkAuthorize, nil, client.StatusFailed, 0},
		{"capture in doubt is sent again", paygate.NetworkCapture, nil, client.StatusCaptured, 4321},
		{"void in doubt is sent again", paygate.NetworkReverse, nil, client.StatusVoided, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFreezer(t, tt.kind, 4321)
			g := gatewaytest.MustOpen(t, gatewaytest.Options{Postgres: pg, NetworkTimeout: 5 * time.Second, Acquirer: f.wrap})
			t.Cleanup(func() { close(f.release) }) // before the gateway closes
			c := g.Client(client.WithMaxRetries(0))
			before, _ := g.Bank.Account(pan)
			cctx, cancel := context.WithCancel(ctx)
			defer cancel()
			params := client.PaymentParams{Amount: 4321, Currency: "USD", Card: card(pan, "123"), Capture: new(tt.kind == paygate.NetworkSale)}
			var id string
			switch tt.kind {
			case paygate.NetworkSale, paygate.NetworkAuthorize:
				go c.CreatePayment(cctx, params)
			case paygate.NetworkCapture:
				p := mustPay(t, c, params)
				id = p.ID
				go c.Capture(cctx, p.ID, client.CaptureParams{})
			case paygate.NetworkReverse:
				params.Capture = new(true)
				p := mustPay(t, c, params)
				id = p.ID
				go c.Void(cctx, p.ID)
			}
			select {
			case <-f.reached:
			case <-time.After(5 * time.Second):
				t.Fatal("the frozen request never reached the bank")
			}
			if id == "" {
				list, err := g.Payments.InDoubt(ctx, time.Now().Add(time.Hour), 10)
				if err != nil || len(list) != 1 {
					t.Fatalf("in doubt before restart: %d %v, want 1", len(list), err)
				}
				id = list[0].ID
			}

			// The process is frozen mid-request; a new one starts on the
			// same database and recovers what was left in doubt.
			n := g.Reopen(t, gatewaytest.Options{Postgres: pg})
			n.PastInDoubt()
			got, err := n.Gateway.Recover(ctx)
			if err != nil || got != 1 {
				t.Fatalf("recover: %d %v, want 1", got, err)
			}
			p, err := n.Client().GetPayment(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if p.Status != tt.status {
				t.Errorf("after recovery: got %s, want %s", p.Status, tt.status)
			}
			g.Bank.ClearAll()
			acct, _ := g.Bank.Account(pan)
			if acct.Held != 0 || before.Posted-acct.Posted != tt.posted {
				t.Errorf("issuer: held %d posted %d, want 0 and %d", acct.Held, before.Posted-acct.Posted, tt.posted)
			}
			if tt.kind == paygate.NetworkCapture || tt.kind == paygate.NetworkReverse {
				// Sent again after the crash: a repeat (0221, 0401), as
				// the payment's trace shows.
				status, body := do(t, n, "GET", "/v1/payments/"+id+"/trace", n.SecretKey, "")
				b, _ := json.Marshal(body["data"])
				want := map[paygate.NetworkKind]string{paygate.NetworkCapture: `"mti":"0221"`, paygate.NetworkReverse: `"mti":"0401"`}[tt.kind]
				if status != 200 || !strings.Contains(string(b), want) {
					t.Errorf("trace after recovery: %s, want a repeat %s", b, want)
				}
			}
			if again, _ := n.Gateway.Recover(ctx); again != 0 {
				t.Errorf("second recovery found %d, want 0", again)
			}
		})
	}
}

func TestRecoverRefundInDoubt(t *testing.T) { gatewaytest.Engines(t, testRecoverRefundInDoubt) }

func testRecoverRefundInDoubt(t *testing.T, pg string) {
	const pan = "3566002020360505"
	f := newFreezer(t, paygate.NetworkRefund, 1234)
	g := gatewaytest.MustOpen(t, gatewaytest.Options{Postgres: pg, NetworkTimeout: 5 * time.Second, Acquirer: f.wrap})
	t.Cleanup(func() { close(f.release) })
	c := g.Client(client.WithMaxRetries(0))
	before, _ := g.Bank.Account(pan)
	p := mustPay(t, c, client.PaymentParams{Amount: 5000, Currency: "USD", Card: card(pan, "123")})
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go c.Refund(cctx, p.ID, client.RefundParams{Amount: new(int64(1234))})
	<-f.reached
	n := g.Reopen(t, gatewaytest.Options{Postgres: pg})
	n.PastInDoubt()
	if got, err := n.Gateway.Recover(ctx); err != nil || got != 1 {
		t.Fatalf("recover: %d %v, want 1", got, err)
	}
	got, _ := n.Client().GetPayment(ctx, p.ID)
	if got.Status != client.StatusCaptured || got.AmountRefunded != 0 || len(got.Refunds) != 1 || got.Refunds[0].Status != client.RefundFailed {
		t.Fatalf("after recovery: %s refunded %d refunds %v", got.Status, got.AmountRefunded, got.Refunds)
	}
	g.Bank.ClearAll()
	acct, _ := g.Bank.Account(pan)
	if before.Posted-acct.Posted != 5000 {
		t.Errorf("issuer posted %d, want 5000 (the refund reversed)", before.Posted-acct.Posted)
	}
	// The whole amount can still be refunded.
	if _, err := n.Client().Refund(ctx, p.ID, client.RefundParams{}); err != nil {
		t.Errorf("refund after recovery: %v", err)
	}
}

// TestIdempotencyTakeover: a node dies holding an Idempotency-Key. A retry
// on another node after the lease finds what the first attempt did instead
// of charging again.
func TestIdempotencyTakeover(t *testing.T) {
	const pan = "3566002020360505"
	f := newFreezer(t, paygate.NetworkSale, 4444)
	g := gatewaytest.MustOpen(t, gatewaytest.Options{NetworkTimeout: 5 * time.Second, Acquirer: f.wrap})
	t.Cleanup(func() { close(f.release) })
	before, _ := g.Bank.Account(pan)
	body := `{"amount":4444,"currency":"USD","card":{"number":"` + pan + `","exp_month":12,"exp_year":2031,"cvc":"123"}}`
	go func() {
		req, _ := http.NewRequest("POST", g.URL()+"/v1/payments", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+g.SecretKey)
		req.Header.Set("Idempotency-Key", "dies-1")
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
		}
	}()
	<-f.reached

	const lease = time.Minute
	n := g.Reopen(t, gatewaytest.Options{IdempotencyLease: lease})
	// Before the lease is over, and while the payment is in doubt: 409.
	if s, b := do(t, n, "POST", "/v1/payments", n.SecretKey, body, "Idempotency-Key", "dies-1"); s != 409 {
		t.Fatalf("retry during the lease: got %d %v, want 409", s, b)
	}
	n.Clock.Advance(lease)
	if s, b := do(t, n, "POST", "/v1/payments", n.SecretKey, body, "Idempotency-Key", "dies-1"); s != 409 || errField(b, "code") != paygate.EIDEMPOTENCYBUSY {
		t.Fatalf("retry while the payment is in doubt: got %d %v, want 409", s, b)
	}
	n.PastInDoubt()
	if got, err := n.Gateway.Recover(ctx); err != nil || got != 1 {
		t.Fatalf("recover: %d %v", got, err)
	}
	n.Clock.Advance(lease) // past the lease of the last retry's claim
	s, b := do(t, n, "POST", "/v1/payments", n.SecretKey, body, "Idempotency-Key", "dies-1")
	if s != 402 || errField(b, "decline_code") != "issuer_unavailable" || errField(b, "payment_id") == "" {
		t.Fatalf("retry after recovery: got %d %v, want 402 issuer_unavailable naming the reversed payment", s, b)
	}
	if stats := g.Bank.Stats(); stats.Sales != 1 {
		t.Errorf("bank saw %d sales, want 1", stats.Sales)
	}
	g.Bank.ClearAll()
	if acct, _ := g.Bank.Account(pan); acct.Posted != before.Posted {
		t.Errorf("issuer posted %d, want 0", before.Posted-acct.Posted)
	}

	// A payment that completed but whose stored response was lost in a
	// crash: the retry answers with the payment, not a second charge.
	p := do200(t, n, body, "lost-response")
	db, err := sql.Open("sqlite", sqlite.URI(n.DBPath, url.Values{"_pragma": {"busy_timeout(5000)"}}))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`UPDATE idempotency_keys SET done = 0, body = NULL, locked_at = 0 WHERE key = (SELECT key FROM idempotency_keys WHERE done = 1 ORDER BY created_at DESC LIMIT 1)`); err != nil {
		t.Fatal(err)
	}
	sales := g.Bank.Stats().Sales
	again := do200(t, n, body, "lost-response")
	if again["id"] != p["id"] || g.Bank.Stats().Sales != sales {
		t.Errorf("retry after a lost response: got %v (bank sales %d→%d), want %v and no new sale", again["id"], sales, g.Bank.Stats().Sales, p["id"])
	}

	// The same for a capture: the retry reports the capture that happened.
	auth := do200(t, n, strings.Replace(body, `"amount":4444,`, `"amount":4500,"capture":false,`, 1), "auth-1")
	path := "/v1/payments/" + auth["id"].(string) + "/capture"
	if s, b := do(t, n, "POST", path, n.SecretKey, "{}", "Idempotency-Key", "cap-lost"); s != 200 {
		t.Fatalf("capture: %d %v", s, b)
	}
	if _, err := db.Exec(`UPDATE idempotency_keys SET done = 0, body = NULL, locked_at = 0 WHERE key = (SELECT key FROM idempotency_keys WHERE done = 1 ORDER BY created_at DESC LIMIT 1)`); err != nil {
		t.Fatal(err)
	}
	captures := g.Bank.Stats().Captures
	if s, b := do(t, n, "POST", path, n.SecretKey, "{}", "Idempotency-Key", "cap-lost"); s != 200 || b["status"] != "captured" || g.Bank.Stats().Captures != captures {
		t.Errorf("capture retry after a lost response: got %d %v, want 200 captured and no second advice", s, b["status"])
	}
}

func do200(t *testing.T, g *gatewaytest.Gateway, body, key string) map[string]any {
	t.Helper()
	s, b := do(t, g, "POST", "/v1/payments", g.SecretKey, body, "Idempotency-Key", key)
	if s != 200 {
		t.Fatalf("got %d %v, want 200", s, b)
	}
	return b
}

// TestReversalRefusedStaysInDoubt: a reversal the network does not accept
// (here the issuer is down: 91) leaves the payment in doubt, and recovery
// finishes it once the issuer is back. Nothing is recorded as undone while
// the issuer still holds the money.
func TestReversalRefusedStaysInDoubt(t *testing.T) {
	gatewaytest.Engines(t, testReversalRefusedStaysInDoubt)
}

func testReversalRefusedStaysInDoubt(t *testing.T, pg string) {
	const pan = "5555555555554444"
	g := gatewaytest.MustOpen(t, gatewaytest.Options{Postgres: pg})
	c := g.Client()
	auth := mustPay(t, c, client.PaymentParams{Amount: 5000, Currency: "USD", Card: card(pan, "123"), Capture: new(false)})
	sale := mustPay(t, c, client.PaymentParams{Amount: 7000, Currency: "USD", Card: card(pan, "123")})
	before, _ := g.Bank.Account(pan)

	g.Bank.SetIssuerDown("555555", true)
	for _, id := range []string{auth.ID, sale.ID} {
		p, err := c.Void(ctx, id)
		if err != nil || p.Status != "voiding" {
			t.Fatalf("void while the issuer is down: %+v %v, want status voiding", p, err)
		}
	}
	g.PastInDoubt()
	if n, _ := g.Gateway.Recover(ctx); n != 0 {
		t.Errorf("recovered %d while the issuer is down, want 0", n)
	}
	if acct, _ := g.Bank.Account(pan); acct.Held != before.Held || acct.Posted != before.Posted {
		t.Fatalf("the issuer changed while down")
	}
	for _, id := range []string{auth.ID, sale.ID} {
		if p, _ := c.GetPayment(ctx, id); p.Status != "voiding" {
			t.Errorf("%s: got %s while the issuer is down, want voiding", id, p.Status)
		}
	}

	g.Bank.SetIssuerDown("555555", false)
	g.PastInDoubt() // the failed round renewed the claims' leases
	if n, err := g.Gateway.Recover(ctx); n != 2 || err != nil {
		t.Fatalf("recover: %d %v, want 2", n, err)
	}
	for _, id := range []string{auth.ID, sale.ID} {
		if p, _ := c.GetPayment(ctx, id); p.Status != client.StatusVoided {
			t.Errorf("%s: got %s, want voided", id, p.Status)
		}
	}
	acct, _ := g.Bank.Account(pan)
	// The sale held (nothing is posted before clearing): both holds go.
	if acct.Held != before.Held-5000-7000 || acct.Posted != before.Posted {
		t.Errorf("issuer: held %d posted %d, want the hold released and the sale undone", before.Held-acct.Held, acct.Posted-before.Posted)
	}
}

// TestReferenceNumbersNeverRepeat: RRNs come from a sequence in the
// database, so a restarted or second gateway never reuses one (the bank
// keys holds by RRN).
func TestReferenceNumbersNeverRepeat(t *testing.T) {
	gatewaytest.Engines(t, testReferenceNumbersNeverRepeat)
}

func testReferenceNumbersNeverRepeat(t *testing.T, pg string) {
	g := gatewaytest.MustOpen(t, gatewaytest.Options{Postgres: pg})
	n := g.Reopen(t, gatewaytest.Options{Postgres: pg})
	seen := map[string]bool{}
	for i := range 20 {
		gw := g
		if i%2 == 1 {
			gw = n
		}
		p := mustPay(t, gw.Client(), client.PaymentParams{Amount: 100, Currency: "USD", Card: card("4242424242424242", "123")})
		if seen[p.RRN] || len(p.RRN) != 12 {
			t.Fatalf("RRN %q repeated or malformed", p.RRN)
		}
		seen[p.RRN] = true
	}
}
