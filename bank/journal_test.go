package bank_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/paygate/paygate"
	"github.com/paygate/paygate/bank"
	"github.com/paygate/paygate/iso8583"
)

// childEnv names the ledger file a child process of the test binary serves
// (see TestMain and startChild).
const childEnv = "PAYGATE_BANK_TEST_CHILD_LEDGER"

func TestMain(m *testing.M) {
	if path := os.Getenv(childEnv); path != "" {
		os.Exit(serveChild(path))
	}
	os.Exit(m.Run())
}

// serveChild is the child process: a bank on the ledger file at path,
// served on a loopback port it prints. It runs until it is killed, its
// parent goes away (stdin closes) or a minute has passed.
func serveChild(path string) int {
	b, err := bank.Open(path, nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	s := &bank.Server{Addr: "127.0.0.1:0", Bank: b}
	if err := s.Open(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Printf("listening on %s\n", s.ListenAddr())
	go func() {
		io.Copy(io.Discard, os.Stdin)
		os.Exit(3)
	}()
	time.Sleep(time.Minute)
	return 4
}

func mustOpen(tb testing.TB, path string) *bank.Bank {
	tb.Helper()
	b, err := bank.Open(path, nil)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { b.Close() })
	return b
}

func mustClose(tb testing.TB, b *bank.Bank) {
	tb.Helper()
	if err := b.Close(); err != nil {
		tb.Fatal(err)
	}
}

func TestLedgerSurvivesReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bank.db")
	b := mustOpen(t, path)
	if a := mustAccount(t, b, approve); a.Posted != bank.StandardLimit || a.Available != bank.StandardLimit {
		t.Fatalf("new ledger: %+v", a)
	}
	c := client(b, 5*time.Second)
	auth := request(paygate.NetworkAuthorize, approve, 1000)
	authResp := mustSend(t, c, auth)
	sale := request(paygate.NetworkSale, approve, 2500)
	saleResp := mustSend(t, c, sale)
	refund := request(paygate.NetworkRefund, approve, 300)
	refundResp := mustSend(t, c, refund)
	declined := request(paygate.NetworkAuthorize, "4000000000000002", 100)
	declinedResp := mustSend(t, c, declined)
	if !authResp.Approved() || !saleResp.Approved() || !refundResp.Approved() || declinedResp.ResponseCode != "05" {
		t.Fatalf("answers %+v %+v %+v %+v", authResp, saleResp, refundResp, declinedResp)
	}
	before := mustAccount(t, b, approve)
	mustClose(t, b)
	if err := b.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	select {
	case <-b.Done():
	default:
		t.Error("Done not closed after Close")
	}
	if _, err := c.Send(context.Background(), request(paygate.NetworkAuthorize, approve, 1)); !errors.Is(err, bank.ErrClosed) {
		t.Errorf("authorization after Close: %v, want ErrClosed", err)
	}

	b = mustOpen(t, path)
	c = client(b, 5*time.Second)
	after := mustAccount(t, b, approve)
	if after.Available != before.Available || after.Posted != before.Posted || after.Held != before.Held ||
		len(after.Holds) != 2 || after.Holds[auth.RRN] != 1000 || after.Holds[sale.RRN] != 2500 {
		t.Fatalf("after reopen %+v, before %+v", after, before)
	}
	// Nothing is posted before clearing: the sale and the authorization
	// hold.
	start := bank.StandardLimit
	if after.Posted != start || after.Available != start-2500-1000 {
		t.Errorf("after reopen %+v", after)
	}

	// Duplicates get the first answers, from before the restart.
	for _, tc := range []struct {
		req  paygate.NetworkRequest
		want paygate.NetworkResponse
	}{{auth, authResp}, {sale, saleResp}, {refund, refundResp}, {declined, declinedResp}} {
		again := tc.req
		again.STAN = "999999"
		if got := mustSend(t, c, again); got != tc.want {
			t.Errorf("duplicate %s: %+v, first %+v", tc.req.Kind, got, tc.want)
		}
	}
	wrongKind := auth
	wrongKind.Kind = paygate.NetworkSale
	if rc := mustSend(t, c, wrongKind).ResponseCode; rc != "94" {
		t.Errorf("sale with the authorization's RRN: %s, want 94", rc)
	}
	if a := mustAccount(t, b, approve); a.Posted != after.Posted || a.Held != after.Held {
		t.Errorf("duplicates changed the account: %+v", a)
	}

	// The capture of the old hold records its final amount (the hold
	// stays until clearing); the reversal of the old sale releases its
	// hold.
	capture := follow(paygate.NetworkCapture, auth, authResp.AuthCode, 600)
	if rc := mustSend(t, c, capture).ResponseCode; rc != "00" {
		t.Errorf("capture: %s", rc)
	}
	if a := mustAccount(t, b, approve); a.Held != 3500 || a.Posted != start {
		t.Errorf("after capture: %+v", a)
	}
	if rc := mustSend(t, c, follow(paygate.NetworkReverse, sale, saleResp.AuthCode, 0)).ResponseCode; rc != "00" {
		t.Errorf("reversal of the sale: %s", rc)
	}
	if a := mustAccount(t, b, approve); a.Posted != start || a.Held != 1000 {
		t.Errorf("after reversal of the sale: %+v", a)
	}
	next := mustSend(t, c, request(paygate.NetworkAuthorize, approve, 1))
	for _, old := range []string{authResp.AuthCode, saleResp.AuthCode, refundResp.AuthCode} {
		if next.AuthCode == old {
			t.Errorf("auth code %s given again after the restart", old)
		}
	}
	final := mustAccount(t, b, approve)
	mustClose(t, b)

	// Once more: what was done after the first restart is kept too, and a
	// repeated capture or reversal still changes nothing.
	b = mustOpen(t, path)
	c = client(b, 5*time.Second)
	mustSend(t, c, capture)
	mustSend(t, c, follow(paygate.NetworkReverse, sale, saleResp.AuthCode, 0))
	if a := mustAccount(t, b, approve); a.Posted != final.Posted || a.Held != final.Held || a.Available != final.Available {
		t.Errorf("after the second reopen %+v, want %+v", a, final)
	}
	// Clearing posts the capture and credits the refund, and survives a
	// reopen too, with the RRNs forgotten but for the open authorization
	// of 1.
	b.ClearAll()
	if a := mustAccount(t, b, approve); a.Posted != start+300-600 || a.Held != 1 {
		t.Errorf("after clearing: %+v", a)
	}
	cleared := mustAccount(t, b, approve)
	mustClose(t, b)
	b = mustOpen(t, path)
	if a := mustAccount(t, b, approve); a.Posted != cleared.Posted || a.Available != cleared.Available || a.Held != 1 {
		t.Errorf("after clearing and reopen %+v, want %+v", a, cleared)
	}
	if n := b.Remembered(); n != 1 {
		t.Errorf("%d RRNs remembered after clearing and reopen, want 1 (the open authorization)", n)
	}
	// The other accounts are as they were created.
	if a := mustAccount(t, b, "4000000000009995"); a.Limit != 0 || a.Available != 0 {
		t.Errorf("insufficient-funds card: %+v", a)
	}
	if a := mustAccount(t, b, "4000000000009987"); a.Status != bank.StatusLost {
		t.Errorf("lost card: %+v", a)
	}
}

