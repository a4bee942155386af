package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/paygate/paygate"
	"github.com/paygate/paygate/bank"
	"github.com/paygate/paygate/internal/gatewaytest"
	"github.com/paygate/paygate/internal/pgtest"
)

// proc is a paygate process started by a test.
type proc struct {
	cmd  *exec.Cmd
	out  chan string // stdout lines
	mu   sync.Mutex
	text strings.Builder
}

func startProc(t *testing.T, bin string, env []string, args ...string) *proc {
	t.Helper()
	p := &proc{cmd: exec.Command(bin, args...), out: make(chan string, 100)}
	p.cmd.Env = append(os.Environ(), env...)
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p.cmd.Stderr = io.Discard
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		p.cmd.Process.Kill()
		p.cmd.Wait()
	})
	go func() {
		s := bufio.NewScanner(stdout)
		for s.Scan() {
			p.mu.Lock()
			p.text.WriteString(s.Text() + "\n")
			p.mu.Unlock()
			select {
			case p.out <- s.Text():
			default:
			}
		}
		close(p.out)
	}()
	return p
}

// waitLine waits (at most 20 s) for a stdout line matching re and returns
// its first group.
func (p *proc) waitLine(t *testing.T, re *regexp.Regexp) string {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		select {
		case line, ok := <-p.out:
			if !ok {
				t.Fatalf("process ended before printing %v", re)
			}
			if m := re.FindStringSubmatch(line); m != nil {
				return m[1]
			}
		case <-deadline:
			t.Fatalf("no line matching %v within 20 s", re)
		}
	}
}

func (p *proc) stdout() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.text.String()
}

