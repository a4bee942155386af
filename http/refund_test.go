package http_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/paygate/paygate"
	"github.com/paygate/paygate/client"
	"github.com/paygate/paygate/internal/gatewaytest"
)

// TestConcurrentRefunds sends 100 refunds of one payment at once, each with
// its own Idempotency-Key: those that fit within what is refundable all
// succeed, the others are refused, none is answered 5xx, and the gateway,
// the clients and the bank agree on what was refunded, with nothing
// reversed.
func TestConcurrentRefunds(t *testing.T) {
	gatewaytest.Engines(t, func(t *testing.T, pg string) { testConcurrentRefunds(t, pg, 1) })
}

// TestConcurrentRefundsTwoNodes is the same race across two gateway nodes
// on one database.
func TestConcurrentRefundsTwoNodes(t *testing.T) {
	gatewaytest.Engines(t, func(t *testing.T, pg string) { testConcurrentRefunds(t, pg, 2) })
}

func testConcurrentRefunds(t *testing.T, pg string, nodes int) {
	const (
		pan     = "4242424242424242"
		sale    = 2500
		each    = 30
		clients = 100
		fit     = sale / each // 83 refunds of 30 fit in 2500
	)
	var conflicts atomic.Int64 // races lost on the payment's version, and retried
	opts := gatewaytest.Options{Postgres: pg, NetworkTimeout: 5 * time.Second, Quiet: true, Setup: func(gw *paygate.Gateway) {
		gw.Payments = &countConflicts{PaymentStore: gw.Payments, n: &conflicts}
	}}
	first := gatewaytest.MustOpen(t, opts)
	gws := []*gatewaytest.Gateway{first}
	for len(gws) < nodes {
		gws = append(gws, first.Reopen(t, opts))
	}
	before, _ := first.Bank.Account(pan)
	p := mustPay(t, first.Client(), client.PaymentParams{Amount: sale, Currency: "USD", Card: card(pan, "123")})
	stats := first.Bank.Stats()

	// refund sends one refund with its own key, again with the same key
	// while the answer is a retryable 409, and returns every answer.
	httpc := &http.Client{Timeout: 30 * time.Second}
	// Before the servers close (cleanups run last first): a connection
	// dialled but never used would hold up their shutdown for 5 s.
	t.Cleanup(httpc.CloseIdleConnections)
	type answer struct {
		status int
		code   string
		amount int64
	}
	refund := func(i int) []answer {
		var out []answer
		for attempt := range 200 {
			g := gws[(i+attempt)%len(gws)]
			req, _ := http.NewRequest("POST", g.URL()+"/v1/payments/"+p.ID+"/refunds", strings.NewReader(fmt.Sprintf(`{"amount":%d}`, each)))
			req.Header.Set("Authorization", "Bearer "+g.SecretKey)
			req.Header.Set("Idempotency-Key", fmt.Sprintf("refund-%d", i))
			resp, err := httpc.Do(req)
			if err != nil {
				t.Errorf("refund %d: %v", i, err)
				return out
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			var body map[string]any
			json.Unmarshal(b, &body)
			a := answer{status: resp.StatusCode, code: errField(body, "code")}
			if resp.StatusCode == 200 && body["status"] == string(paygate.RefundSucceeded) {
				a.amount = int64(body["amount"].(float64))
			}
			out = append(out, a)
			if resp.StatusCode != 409 || (a.code != paygate.EIDEMPOTENCYBUSY && a.code != paygate.EBUSY) {
				return out
			}
			time.Sleep(time.Duration(5+attempt) * time.Millisecond)
		}
		t.Errorf("refund %d: still busy after 200 attempts", i)
		return out
	}

	answers := make([][]answer, clients)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range clients {
		wg.Go(func() {
			<-start
			answers[i] = refund(i)
		})
	}
	began := time.Now()
	close(start)
	wg.Wait()
	took := time.Since(began)

	var approved int64
	succeeded, tooLarge, retried := 0, 0, 0
	statuses := map[int]int{}
	for i, as := range answers {
		for _, a := range as {
			statuses[a.status]++
			if a.status >= 500 {
				t.Errorf("refund %d: answered %d %s", i, a.status, a.code)
			}
		}
		if len(as) == 0 {
			continue
		}
		retried += len(as) - 1
		last := as[len(as)-1]
		switch {
		case last.status == 200 && last.amount == each:
			succeeded++
			approved += last.amount
		case last.status == 422 && last.code == paygate.EAMOUNTTOOLARGE:
			tooLarge++
		default:
			t.Errorf("refund %d: final answer %d %s", i, last.status, last.code)
		}
	}
	t.Logf("%d nodes, %v: %d succeeded, %d refused as too large, %d lost races retried, %d retries of a busy 409; statuses %v",
		nodes, took.Round(time.Millisecond), succeeded, tooLarge, conflicts.Load(), retried, statuses)
	if succeeded != fit || tooLarge != clients-fit {
		t.Errorf("got %d refunds succeeded and %d refused, want %d and %d", succeeded, tooLarge, fit, clients-fit)
	}

	got, err := first.Payments.Payment(ctx, first.Merchant.ID, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	var recorded int64
	for _, r := range got.Refunds {
		switch r.Status {
		case paygate.RefundSucceeded:
			recorded += r.Amount
		default:
			t.Errorf("refund %s is %s, want succeeded", r.ID, r.Status)
		}
	}
	if got.AmountRefunded != approved || recorded != approved {
		t.Errorf("payment: amount_refunded %d, succeeded refunds %d; the clients saw %d approved", got.AmountRefunded, recorded, approved)
	}
	if want := paygate.StatusPartiallyRefunded; got.Status != want {
		t.Errorf("payment status %s, want %s", got.Status, want)
	}

	// Nothing is left for the sweeper, and it reverses nothing.
	for _, g := range gws {
		g.PastInDoubt()
		if _, err := g.Gateway.Recover(ctx); err != nil {
			t.Fatal(err)
		}
	}
	first.Bank.ClearAll()
	after, _ := first.Bank.Account(pan)
	// Cleared: the sale posted, the refunds credited.
	if credited := after.Posted - (before.Posted - sale); credited != approved {
		t.Errorf("the bank credited %d, the clients saw %d approved", credited, approved)
	}
	s := first.Bank.Stats()
	if n := s.Refunds - stats.Refunds; n != int64(fit) {
		t.Errorf("the bank saw %d refunds, want %d", n, fit)
	}
	if n := s.Reversals - stats.Reversals; n != 0 {
		t.Errorf("the bank saw %d reversals, want none", n)
	}
	got, _ = first.Payments.Payment(ctx, first.Merchant.ID, p.ID)
	reversals := 0
	for _, e := range got.Trace {
		if e.Kind == paygate.NetworkReverse.String() && e.Event == paygate.TraceSent {
			reversals++
		}
	}
	if reversals > 0 {
		t.Errorf("the payment's trace shows %d reversals sent, want none", reversals)
	}
}

// countConflicts counts the SaveRefund calls that lost a race.
type countConflicts struct {
	paygate.PaymentStore
	n *atomic.Int64
}

func (c *countConflicts) SaveRefund(ctx context.Context, p *paygate.Payment, r *paygate.Refund) error {
	err := c.PaymentStore.SaveRefund(ctx, p, r)
	if errors.Is(err, paygate.ErrVersionConflict) {
		c.n.Add(1)
	}
	return err
}

// faultyRefunds is a PaymentStore whose SaveRefund consults fail first.
type faultyRefunds struct {
	paygate.PaymentStore
	mu   sync.Mutex
	fail func(r *paygate.Refund) error
}

func (f *faultyRefunds) SaveRefund(ctx context.Context, p *paygate.Payment, r *paygate.Refund) error {
	f.mu.Lock()
	fail := f.fail
	f.mu.Unlock()
	if fail != nil {
		if err := fail(r); err != nil {
			return err
		}
	}
	return f.PaymentStore.SaveRefund(ctx, p, r)
}

func (f *faultyRefunds) set(fail func(r *paygate.Refund) error) {
	f.mu.Lock()
	f.fail = fail
	f.mu.Unlock()
}

// TestServerErrorNotStored checks that an answer that is not a final
// outcome is never stored under the Idempotency-Key: after a 500 or a
// conflict, a retry with the same key finds what really happened.
func TestServerErrorNotStored(t *testing.T) { gatewaytest.Engines(t, testServerErrorNotStored) }

func testServerErrorNotStored(t *testing.T, pg string) {
	const pan = "5555555555554444"
	store := &faultyRefunds{}
	const lease = time.Minute
	g := gatewaytest.MustOpen(t, gatewaytest.Options{Postgres: pg, IdempotencyLease: lease, Setup: func(gw *paygate.Gateway) {
		store.PaymentStore, gw.Payments = gw.Payments, store
		gw.ConflictTimeout = 50 * time.Millisecond
	}})
	before, _ := g.Bank.Account(pan)
	p := mustPay(t, g.Client(), client.PaymentParams{Amount: 1000, Currency: "USD", Card: card(pan, "123")})
	refund := func(key string) (int, map[string]any, http.Header) {
		t.Helper()
		req, _ := http.NewRequest("POST", g.URL()+"/v1/payments/"+p.ID+"/refunds", strings.NewReader(`{"amount":100}`))
		req.Header.Set("Authorization", "Bearer "+g.SecretKey)
		req.Header.Set("Idempotency-Key", key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, body, resp.Header
	}
	injected := errors.New("injected: disk I/O error")

	// A store failure before anything was recorded: 500, and the retry
	// with the same key makes the refund.
	var once sync.Once
	store.set(func(*paygate.Refund) (err error) {
		once.Do(func() { err = injected })
		return err
	})
	if s, b, _ := refund("fails-once"); s != 500 {
		t.Fatalf("refund with a failing store: got %d %v, want 500", s, b)
	}
	if s, b, h := refund("fails-once"); s != 200 || b["status"] != string(paygate.RefundSucceeded) || h.Get("Idempotent-Replayed") != "" {
		t.Fatalf("retry after a 500: got %d %v (replayed %q), want 200 succeeded, not a replay", s, b, h.Get("Idempotent-Replayed"))
	}

	// Races lost for longer than ConflictTimeout: a retryable 409 that
	// changed nothing and is not stored.
	store.set(func(r *paygate.Refund) error {
		if r.Status == paygate.RefundPending {
			return paygate.ErrVersionConflict
		}
		return nil
	})
	if s, b, h := refund("busy"); s != 409 || errField(b, "code") != paygate.EBUSY || h.Get("Retry-After") == "" {
		t.Fatalf("refund losing every race: got %d %s (Retry-After %q), want 409 %s with Retry-After", s, errField(b, "code"), h.Get("Retry-After"), paygate.EBUSY)
	}
	store.set(nil)
	if s, b, _ := refund("busy"); s != 200 || b["status"] != string(paygate.RefundSucceeded) {
		t.Fatalf("retry after a busy 409: got %d %v, want 200 succeeded", s, b)
	}

	// The bank approves, then the store fails for good: 500, the refund
	// stays pending. The retry says it is still in doubt; once recovery
	// has settled it (reversed: no approval was recorded), the retry gets
	// that outcome.
	store.set(func(r *paygate.Refund) error {
		if r.Status != paygate.RefundPending {
			return injected
		}
		return nil
	})
	if s, b, _ := refund("unrecorded"); s != 500 {
		t.Fatalf("refund approved but not recorded: got %d %v, want 500", s, b)
	}
	store.set(nil)
	if s, b, _ := refund("unrecorded"); s != 409 || errField(b, "code") != paygate.EIDEMPOTENCYBUSY {
		t.Fatalf("retry while the refund is in doubt: got %d %v, want 409 %s", s, b, paygate.EIDEMPOTENCYBUSY)
	}
	g.PastInDoubt()
	if n, err := g.Gateway.Recover(ctx); err != nil || n != 1 {
		t.Fatalf("recover: %d %v, want 1", n, err)
	}
	g.Clock.Advance(lease) // past the lease of the last retry's claim
	s, b, _ := refund("unrecorded")
	if s != 402 || errField(b, "payment_id") != p.ID || errField(b, "response_code") != "91" {
		t.Fatalf("retry after recovery: got %d %v, want 402 with payment %s and response code 91", s, b, p.ID)
	}

	got, err := g.Payments.Payment(ctx, g.Merchant.ID, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	g.Bank.ClearAll()
	after, _ := g.Bank.Account(pan)
	// Cleared: the sale of 1000 posted, the refund credited.
	if got.AmountRefunded != 200 || after.Posted-(before.Posted-1000) != 200 {
		t.Errorf("refunded %d, the bank credited %d; want 200 both", got.AmountRefunded, after.Posted-(before.Posted-1000))
	}
}

// TestReplayOfBodyQuotingBusyCode: an answer is kept for replay even when
// the merchant's own data in it reads like a busy error's code.
func TestReplayOfBodyQuotingBusyCode(t *testing.T) {
	g := gatewaytest.MustOpen(t, gatewaytest.Options{})
	body := `{"amount":1000,"currency":"USD","metadata":{"code":"idempotency_in_flight"},"card":{"number":"4242424242424242","exp_month":12,"exp_year":2031,"cvc":"123"}}`
	s1, b1 := do(t, g, "POST", "/v1/payments", g.SecretKey, body, "Idempotency-Key", "quoting")
	s2, b2 := do(t, g, "POST", "/v1/payments", g.SecretKey, body, "Idempotency-Key", "quoting")
	if s1 != 200 || s2 != 200 || b1["id"] != b2["id"] {
		t.Errorf("got %d %v then %d %v, want the same payment twice", s1, b1["id"], s2, errField(b2, "code"))
	}
}