// burstResult is what the senders of a burst of authorizations learnt.
type burstResult struct {
	mu      sync.Mutex
	sent    map[string]int64                   // by RRN: the amount
	acked   map[string]paygate.NetworkResponse // by RRN: answers received
	unknown int                                // sent, no answer
}

// burst sends authorizations of approve from callers goroutines, each until
// one of its requests fails or stop is closed; after acks answers it calls
// interrupt once, while the burst goes on.
func burst(t *testing.T, c *iso8583.Client, callers, acks int, interrupt func()) *burstResult {
	r := &burstResult{sent: map[string]int64{}, acked: map[string]paygate.NetworkResponse{}}
	var once sync.Once
	var wg sync.WaitGroup
	deadline := time.Now().Add(20 * time.Second)
	for range callers {
		wg.Go(func() {
			for time.Now().Before(deadline) {
				req := request(paygate.NetworkAuthorize, approve, 1+next()%997)
				r.mu.Lock()
				r.sent[req.RRN] = req.Amount
				r.mu.Unlock()
				resp, err := c.Send(context.Background(), req)
				r.mu.Lock()
				if err != nil {
					r.unknown++
					r.mu.Unlock()
					return
				}
				if resp.ResponseCode != "00" {
					t.Errorf("authorization answered %s", resp.ResponseCode)
				}
				r.acked[req.RRN] = resp
				n := len(r.acked)
				r.mu.Unlock()
				if n == acks {
					once.Do(interrupt)
				}
			}
			t.Errorf("burst still running after 20s")
		})
	}
	wg.Wait()
	return r
}