// TestMultiProcess runs the real thing: a `paygate bank` process with its
// own ledger file and three `paygate serve` processes on one PostgreSQL
// database, reaching the bank over TCP. A load of concurrent identical and
// conflicting requests goes through a "load balancer" that retries on
// another node; one serve process is killed (SIGKILL) mid-run. Afterwards
// nothing is in doubt and the bank's ledger, read from its file, agrees
// with the gateway's records: nothing charged twice, no hold left behind.
func TestMultiProcess(t *testing.T) {
	pgtest.BaseDSN(t) // or skip
	if testing.Short() {
		t.Skip("runs processes")
	}
	dir := t.TempDir()
	// The test binary doubles as paygate (TestMain): testscript put a
	// copy of it named paygate first on $PATH. No build of its own.
	bin, err := exec.LookPath("paygate")
	if err != nil {
		t.Fatal(err)
	}
	dsn := pgtest.Fresh(t) // a schema of its own: the nodes migrate it
	env := []string{"PAYGATE_MASTER_KEY=" + strings.Repeat("5a", 32), "PAYGATE_LOG_LEVEL=warn"}

	bankDB := filepath.Join(dir, "bank.db")
	bk := startProc(t, bin, env, "bank", "--addr", "127.0.0.1:0", "--db", bankDB)
	bankAddr := bk.waitLine(t, regexp.MustCompile(`bank listening on (\S+)`))

	listening := regexp.MustCompile(`paygate listening on (\S+)`)
	var nodes []*proc
	var urls []string
	for range 3 {
		n := startProc(t, bin, env, "serve", "--db", dsn, "--acquirer", bankAddr, "--addr", "127.0.0.1:0",
			"--network-timeout", "400ms", "--in-doubt-after", "1500ms", "--sweep-interval", "100ms")
		urls = append(urls, n.waitLine(t, listening))
		nodes = append(nodes, n)
	}
	secret := ""
	for _, n := range nodes {
		if m := regexp.MustCompile(`secret key:\s+(sk_\S+)`).FindStringSubmatch(n.stdout()); m != nil {
			secret = m[1]
		}
	}
	if secret == "" {
		t.Fatal("no node printed the demo merchant's key")
	}

	var dead atomic.Bool
	send := func(start int, method, path, key, body string) (int, map[string]any) {
		for attempt := range 80 {
			i := (start + attempt) % 3
			if i == 1 && dead.Load() {
				continue
			}
			req, _ := http.NewRequest(method, urls[i]+path, strings.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+secret)
			if key != "" {
				req.Header.Set("Idempotency-Key", key)
			}
			resp, err := (&http.Client{Timeout: 3 * time.Second}).Do(req)
			if err != nil {
				time.Sleep(50 * time.Millisecond)
				continue
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			var out map[string]any
			json.Unmarshal(b, &out)
			e, _ := out["error"].(map[string]any)
			if resp.StatusCode == 409 && e["code"] == paygate.EIDEMPOTENCYBUSY || resp.StatusCode >= 500 {
				time.Sleep(100 * time.Millisecond)
				continue
			}
			return resp.StatusCode, out
		}
		return 0, nil
	}
	cards := []string{"4242424242424242", "5555555555554444", "6011111111111117"}
	body := func(amount int, pan, order string, capture bool) string {
		return fmt.Sprintf(`{"amount":%d,"currency":"USD","capture":%v,"order_id":%q,"card":{"number":%q,"exp_month":12,"exp_year":2031,"cvc":"123"}}`,
			amount, capture, order, pan)
	}
	var mu sync.Mutex
	same := map[string]map[string]bool{}
	work := make(chan int)
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := range work {
				pan := cards[i%len(cards)]
				switch i % 3 {
				case 0:
					send(w, "POST", "/v1/payments", fmt.Sprintf("sale-%d", i), body(1000+i, pan, fmt.Sprintf("sale-%d", i), true))
				case 1:
					order := fmt.Sprintf("same-%d", i)
					var g sync.WaitGroup
					for n := range 3 {
						g.Go(func() {
							if status, out := send(n, "POST", "/v1/payments", order, body(2000+i, pan, order, true)); status == 200 {
								mu.Lock()
								if same[order] == nil {
									same[order] = map[string]bool{}
								}
								same[order][out["id"].(string)] = true
								mu.Unlock()
							}
						})
					}
					g.Wait()
				case 2:
					status, out := send(w, "POST", "/v1/payments", fmt.Sprintf("auth-%d", i), body(3000+i, pan, fmt.Sprintf("auth-%d", i), false))
					if status != 200 {
						continue
					}
					id := out["id"].(string)
					var g sync.WaitGroup
					for n, op := range []string{"capture", "void", "refunds"} {
						g.Go(func() { send(n, "POST", "/v1/payments/"+id+"/"+op, fmt.Sprintf("%s-%d", op, i), `{}`) })
					}
					g.Wait()
				}
			}
		})
	}
	const total = 60
	for i := range total {
		if i == total/3 {
			dead.Store(true)
			nodes[1].cmd.Process.Signal(syscall.SIGKILL) // no goodbye
		}
		work <- i
	}
	close(work)
	wg.Wait()

	// Everything in doubt gets settled by the surviving nodes.
	var all []map[string]any
	deadline := time.Now().Add(30 * time.Second)
	for {
		all = all[:0]
		after, stuck := "", 0
		for {
			q := "/v1/payments?limit=100"
			if after != "" {
				q += "&starting_after=" + after
			}
			status, out := send(0, "GET", q, "", "")
			if status != 200 {
				t.Fatalf("list: %d %v", status, out)
			}
			data, _ := out["data"].([]any)
			for _, d := range data {
				p := d.(map[string]any)
				all = append(all, p)
				switch p["status"] {
				case "pending", "capturing", "voiding":
					stuck++
				}
				for _, r := range p["refunds"].([]any) {
					if r.(map[string]any)["status"] == "pending" {
						stuck++
					}
				}
			}
			if more, _ := out["has_more"].(bool); !more || len(data) == 0 {
				break
			}
			after = data[len(data)-1].(map[string]any)["id"].(string)
		}
		if stuck == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d payments or refunds still in doubt", stuck)
		}
		time.Sleep(200 * time.Millisecond)
	}
	for order, ids := range same {
		if len(ids) != 1 {
			t.Errorf("order %s: the same request made %d payments", order, len(ids))
		}
	}
	orders := map[string]int{}
	statuses := map[string]int{}
	var records []*paygate.Payment // what the gateway recorded, as its API shows it
	for _, p := range all {
		orders[p["order_id"].(string)]++
		statuses[p["status"].(string)]++
		c := p["card"].(map[string]any)
		amount := func(k string) int64 { f, _ := p[k].(float64); return int64(f) }
		rrn, _ := p["rrn"].(string)
		records = append(records, &paygate.Payment{ID: p["id"].(string), Status: paygate.PaymentStatus(p["status"].(string)),
			Amount: amount("amount"), AmountCaptured: amount("amount_captured"), AmountRefunded: amount("amount_refunded"), RRN: rrn,
			Card: paygate.CardSummary{First6: c["first6"].(string), Last4: c["last4"].(string)}})
	}
	for order, n := range orders {
		if n != 1 {
			t.Errorf("order %s has %d payments, want 1", order, n)
		}
	}
	t.Logf("%d payments: %v", len(all), statuses)

	// Stop the bank and read its ledger from its file.
	bk.cmd.Process.Signal(syscall.SIGTERM)
	bk.cmd.Wait()
	ledger, err := bank.Open(bankDB, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ledger.Close()
	fresh := bank.New(nil)
	before := map[string]int64{}
	for _, pan := range cards {
		start, _ := fresh.Account(pan)
		before[pan] = start.Posted
	}
	gatewaytest.CheckLedger(t, ledger, records, cards, before)
}
