package http_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/paygate/paygate"
	"github.com/paygate/paygate/bank"
	"github.com/paygate/paygate/client"
	"github.com/paygate/paygate/internal/gatewaytest"
	"github.com/paygate/paygate/iso8583"
	"github.com/paygate/paygate/node"
)

// tcpNetwork is a bank on its own TCP server and a gateway that reaches it
// over a pooled ISO 8583 link, as `paygate bank` and `serve --acquirer` run.
type tcpNetwork struct {
	bank   *bank.Bank
	server *bank.Server
	link   *iso8583.TCPLink
	g      *gatewaytest.Gateway
}

func newTCPNetwork(t *testing.T, timeout time.Duration, b *bank.Bank, wrap func(paygate.Acquirer) paygate.Acquirer) *tcpNetwork {
	t.Helper()
	if b == nil {
		b = bank.New(nil)
	}
	n := &tcpNetwork{bank: b}
	n.server = &bank.Server{Addr: "127.0.0.1:0", Bank: n.bank}
	if err := n.server.Open(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.server.Close() })
	n.g = gatewaytest.MustOpen(t, gatewaytest.Options{NetworkTimeout: timeout, Acquirer: wrap, TCP: node.AcquirerConfig{
		Addr: n.server.ListenAddr(), Conns: 2,
		Link: iso8583.DialOptions{EchoInterval: 200 * time.Millisecond, ReconnectWait: 20 * time.Millisecond, MaxReconnectWait: 200 * time.Millisecond},
	}})
	n.link = n.g.Link
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := n.link.WaitUp(ctx); err != nil {
		t.Fatal(err)
	}
	return n
}

// settle finishes what is in doubt as the sweeper would, on the clock: it
// waits for the reversals the requests handed to the background (the
// gateway takes no new ones afterwards, as at shutdown), moves the clock
// past InDoubtAfter and recovers until nothing is in doubt (the link may be
// reconnecting), and returns every payment.
func settle(t *testing.T, g *gatewaytest.Gateway, within time.Duration) []*paygate.Payment {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, within)
	defer cancel()
	if err := g.Gateway.Shutdown(sctx); err != nil {
		t.Fatalf("background reversals not done within %v: %v", within, err)
	}
	return awaitSettled(t, g, within, func() {
		g.PastInDoubt()
		g.Gateway.Recover(ctx)
	})
}

