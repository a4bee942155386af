package http_test

import (
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/paygate/paygate"
	"github.com/paygate/paygate/client"
	"github.com/paygate/paygate/internal/gatewaytest"
)

// postKeyed sends a sale with an Idempotency-Key to a node and returns the
// status.
func postKeyed(t *testing.T, g *gatewaytest.Gateway, key, body string) int {
	t.Helper()
	req, _ := http.NewRequest("POST", g.URL()+"/v1/payments", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+g.SecretKey)
	req.Header.Set("Idempotency-Key", key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestPruneIdempotencyOneNode runs the pruning of two nodes on a clock the
// test moves: one node prunes at a time, the other takes over once the
// first one's lease has ended (it died), and expired keys are gone.
func TestPruneIdempotencyOneNode(t *testing.T) {
	gatewaytest.Engines(t, func(t *testing.T, pg string) {
		nodes := gatewaytest.MustOpenNodes(t, 2, gatewaytest.Options{Postgres: pg})
		const sale = `{"amount":1000,"currency":"USD","card":{"number":"4242424242424242","exp_month":12,"exp_year":2031,"cvc":"123"}}`
		keys := []string{"order-1", "order-2", "order-3"}
		for _, k := range keys {
			if got := postKeyed(t, nodes[0], k, sale); got != http.StatusOK {
				t.Fatalf("sale with key %s: status %d", k, got)
			}
		}
		clock := paygate.NewFixedClock(time.Now())
		a := paygate.NewIdempotencyPruner(nodes[0].Idempotency, nodes[0].Jobs, "node-a", clock)
		b := paygate.NewIdempotencyPruner(nodes[1].Idempotency, nodes[1].Jobs, "node-b", clock)
		prune := func(name string, p *paygate.IdempotencyPruner, wantRan bool, wantN int64) {
			t.Helper()
			n, ran, err := p.Prune(t.Context())
			if err != nil || ran != wantRan || n != wantN {
				t.Fatalf("%s at %s: Prune got %d, ran %t, %v; want %d, ran %t", name, clock.Now().Format(time.RFC3339), n, ran, err, wantN, wantRan)
			}
		}
		prune("node a", a, true, 0) // nothing has expired
		prune("node b", b, false, 0)
		clock.Add(30 * time.Minute)
		prune("node a", a, false, 0) // not due again yet
		prune("node b", b, false, 0) // a's lease runs
		// Node a dies. Once its lease has ended, b takes the job over.
		clock.Add(30 * time.Minute)
		prune("node b", b, true, 0)
		// A day later the keys have expired: b prunes them, a may not.
		clock.Add(paygate.IdempotencyTTL)
		prune("node b", b, true, int64(len(keys)))
		prune("node a", a, false, 0)

		// The keys are free again: another request with one is no reuse.
		other := strings.Replace(sale, "1000", "1100", 1)
		if got := postKeyed(t, nodes[1], keys[0], other); got != http.StatusOK {
			t.Errorf("sale with pruned key %s and other parameters: status %d, want 200", keys[0], got)
		}
	})
}

// TestStoragePerSale measures what a sale with an Idempotency-Key costs on
// SQLite, before and after its key expires (figures in the
// README's Storage section; run with -v to see them).
func TestStoragePerSale(t *testing.T) {
	g := gatewaytest.MustOpen(t, gatewaytest.Options{Quiet: true})
	size := func() int64 {
		t.Helper()
		if err := g.SQLite.Checkpoint(t.Context()); err != nil {
			t.Fatal(err)
		}
		var n int64
		for _, p := range []string{g.DBPath, g.DBPath + "-wal"} {
			if fi, err := os.Stat(p); err == nil {
				n += fi.Size()
			}
		}
		return n
	}
	c := g.Client() // it sends an Idempotency-Key with every POST
	// One sale first, so that what every database holds once is counted
	// out (the data key, the first pages of each table and index).
	mustPay(t, c, client.PaymentParams{Amount: 1000, Currency: "USD", Card: card("4242424242424242", "123"), OrderID: "order-0"})
	empty := size()
	const n, workers = 1000, 8
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for w := range workers {
		wg.Go(func() {
			for i := w; i < n; i += workers {
				_, err := c.CreatePayment(t.Context(), client.PaymentParams{Amount: 1000 + int64(i), Currency: "USD",
					Card: card("4242424242424242", "123"), OrderID: fmt.Sprintf("order-%d", i+1)})
				if err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("sale: %v", err)
	}
	full := size()
	clock := paygate.NewFixedClock(time.Now().Add(paygate.IdempotencyTTL + time.Minute))
	pruned, ran, err := paygate.NewIdempotencyPruner(g.Idempotency, g.Jobs, "node", clock).Prune(t.Context())
	if err != nil || !ran || pruned != n+1 {
		t.Fatalf("Prune: got %d, ran %t, %v; want %d", pruned, ran, err, n+1)
	}
	after := size()
	before, kept := float64(full-empty)/n, float64(after-empty)/n
	t.Logf("SQLite, %d sales with Idempotency-Keys: %.0f bytes per sale; after pruning the keys: %.0f bytes per sale (file %d → %d → %d bytes)",
		n, before, kept, empty, full, after)
	// A keyed sale's payment is its own idempotency record (migration
	// 0014): there is no stored response to prune (it was about a third
	// of what a sale cost, some 950 of 3,500 bytes), and expiring the keys
	// (clearing their request hashes) neither gives back nor takes much.
	// What a sale keeps: the payment with its indexes (the dashboard's
	// search indexes, migration 0012, some 250 bytes), its event, and an
	// audit log row for good (audit.go, about 350 bytes with its index).
	if before > 3000 || kept > 1.1*before {
		t.Errorf("bytes per sale: %.0f, after pruning the keys %.0f: want at most 3000, and no more than a tenth more after", before, kept)
	}
}