// checkBurst checks the reopened ledger against what the senders learnt:
// every answered authorization is held, with its amount and auth code;
// every hold is of an authorization sent. Holds whose answer was lost are
// allowed and counted.
func checkBurst(t *testing.T, b *bank.Bank, r *burstResult) {
	t.Helper()
	a := mustAccount(t, b, approve)
	var sum int64
	for rrn, amount := range a.Holds {
		sum += amount
		sent, ok := r.sent[rrn]
		if !ok {
			t.Errorf("hold of %d under RRN %s, which was never sent", amount, rrn)
		} else if sent != amount {
			t.Errorf("hold of %d under RRN %s, sent for %d", amount, rrn, sent)
		}
	}
	c := client(b, 5*time.Second)
	for rrn, resp := range r.acked {
		if a.Holds[rrn] != r.sent[rrn] {
			t.Errorf("RRN %s was approved (%s) but holds %d after the restart, want %d", rrn, resp.AuthCode, a.Holds[rrn], r.sent[rrn])
			continue
		}
		dup := request(paygate.NetworkAuthorize, approve, r.sent[rrn])
		dup.RRN = rrn
		if got := mustSend(t, c, dup); got.AuthCode != resp.AuthCode || got.ResponseCode != "00" {
			t.Errorf("duplicate of RRN %s answered %+v, first %+v", rrn, got, resp)
		}
	}
	if sum != a.Held || a.Posted != bank.StandardLimit {
		t.Errorf("account %d posted, %d held, holds sum to %d", a.Posted, a.Held, sum)
	}
	if len(r.acked) == 0 {
		t.Errorf("no authorization answered")
	}
	t.Logf("%d sent, %d answered 00, %d without an answer; %d held after the restart (%d held without an answer sent)",
		len(r.sent), len(r.acked), r.unknown, len(a.Holds), len(a.Holds)-len(r.acked))
}

// TestLedgerCloseInBurst closes the bank in the middle of a burst of
// concurrent authorizations and reopens it: no answered hold is lost.
func TestLedgerCloseInBurst(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bank.db")
	b := mustOpen(t, path)
	r := burst(t, client(b, 5*time.Second), 32, 300, func() {
		if err := b.Close(); err != nil {
			t.Error(err)
		}
	})
	if err := b.Err(); !errors.Is(err, bank.ErrClosed) {
		t.Errorf("Err() = %v, want ErrClosed", err)
	}
	checkBurst(t, mustOpen(t, path), r)
}

// startChild runs a bank on the ledger file at path in a child process
// and returns it with its address.
func startChild(t *testing.T, path string) (*exec.Cmd, string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+path)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if _, err := cmd.StdinPipe(); err != nil { // closes when the test ends: the child exits
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if a, ok := strings.CutPrefix(sc.Text(), "listening on "); ok {
				addr <- a
			}
		}
	}()
	select {
	case a := <-addr:
		return cmd, a
	case <-time.After(20 * time.Second):
		t.Fatalf("child bank not listening after 20s; stderr:\n%s", stderr.String())
	}
	return nil, ""
}