// awaitSettled lists the merchant's payments until none (nor any refund) is
// in doubt, calling each before every look, and returns them.
func awaitSettled(t *testing.T, g *gatewaytest.Gateway, within time.Duration, each func()) []*paygate.Payment {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		if each != nil {
			each()
		}
		var all []*paygate.Payment
		after := ""
		for {
			page, more, err := g.Payments.Payments(ctx, paygate.PaymentFilter{MerchantID: g.Merchant.ID, Limit: 100, StartingAfter: after})
			if err != nil {
				t.Fatal(err)
			}
			all = append(all, page...)
			if !more {
				break
			}
			after = page[len(page)-1].ID
		}
		stuck := 0
		for _, p := range all {
			if p.Status.InDoubt() {
				stuck++
			}
			for _, r := range p.Refunds {
				if r.Status == paygate.RefundPending {
					stuck++
				}
			}
		}
		if stuck == 0 {
			return all
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d payments or refunds still in doubt", stuck)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestFaultyLink drives the gateway through every failure of the TCP link
// — answers late past the timeout, answers dropped, the connection closed
// mid-flight, every message delivered twice — and then compares the bank's
// ledger with the gateway's records.
func TestFaultyLink(t *testing.T) {
	var dupMu sync.Mutex
	duplicate := false
	n := newTCPNetwork(t, 150*time.Millisecond, nil, func(a paygate.Acquirer) paygate.Acquirer {
		return acquirerFunc(func(ctx context.Context, r paygate.NetworkRequest) (paygate.NetworkResponse, error) {
			resp, err := a.Send(ctx, r)
			dupMu.Lock()
			dup := duplicate
			dupMu.Unlock()
			if dup {
				a.Send(ctx, r) // the network delivers it again; the answer is ignored
			}
			return resp, err
		})
	})
	c := n.g.Client(client.WithMaxRetries(0))
	cards := []string{"4242424242424242", "5555555555554444", "6011111111111117"}
	before := map[string]int64{}
	for _, pan := range cards {
		a, _ := n.bank.Account(pan)
		before[pan] = a.Posted
	}
	approvals := map[string]bool{}
	var mu sync.Mutex
	burst := func(phase string, count int) {
		var wg sync.WaitGroup
		for i := range count {
			wg.Go(func() {
				pan := cards[i%len(cards)]
				p, err := c.CreatePayment(ctx, client.PaymentParams{Amount: int64(100 + i), Currency: "USD", Card: card(pan, "123"),
					Capture: new(i%2 == 0), OrderID: fmt.Sprintf("%s-%d", phase, i)})
				if err == nil {
					mu.Lock()
					approvals[p.ID] = true
					mu.Unlock()
					if i%4 == 1 { // capture some authorizations through the same faults
						c.Capture(ctx, p.ID, client.CaptureParams{})
					}
				}
			})
		}
		wg.Wait()
	}

	burst("clean", 6)
	n.server.SetFaults(bank.Faults{Delay: 400 * time.Millisecond})
	burst("late", 6)
	n.server.SetFaults(bank.Faults{DropAnswers: true})
	burst("dropped", 6)
	n.server.SetFaults(bank.Faults{CloseAfter: 3})
	burst("closed", 8)
	n.server.SetFaults(bank.Faults{})
	dupMu.Lock()
	duplicate = true
	dupMu.Unlock()
	burst("twice", 6)
	dupMu.Lock()
	duplicate = false
	dupMu.Unlock()

	all := settle(t, n.g, 10*time.Second)
	statuses := map[paygate.PaymentStatus]int{}
	for _, p := range all {
		statuses[p.Status]++
		if approvals[p.ID] && !p.Approved() {
			t.Errorf("payment %s was approved to the merchant but is %s", p.ID, p.Status)
		}
	}
	t.Logf("%d payments: %v; %d approvals seen by the merchant", len(all), statuses, len(approvals))
	if statuses[paygate.StatusFailed] == 0 {
		t.Errorf("no payment failed: the faults did not bite")
	}
	gatewaytest.CheckLedger(t, n.bank, all, cards, before)
}

// TestBankRestart: the bank process goes away mid-run and comes back on the
// same address with its ledger file; the link reconnects, what was in doubt
// is reversed, and the ledger still agrees with the gateway.
func TestBankRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bank.db")
	b, err := bank.Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	n := newTCPNetwork(t, 200*time.Millisecond, b, nil)
	c := n.g.Client(client.WithMaxRetries(0))
	cards := []string{"4242424242424242", "5555555555554444"}
	before := map[string]int64{}
	for _, pan := range cards {
		a, _ := b.Account(pan)
		before[pan] = a.Posted
	}
	var wg sync.WaitGroup
	pay := func(phase string, count int) {
		for i := range count {
			wg.Go(func() {
				c.CreatePayment(ctx, client.PaymentParams{Amount: int64(500 + i), Currency: "USD", Card: card(cards[i%2], "123"),
					Capture: new(i%2 == 0), OrderID: fmt.Sprintf("%s-%d", phase, i)})
			})
		}
	}
	pay("before", 10)
	wg.Wait()
	pay("during", 10)
	// The bank dies while payments are on their way, and comes back.
	addr := n.server.ListenAddr()
	n.server.Close()
	b.Close()
	wg.Wait()
	b2, err := bank.Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer b2.Close()
	srv := &bank.Server{Addr: addr, Bank: b2}
	if err := srv.Open(); err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := n.link.WaitUp(wctx); err != nil {
		t.Fatalf("the link did not come back: %v", err)
	}
	pay("after", 10)
	wg.Wait()

	all := settle(t, n.g, 10*time.Second)
	statuses := map[paygate.PaymentStatus]int{}
	for _, p := range all {
		statuses[p.Status]++
	}
	t.Logf("%d payments: %v", len(all), statuses)
	if statuses[paygate.StatusCaptured]+statuses[paygate.StatusAuthorized] < 15 {
		t.Errorf("too few approvals: %v", statuses)
	}
	gatewaytest.CheckLedger(t, b2, all, cards, before)
}

// readyz returns the status of GET /readyz and its body.
func readyz(t *testing.T, g *gatewaytest.Gateway) (int, map[string]any) {
	t.Helper()
	resp, err := http.Get(g.URL() + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatalf("/readyz: %v", err)
	}
	return resp.StatusCode, out
}

// awaitStatus polls the payment until it has status want.
func awaitStatus(t *testing.T, c *client.Client, id string, want client.Status, within time.Duration) *client.Payment {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		p, err := c.GetPayment(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if p.Status == want {
			return p
		}
		if time.Now().After(deadline) {
			t.Fatalf("payment %s is %s after %v, want %s", id, p.Status, within, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestNetworkFailureWait: how long a merchant waits for its decline when
// the network fails. With answers dropped it is one network timeout — the
// reversal goes on in the background, not in the request — and with the
// acquirer down it is no wait at all (nothing is sent). /readyz says 503
// while the link is down and 200 once it is back; the bank holds nothing
// afterwards.
func TestNetworkFailureWait(t *testing.T) {
	const timeout = time.Second
	n := newTCPNetwork(t, timeout, nil, nil)
	c := n.g.Client(client.WithMaxRetries(0))
	cards := []string{"4242424242424242", "4000110000000009"}
	before := map[string]int64{}
	for _, pan := range cards {
		a, _ := n.bank.Account(pan)
		before[pan] = a.Posted
	}
	if status, body := readyz(t, n.g); status != 200 || body["status"] != "ready" {
		t.Errorf("/readyz with the link up: %d %v", status, body)
	}
	sale := func(pan, order string) (time.Duration, *client.Error) {
		t.Helper()
		start := time.Now()
		_, err := c.CreatePayment(ctx, client.PaymentParams{Amount: 1234, Currency: "USD", Card: card(pan, "123"), OrderID: order})
		waited := time.Since(start)
		e := asError(t, err)
		if e.Status != 402 || e.ResponseCode != "91" || e.PaymentID == "" {
			t.Fatalf("%s: got %d %s %q, want a 402 decline 91 with its payment", order, e.Status, e.ResponseCode, e.PaymentID)
		}
		return waited, e
	}

	// Every answer dropped, the reversal's too: the merchant waits one
	// timeout (it used to wait two: the sale's, then the reversal's).
	n.server.SetFaults(bank.Faults{DropAnswers: true})
	dropped, e := sale(cards[0], "dropped")
	t.Logf("answers dropped: declined after %v (%.2f× the %v network timeout)", dropped, dropped.Seconds()/timeout.Seconds(), timeout)
	if dropped > timeout*16/10 {
		t.Errorf("answers dropped: declined after %v, want about one network timeout (%v)", dropped, timeout)
	}
	if p, _ := c.GetPayment(ctx, e.PaymentID); p.Status != client.StatusPending {
		t.Errorf("in doubt: got status %s, want pending until the reversal is accepted", p.Status)
	}
	n.server.SetFaults(bank.Faults{})

	// The issuer never answers, the acquirer takes the reversal: it is
	// done in the background, with no sweeper running.
	silent, e := sale(cards[1], "silent")
	if silent > timeout*16/10 {
		t.Errorf("silent issuer: declined after %v, want about one network timeout (%v)", silent, timeout)
	}
	awaitStatus(t, c, e.PaymentID, client.StatusFailed, 3*timeout)

	// The acquirer goes away: no wait, nothing sent, /readyz says so.
	addr := n.server.ListenAddr()
	n.server.Close()
	waitFor(t, "the link down", func() bool { return n.link.Up() == 0 })
	status, body := readyz(t, n.g)
	checks, _ := body["checks"].(map[string]any)
	acq, _ := checks["acquirer"].(map[string]any)
	if status != 503 || body["status"] != "unavailable" || acq["status"] != "fail" || acq["connections_up"] != 0.0 {
		t.Errorf("/readyz with the acquirer down: %d %v", status, body)
	}
	if db, _ := checks["database"].(map[string]any); db["status"] != "ok" {
		t.Errorf("/readyz database: %v", db)
	}
	down, e := sale(cards[0], "down")
	t.Logf("acquirer down: declined after %v (%.2f× the %v network timeout)", down, down.Seconds()/timeout.Seconds(), timeout)
	if down > timeout/4 {
		t.Errorf("acquirer down: declined after %v, want at once (the timeout is %v)", down, timeout)
	}
	if p, _ := c.GetPayment(ctx, e.PaymentID); p.Status != client.StatusFailed {
		t.Errorf("not sent: got status %s, want failed at once (nothing to reverse)", p.Status)
	}

	srv := &bank.Server{Addr: addr, Bank: n.bank}
	waitFor(t, "the address free again", func() bool { return srv.Open() == nil })
	defer srv.Close()
	wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := n.link.WaitUp(wctx); err != nil {
		t.Fatalf("the link did not come back: %v", err)
	}
	if status, body := readyz(t, n.g); status != 200 {
		t.Errorf("/readyz with the acquirer back: %d %v", status, body)
	}
	// The dropped sale is reversed by recovery; the ledger agrees.
	all := settle(t, n.g, 10*time.Second)
	for _, p := range all {
		if p.Status != paygate.StatusFailed {
			t.Errorf("payment %s (%s): %s, want failed", p.ID, p.OrderID, p.Status)
		}
	}
	gatewaytest.CheckLedger(t, n.bank, all, cards, before)
}

// TestShutdownStopsBackgroundReversal: a reversal handed to the background
// stops when the gateway shuts down; the payment stays pending in the
// database and recovery reverses it later.
func TestShutdownStopsBackgroundReversal(t *testing.T) {
	const timeout = time.Second
	n := newTCPNetwork(t, timeout, nil, nil)
	c := n.g.Client(client.WithMaxRetries(0))
	const pan = "4242424242424242"
	before, _ := n.bank.Account(pan)
	n.server.SetFaults(bank.Faults{DropAnswers: true})
	_, err := c.CreatePayment(ctx, client.PaymentParams{Amount: 777, Currency: "USD", Card: card(pan, "123")})
	e := asError(t, err)
	// Its reversal is on the network now, its answer dropped too.
	sctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	if err := n.g.Gateway.Shutdown(sctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Shutdown = %v, want the reversal cut short", err)
	}
	if d := time.Since(start); d > timeout/2 {
		t.Errorf("Shutdown took %v, want it to stop the reversal at its deadline", d)
	}
	if p, _ := c.GetPayment(ctx, e.PaymentID); p.Status != client.StatusPending {
		t.Errorf("after shutdown: %s, want pending (left for recovery)", p.Status)
	}
	n.server.SetFaults(bank.Faults{})
	all := settle(t, n.g, 10*time.Second)
	if len(all) != 1 || all[0].Status != paygate.StatusFailed {
		t.Errorf("after recovery: %v, want one failed payment", all)
	}
	gatewaytest.CheckLedger(t, n.bank, all, []string{pan}, map[string]int64{pan: before.Posted})
}

// waitFor polls cond every 5 ms for at most 5 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("not within 5s: %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestReversalOvertakesOriginal: a sale times out on its way to the bank,
// the gateway declines it and reverses it, and the reversal reaches the
// bank before the sale itself does (over TCP: the sale was written on a
// connection the bank reads late, or closes with it unprocessed-yet, while
// the reversal goes on another). The bank answers a reversal of an RRN it
// has not seen by remembering it, so that the late sale is refused (94)
// and nothing is posted. (Before, the bank forgot such a reversal and
// posted the late sale: the gateway had the payment failed, the bank the
// money posted. That is what made TestFaultyLink fail under load, in its
// "closed" phase: the connection closed with messages in flight whose
// processing the bank had not yet reached.)
func TestReversalOvertakesOriginal(t *testing.T) {
	const pan, amount = "4242424242424242", 999
	late := make(chan func(), 1)
	g := gatewaytest.MustOpen(t, gatewaytest.Options{Acquirer: func(a paygate.Acquirer) paygate.Acquirer {
		return acquirerFunc(func(ctx context.Context, r paygate.NetworkRequest) (paygate.NetworkResponse, error) {
			if r.Kind == paygate.NetworkSale && r.Amount == amount {
				// Held on the way: delivered once the reversal is answered.
				late <- func() { a.Send(context.Background(), r) }
				return paygate.NetworkResponse{}, fmt.Errorf("no answer: %w", paygate.ErrNetworkTimeout)
			}
			resp, err := a.Send(ctx, r)
			if r.Kind == paygate.NetworkReverse && r.OriginalAmount == amount {
				(<-late)()
			}
			return resp, err
		})
	}})
	before, _ := g.Bank.Account(pan)
	_, err := g.Client(client.WithMaxRetries(0)).CreatePayment(ctx, client.PaymentParams{Amount: amount, Currency: "USD", Card: card(pan, "123")})
	if e := asError(t, err); e.ResponseCode != "91" {
		t.Fatalf("got %v, want a decline 91", err)
	}
	all := settle(t, g, 10*time.Second)
	if len(all) != 1 || all[0].Status != paygate.StatusFailed {
		t.Fatalf("payments: %v, want one failed", all)
	}
	gatewaytest.CheckLedger(t, g.Bank, all, []string{pan}, map[string]int64{pan: before.Posted})
}
