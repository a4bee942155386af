package http_test

import (
	"context"
	"encoding/json"
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

// keyedSale posts a sale with an Idempotency-Key and returns the status,
// the body and whether the answer says it is a replay.
func keyedSale(t *testing.T, g *gatewaytest.Gateway, key, body string) (int, map[string]any, bool) {
	t.Helper()
	req, _ := http.NewRequest("POST", g.URL()+"/v1/payments", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+g.SecretKey)
	req.Header.Set("Idempotency-Key", key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Error(err)
		return 0, nil, false
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Errorf("body %q: %v", b, err)
	}
	return resp.StatusCode, m, resp.Header.Get("Idempotent-Replayed") == "true"
}

// rendezvous holds the payment inserts of its first n callers until all n
// have come (or a second has passed), so that they all try to record
// theirs under the key at once.
type rendezvous struct {
	paygate.PaymentStore
	n    int
	mu   sync.Mutex
	came int
	all  chan struct{}
}

func (s *rendezvous) CreatePayment(ctx context.Context, p *paygate.Payment) error {
	s.mu.Lock()
	s.came++
	if s.came == s.n {
		close(s.all)
	}
	wait := s.came <= s.n
	s.mu.Unlock()
	if wait {
		select {
		case <-s.all:
		case <-time.After(time.Second):
		}
	}
	return s.PaymentStore.CreatePayment(ctx, p)
}

// TestKeyedPaymentRace: requests with one key that all found no payment
// and all try to record theirs: one payment is made, the card is charged
// once, and every request ends up answered with that payment.
func TestKeyedPaymentRace(t *testing.T) { gatewaytest.Engines(t, testKeyedPaymentRace) }

func testKeyedPaymentRace(t *testing.T, pg string) {
	const racers = 3
	store := &rendezvous{n: racers, all: make(chan struct{})}
	g := gatewaytest.MustOpen(t, gatewaytest.Options{Postgres: pg, Setup: func(gw *paygate.Gateway) {
		store.PaymentStore, gw.Payments = gw.Payments, store
	}})
	body := `{"amount":2300,"currency":"USD","card":{"number":"4242424242424242","exp_month":12,"exp_year":2031,"cvc":"123"}}`
	ids := make([]string, racers)
	var wg sync.WaitGroup
	for i := range racers {
		wg.Go(func() {
			s, b, _ := keyedSale(t, g, "race-1", body)
			switch {
			case s == 200:
				ids[i], _ = b["id"].(string)
			case s == 409 && errField(b, "code") == paygate.EIDEMPOTENCYBUSY:
				// It found the winner's payment still pending: retried
				// below, once every first attempt has been answered.
			default:
				t.Errorf("racer %d: got %d %v, want 200 or 409 %s", i, s, b, paygate.EIDEMPOTENCYBUSY)
			}
		})
	}
	wg.Wait()
	store.mu.Lock()
	raced := store.came
	store.mu.Unlock()
	if raced != racers {
		t.Errorf("%d payment inserts, want %d: the racers did not all race", raced, racers)
	}
	for i := range ids {
		if ids[i] == "" {
			// The retry's insert is its lookup: it fails on the key.
			s, b, replayed := keyedSale(t, g, "race-1", body)
			if s != 200 || !replayed {
				t.Fatalf("racer %d's retry: got %d %v (replayed %t), want 200, replayed", i, s, b, replayed)
			}
			ids[i], _ = b["id"].(string)
		}
	}
	for i := range ids {
		if ids[i] == "" || ids[i] != ids[0] {
			t.Fatalf("racers got payments %v, want one payment", ids)
		}
	}
	if n := g.Bank.Stats().Sales; n != 1 {
		t.Errorf("bank saw %d sales, want 1", n)
	}
}

// TestKeyedPaymentReplay: a retry of a keyed sale gets the payment as it
// is now (refunded since, here), marked as a replay; a decline is replayed
// as the decline it was; other parameters under the key are refused; none
// of this reaches the bank again.
func TestKeyedPaymentReplay(t *testing.T) { gatewaytest.Engines(t, testKeyedPaymentReplay) }

func testKeyedPaymentReplay(t *testing.T, pg string) {
	g := gatewaytest.MustOpen(t, gatewaytest.Options{Postgres: pg})
	body := `{"amount":5000,"currency":"USD","card":{"number":"4242424242424242","exp_month":12,"exp_year":2031,"cvc":"123"}}`
	s, first, replayed := keyedSale(t, g, "order-9", body)
	if s != 200 || replayed || first["status"] != "captured" {
		t.Fatalf("sale: got %d %v (replayed %t), want 200 captured, not a replay", s, first, replayed)
	}
	id := first["id"].(string)
	if _, err := g.Client().Refund(ctx, id, client.RefundParams{Amount: new(int64(1200))}); err != nil {
		t.Fatal(err)
	}
	s, again, replayed := keyedSale(t, g, "order-9", body)
	if s != 200 || !replayed || again["id"] != id || again["status"] != "partially_refunded" || again["amount_refunded"] != 1200.0 {
		t.Errorf("replay after a refund: got %d %v (replayed %t), want 200, the payment partially refunded, replayed", s, again, replayed)
	}
	s, other, _ := keyedSale(t, g, "order-9", strings.Replace(body, "5000", "5001", 1))
	if s != 422 || errField(other, "code") != paygate.EIDEMPOTENCY {
		t.Errorf("other parameters: got %d %v, want 422 %s", s, other, paygate.EIDEMPOTENCY)
	}

	declined := strings.Replace(body, "4242424242424242", "4000000000000002", 1)
	s1, d1, _ := keyedSale(t, g, "declined-9", declined)
	s2, d2, replayed := keyedSale(t, g, "declined-9", declined)
	if s1 != 402 || s2 != 402 || !replayed || errField(d2, "payment_id") == "" || errField(d1, "payment_id") != errField(d2, "payment_id") ||
		errField(d1, "decline_code") != errField(d2, "decline_code") || errField(d1, "message") != errField(d2, "message") {
		t.Errorf("decline replay: got %d %v then %d %v (replayed %t), want the same decline twice", s1, d1, s2, d2, replayed)
	}
	if n := g.Bank.Stats().Sales; n != 2 {
		t.Errorf("bank saw %d sales, want 2", n)
	}
	// The key expires with the idempotency records: then it is free.
	if _, err := g.Idempotency.PurgeIdempotent(ctx, time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	s, fresh, replayed := keyedSale(t, g, "order-9", strings.Replace(body, "5000", "5001", 1))
	if s != 200 || replayed || fresh["id"] == id {
		t.Errorf("after the key expired, other parameters: got %d %v (replayed %t), want a new payment", s, fresh, replayed)
	}
	s, again, replayed = keyedSale(t, g, "order-9", strings.Replace(body, "5000", "5001", 1))
	if s != 200 || !replayed || again["id"] != fresh["id"] {
		t.Errorf("replay of the new payment: got %d %v (replayed %t), want %v", s, again["id"], replayed, fresh["id"])
	}
}

// TestKeyedPaymentStalePending: a keyed sale whose node died on the network
// stays pending: a retry is told to wait while its lease runs, and still
// after (it is in doubt, resumed, never sent again); once recovery has
// reversed it, the retry gets the decline, replayed.
func TestKeyedPaymentStalePending(t *testing.T) {
	const pan = "3566002020360505"
	f := newFreezer(t, paygate.NetworkSale, 4545)
	g := gatewaytest.MustOpen(t, gatewaytest.Options{NetworkTimeout: 5 * time.Second, Acquirer: f.wrap})
	t.Cleanup(func() { close(f.release) })
	body := `{"amount":4545,"currency":"USD","card":{"number":"` + pan + `","exp_month":12,"exp_year":2031,"cvc":"123"}}`
	go func() {
		req, _ := http.NewRequest("POST", g.URL()+"/v1/payments", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+g.SecretKey)
		req.Header.Set("Idempotency-Key", "stale-1")
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
		}
	}()
	<-f.reached
	const lease = time.Minute
	n := g.Reopen(t, gatewaytest.Options{IdempotencyLease: lease})
	s, b, _ := keyedSale(t, n, "stale-1", body)
	if s != 409 || errField(b, "code") != paygate.EIDEMPOTENCYBUSY || !strings.Contains(errField(b, "message"), "still being processed") {
		t.Fatalf("retry during the lease: got %d %v, want 409 still being processed", s, b)
	}
	n.Clock.Advance(lease + time.Second)
	s, b, _ = keyedSale(t, n, "stale-1", body)
	if s != 409 || errField(b, "code") != paygate.EIDEMPOTENCYBUSY || !strings.Contains(errField(b, "message"), "being resolved") {
		t.Fatalf("retry after the lease: got %d %v, want 409 being resolved", s, b)
	}
	n.PastInDoubt()
	if got, err := n.Gateway.Recover(ctx); err != nil || got != 1 {
		t.Fatalf("recover: %d %v", got, err)
	}
	s, b, replayed := keyedSale(t, n, "stale-1", body)
	if s != 402 || !replayed || errField(b, "decline_code") != "issuer_unavailable" || errField(b, "payment_id") == "" {
		t.Fatalf("retry after recovery: got %d %v (replayed %t), want 402 issuer_unavailable, replayed", s, b, replayed)
	}
	if stats := g.Bank.Stats(); stats.Sales != 1 {
		t.Errorf("bank saw %d sales, want 1", stats.Sales)
	}
}

// lookups counts the store's lookups of payments by idempotency key.
type lookups struct {
	paygate.PaymentStore
	n atomic.Int64
}

func (s *lookups) PaymentByIdempotencyKey(ctx context.Context, merchantID, key string) (*paygate.Payment, error) {
	s.n.Add(1)
	return s.PaymentStore.PaymentByIdempotencyKey(ctx, merchantID, key)
}

// TestKeyedPaymentNoLookup: a keyed sale under a new key reads nothing
// before its payment is recorded (the insert is the lookup); a retry
// looks the key up once its insert has failed on it.
func TestKeyedPaymentNoLookup(t *testing.T) {
	store := &lookups{}
	g := gatewaytest.MustOpen(t, gatewaytest.Options{Setup: func(gw *paygate.Gateway) {
		store.PaymentStore, gw.Payments = gw.Payments, store
	}})
	body := `{"amount":700,"currency":"USD","card":{"number":"4242424242424242","exp_month":12,"exp_year":2031,"cvc":"123"}}`
	for i := range 3 {
		if s, b, _ := keyedSale(t, g, fmt.Sprintf("fresh-%d", i), body); s != 200 {
			t.Fatalf("sale %d: got %d %v", i, s, b)
		}
	}
	if n := store.n.Load(); n != 0 {
		t.Errorf("lookups by key for three new keys: got %d, want 0", n)
	}
	if s, b, replayed := keyedSale(t, g, "fresh-1", body); s != 200 || !replayed {
		t.Fatalf("retry: got %d %v (replayed %t), want 200, replayed", s, b, replayed)
	}
	if n := store.n.Load(); n == 0 {
		t.Errorf("lookups by key for a retry: got none, want the key looked up")
	}
}