// TestLedgerKillInBurst kills a bank process (SIGKILL on Unix) in the
// middle of a burst of authorizations over TCP and reads its ledger file
// back: every authorization answered 00 holds its amount.
func TestLedgerKillInBurst(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bank.db")
	cmd, addr := startChild(t, path)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	link, err := iso8583.Dial(ctx, addr, iso8583.DialOptions{Conns: 2, EchoInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer link.Close()
	for link.Up() < 2 && ctx.Err() == nil {
		time.Sleep(time.Millisecond)
	}
	r := burst(t, iso8583.NewClient(link, 2*time.Second), 48, 400, func() {
		if err := cmd.Process.Kill(); err != nil {
			t.Error(err)
		}
	})
	cmd.Wait()
	checkBurst(t, mustOpen(t, path), r)
}

// TestServerRestartKeepsLedger stops a server and its bank, starts them
// again on the same address and file, and continues over the same link.
func TestServerRestartKeepsLedger(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bank.db")
	b := mustOpen(t, path)
	s := mustServe(t, b)
	addr := s.ListenAddr()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	link, err := iso8583.Dial(ctx, addr, iso8583.DialOptions{Conns: 1, EchoInterval: -1, ReconnectWait: 10 * time.Millisecond, MaxReconnectWait: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer link.Close()
	c := iso8583.NewClient(link, 2*time.Second)
	auth := request(paygate.NetworkAuthorize, approve, 1000)
	authResp := mustSend(t, c, auth)
	sale := request(paygate.NetworkSale, approve, 2500)
	saleResp := mustSend(t, c, sale)

	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	mustClose(t, b)
	for link.Up() > 0 && ctx.Err() == nil {
		time.Sleep(time.Millisecond)
	}
	b = mustOpen(t, path)
	s = &bank.Server{Addr: addr, Bank: b}
	if err := s.Open(); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := link.WaitUp(ctx); err != nil {
		t.Fatal(err)
	}

	again := auth
	again.STAN = "999999"
	if got := mustSend(t, c, again); got != authResp {
		t.Errorf("duplicate after restart: %+v, first %+v", got, authResp)
	}
	if rc := mustSend(t, c, follow(paygate.NetworkCapture, auth, authResp.AuthCode, 1000)).ResponseCode; rc != "00" {
		t.Errorf("capture: %s", rc)
	}
	if rc := mustSend(t, c, follow(paygate.NetworkReverse, sale, saleResp.AuthCode, 0)).ResponseCode; rc != "00" {
		t.Errorf("reversal: %s", rc)
	}
	b.ClearAll()
	if a := mustAccount(t, b, approve); a.Held != 0 || a.Posted != bank.StandardLimit-1000 {
		t.Errorf("after restart, capture, reversal and clearing: %+v", a)
	}
	// The link signs off before the server goes: a link closing while
	// the server drops its connections trips the race detector in
	// iso8583.TCPLink.signOff (an Add racing its own drain's Wait).
	link.Close()
}

func TestOpenErrors(t *testing.T) {
	if _, err := bank.Open("", nil); err == nil {
		t.Error("Open(\"\"): no error")
	}
	dir := t.TempDir()
	if _, err := bank.Open(filepath.Join(dir, "no", "such", "dir.db"), nil); err == nil {
		t.Error("Open in a missing directory: no error")
	}
	junk := filepath.Join(dir, "junk.db")
	if err := os.WriteFile(junk, []byte(strings.Repeat("not a database ", 100)), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := bank.Open(junk, nil); err == nil {
		t.Error("Open of a file that is not SQLite: no error")
	}
	path := filepath.Join(dir, "bank.db")
	b := mustOpen(t, path)
	if _, err := bank.Open(path, nil); err == nil || !strings.Contains(err.Error(), "in use") {
		t.Errorf("second Open of a file in use: %v", err)
	}
	mustClose(t, b)
	mustClose(t, mustOpen(t, path))
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("ledger file mode: %v %v", fi.Mode(), err)
	}
}

// BenchmarkAuthorizeLedger measures authorizations per second in process,
// 32 callers, with the ledger in memory and in a file.
func BenchmarkAuthorizeLedger(b *testing.B) {
	for _, mode := range []string{"memory", "file"} {
		b.Run(mode, func(b *testing.B) {
			bk := bank.New(nil)
			if mode == "file" {
				bk = mustOpen(b, filepath.Join(b.TempDir(), "bank.db"))
			}
			c := client(bk, 5*time.Second)
			var n atomic.Int64
			var wg sync.WaitGroup
			b.ResetTimer()
			start := time.Now()
			for range 32 {
				wg.Go(func() {
					for n.Add(1) <= int64(b.N) {
						resp, err := c.Send(context.Background(), request(paygate.NetworkAuthorize, approve, 1))
						if err != nil || !resp.Approved() {
							b.Error(resp.ResponseCode, err)
							return
						}
					}
				})
			}
			wg.Wait()
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "auth/s")
		})
	}
}

// TestReversalBeforeOriginal: a reversal that overtakes its original is
// remembered (in the ledger file too), so the late original is refused as a
// duplicate and moves no money, for every kind of original.
func TestReversalBeforeOriginal(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bank.db")
	b := mustOpen(t, path)
	c := client(b, 5*time.Second)
	before := mustAccount(t, b, approve)
	var late []paygate.NetworkRequest
	for _, kind := range []paygate.NetworkKind{paygate.NetworkSale, paygate.NetworkAuthorize, paygate.NetworkRefund} {
		orig := request(kind, approve, 700)
		rev := follow(paygate.NetworkReverse, orig, "", 0)
		rev.Advice = true
		if resp := mustSend(t, c, rev); !resp.Approved() {
			t.Fatalf("reversal of an unseen %s: got %s, want 00 (an advice is always taken)", kind, resp.ResponseCode)
		}
		late = append(late, orig)
	}
	mustClose(t, b)
	b = mustOpen(t, path) // what was remembered survives a restart
	c = client(b, 5*time.Second)
	for _, orig := range late {
		if resp := mustSend(t, c, orig); resp.ResponseCode != "94" {
			t.Errorf("late %s after its reversal: got %s, want 94", orig.Kind, resp.ResponseCode)
		}
	}
	if after := mustAccount(t, b, approve); after.Posted != before.Posted || after.Held != before.Held || after.Available != before.Available {
		t.Errorf("account moved: before %+v, after %+v", before, after)
	}
}
