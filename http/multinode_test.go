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
	"github.com/paygate/paygate/internal/gatewaytest"
)

// killable wraps a node's link to the bank: once the node is killed, no
// request leaves it, and an answer already on its way back is lost, as if
// the process had died between sending and recording.
type killable struct {
	dead    atomic.Bool
	release chan struct{}
	// dieAt kills the node when its dieAt-th answer comes back from the
	// bank (0: never), so the death always catches work in flight.
	dieAt   int64
	answers atomic.Int64
	onDeath func()
	once    sync.Once
}

func (k *killable) wrap(a paygate.Acquirer) paygate.Acquirer {
	return acquirerFunc(func(ctx context.Context, r paygate.NetworkRequest) (paygate.NetworkResponse, error) {
		if k.dead.Load() {
			<-k.release
			return paygate.NetworkResponse{}, context.Canceled
		}
		resp, err := a.Send(ctx, r)
		if k.dieAt > 0 && k.answers.Add(1) == k.dieAt {
			k.once.Do(func() { k.dead.Store(true); go k.onDeath() })
		}
		if k.dead.Load() {
			<-k.release
			return paygate.NetworkResponse{}, context.Canceled
		}
		return resp, err
	})
}

// TestMultiNode runs three gateway nodes on one PostgreSQL database and one
// bank, sends them a load of concurrent identical and conflicting requests
// through a "load balancer" that retries on another node, kills one node
// mid-run, and then checks that the bank's ledger and the gateway's records
// agree: nothing charged twice, nothing stuck.
//
// The nodes are three gateways in this test process (each with its own
// connection pool, HTTP server and background sweeper) sharing one
// in-process bank: one bank for several OS processes needs the bank as a
// process of its own, which the TCP link to the acquirer brings.
func TestMultiNode(t *testing.T) {
	pg := gatewaytest.PostgresDSN(t)
	const lease = 1500 * time.Millisecond
	var kills [3]*killable
	for i := range kills {
		kills[i] = &killable{release: make(chan struct{})}
	}
	opts := func(i int) gatewaytest.Options {
		// Each node sweeps in the background, as serve does.
		return gatewaytest.Options{Postgres: pg, NetworkTimeout: 300 * time.Millisecond, IdempotencyLease: lease, Acquirer: kills[i].wrap, Quiet: true,
			SweepInterval: 50 * time.Millisecond, Setup: func(g *paygate.Gateway) { g.InDoubtAfter = time.Second }}
	}
	first := gatewaytest.MustOpen(t, opts(0))
	nodes := []*gatewaytest.Gateway{first, first.Reopen(t, opts(1)), first.Reopen(t, opts(2))}
	// Node 1 dies (no graceful shutdown) with its 12th answer in hand.
	kills[1].dieAt = 12
	kills[1].onDeath = func() {
		nodes[1].Node.StopSweeper()
		nodes[1].Server.Abort()
		nodes[1].CloseDB()
	}
	t.Cleanup(func() {
		for _, k := range kills {
			close(k.release)
		}
	})

	cards := []string{"4242424242424242", "5555555555554444", "378282246310005", "6011111111111117", "3566002020360505"}
	cvc := map[string]string{"378282246310005": "1234"}
	before := map[string]int64{}
	for _, pan := range cards {
		a, _ := first.Bank.Account(pan)
		before[pan] = a.Posted
	}

	// send is the load balancer: it tries node start, then the next one,
	// with the same key, until it gets a final answer.
	var calls atomic.Int64
	send := func(start int, method, path, key, body string) (int, map[string]any) {
		for attempt := range 60 {
			n := nodes[(start+attempt)%3]
			req, _ := http.NewRequest(method, n.URL()+path, strings.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+first.SecretKey)
			if key != "" {
				req.Header.Set("Idempotency-Key", key)
			}
			calls.Add(1)
			resp, err := (&http.Client{Timeout: 3 * time.Second}).Do(req)
			if err != nil {
				time.Sleep(50 * time.Millisecond)
				continue
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			var out map[string]any
			json.Unmarshal(b, &out)
			if resp.StatusCode == 409 && errField(out, "code") == paygate.EIDEMPOTENCYBUSY || resp.StatusCode >= 500 {
				time.Sleep(100 * time.Millisecond)
				continue
			}
			return resp.StatusCode, out
		}
		return 0, nil
	}
	payBody := func(amount int, pan, order string, capture bool) string {
		c := cvc[pan]
		if c == "" {
			c = "123"
		}
		return fmt.Sprintf(`{"amount":%d,"currency":"USD","capture":%v,"order_id":%q,"card":{"number":%q,"exp_month":12,"exp_year":2031,"cvc":%q}}`,
			amount, capture, order, pan, c)
	}

	var wg sync.WaitGroup
	var done atomic.Int64
	var mu sync.Mutex
	groupIDs := map[string]map[string]bool{} // identical requests: order → payment ids seen
	work := make(chan int)
	for w := range 12 {
		wg.Go(func() {
			for i := range work {
				pan := cards[i%len(cards)]
				switch i % 3 {
				case 0: // a plain sale
					send(w, "POST", "/v1/payments", fmt.Sprintf("sale-%d", i), payBody(1000+i, pan, fmt.Sprintf("sale-%d", i), true))
				case 1: // the same request to all three nodes at once
					order := fmt.Sprintf("same-%d", i)
					var g sync.WaitGroup
					for n := range 3 {
						g.Go(func() {
							status, out := send(n, "POST", "/v1/payments", order, payBody(2000+i, pan, order, true))
							if status == 200 {
								mu.Lock()
								if groupIDs[order] == nil {
									groupIDs[order] = map[string]bool{}
								}
								groupIDs[order][out["id"].(string)] = true
								mu.Unlock()
							}
						})
					}
					g.Wait()
				case 2: // an authorization, then capture, void and refund racing on three nodes
					status, out := send(w, "POST", "/v1/payments", fmt.Sprintf("auth-%d", i), payBody(3000+i, pan, fmt.Sprintf("auth-%d", i), false))
					if status != 200 {
						continue
					}
					id := out["id"].(string)
					var g sync.WaitGroup
					for n, op := range []string{"capture", "void", "refunds"} {
						g.Go(func() {
							send(n, "POST", "/v1/payments/"+id+"/"+op, fmt.Sprintf("%s-%d", op, i), `{}`)
						})
					}
					g.Wait()
				}
				done.Add(1)
			}
		})
	}
	const total = 90
	for i := range total {
		work <- i
	}
	close(work)
	wg.Wait()
	t.Logf("%d operations, %d HTTP calls", done.Load(), calls.Load())
	if !kills[1].dead.Load() {
		t.Fatal("node 1 never died: the test proved nothing about a death mid-run")
	}

	// Wait until the surviving nodes have settled everything in doubt.
	all := awaitSettled(t, nodes[0], 20*time.Second, nil) // the surviving nodes' sweepers do the work
	for _, n := range nodes {
		n.Node.StopSweeper()
	}

	// Identical requests made one payment each.
	for order, ids := range groupIDs {
		if len(ids) != 1 {
			t.Errorf("order %s: the same request made %d payments", order, len(ids))
		}
	}
	byOrder := map[string]int{}
	for _, p := range all {
		byOrder[p.OrderID]++
	}
	for order, n := range byOrder {
		if n != 1 {
			t.Errorf("order %s has %d payments, want 1", order, n)
		}
	}

	statuses := map[paygate.PaymentStatus]int{}
	for _, p := range all {
		statuses[p.Status]++
	}
	t.Logf("%d payments: %v", len(all), statuses)
	if len(all) < total/2 {
		t.Errorf("only %d payments were made", len(all))
	}
	// The bank's ledger agrees with the gateway's records, card by card.
	gatewaytest.CheckLedger(t, first.Bank, all, cards, before)
}
