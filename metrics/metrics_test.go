package metrics_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/paygate/paygate"
	"github.com/paygate/paygate/client"
	"github.com/paygate/paygate/internal/gatewaytest"
	"github.com/paygate/paygate/metrics"
)

// scrape reads url's /metrics: each series ("name{k="v",...}", labels as
// the exposition sorts them) with its value.
func scrape(tb testing.TB, base string) map[string]float64 {
	tb.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		tb.Fatalf("GET /metrics: %s", resp.Status)
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			tb.Fatalf("line %q: %v", line, err)
		}
		out[line[:i]] = v
	}
	return out
}

// want checks a series' value.
func want(tb testing.TB, got map[string]float64, series string, v float64) {
	tb.Helper()
	if g, ok := got[series]; !ok {
		tb.Errorf("%s: missing", series)
	} else if g != v {
		tb.Errorf("%s: got %v, want %v", series, g, v)
	}
}

// atLeast checks that a series is there with at least v.
func atLeast(tb testing.TB, got map[string]float64, series string, v float64) {
	tb.Helper()
	if g, ok := got[series]; !ok || g < v {
		tb.Errorf("%s: got %v (present %t), want at least %v", series, g, ok, v)
	}
}

// TestMetricsAfterWorkload runs a known workload, on each engine, and
// scrapes the admin listener: N sales, M declines, one replay of a key,
// and the counts, histograms and gauges they should have moved.
func TestMetricsAfterWorkload(t *testing.T) {
	gatewaytest.Engines(t, func(t *testing.T, pg string) {
		g := gatewaytest.MustOpen(t, gatewaytest.Options{Postgres: pg, AdminAddr: "127.0.0.1:0", Quiet: true})
		admin := g.Node.Admin.URL()
		c := g.Client()
		const sales, declines = 5, 3
		pay := func(number, key string) error {
			_, err := c.CreatePayment(t.Context(), client.PaymentParams{Amount: 1000, Currency: "USD", IdempotencyKey: key, ReceiptEmail: "buyer@example.com",
				Card: &client.CardParams{Number: number, ExpMonth: 12, ExpYear: 2030, CVC: "123"}})
			return err
		}
		for i := range sales {
			if err := pay("4242424242424242", "sale-"+strconv.Itoa(i)); err != nil {
				t.Fatal(err)
			}
		}
		for i := range declines {
			if err := pay("4000000000000002", "decline-"+strconv.Itoa(i)); err == nil {
				t.Fatal("decline approved")
			}
		}
		if err := pay("4242424242424242", "sale-0"); err != nil { // a replay
			t.Fatal(err)
		}
		g.Node.Sweep(t.Context())

		m := scrape(t, admin)
		want(t, m, `paygate_payments_total{code="00",kind="sale",outcome="captured"}`, sales)
		want(t, m, `paygate_payments_total{code="05",kind="sale",outcome="declined"}`, declines)
		want(t, m, `paygate_network_roundtrip_seconds_count{kind="sale",result="00"}`, sales)
		want(t, m, `paygate_network_roundtrip_seconds_count{kind="sale",result="05"}`, declines)
		want(t, m, `paygate_http_requests_total{route="POST /v1/payments",status="200"}`, sales+1)
		want(t, m, `paygate_http_requests_total{route="POST /v1/payments",status="402"}`, declines)
		want(t, m, `paygate_http_request_duration_seconds_count{route="POST /v1/payments"}`, sales+declines+1)
		want(t, m, `paygate_idempotency_requests_total{result="new"}`, sales+declines)
		want(t, m, `paygate_idempotency_requests_total{result="replayed"}`, 1)
		want(t, m, `paygate_idempotency_requests_total{result="mismatch"}`, 0)
		want(t, m, `paygate_sweep_duration_seconds_count`, 1)
		if lag := m[`paygate_sweep_lag_seconds`]; lag < 0 || lag > 60 {
			t.Errorf("sweep lag %v s right after a sweep", lag)
		}
		engine := "sqlite"
		if pg != "" {
			engine = "postgres"
		}
		// Each payment writes at least twice (recorded, then answered).
		atLeast(t, m, `paygate_store_commit_writes_sum{engine="`+engine+`"}`, 2*(sales+declines))
		atLeast(t, m, `paygate_store_commit_seconds_count{engine="`+engine+`"}`, 1)
		want(t, m, `paygate_in_doubt`, 0)
		want(t, m, `paygate_backlog_up`, 1)
		// Each approved sale queues its customer's receipt: kept, with no SMTP server.
		want(t, m, `paygate_mail_queue_depth`, sales)
		want(t, m, `paygate_webhook_queue_depth`, 0)
		atLeast(t, m, `go_goroutines`, 1)

		// The payment page and the dashboard are counted by their own routes.
		get(t, g.URL()+"/dashboard/login")
		get(t, g.URL()+"/pay/ps_nothing")
		m = scrape(t, admin)
		atLeast(t, m, `paygate_http_requests_total{route="GET /dashboard/login",status="200"}`, 1)
		atLeast(t, m, `paygate_http_requests_total{route="GET /pay/{id}",status="404"}`, 1)
	})
}

func get(tb testing.TB, url string) (int, string) {
	tb.Helper()
	resp, err := http.Get(url)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// noAnswer loses the answers to sales, as a network timeout would.
type noAnswer struct{ paygate.Acquirer }

func (a noAnswer) Send(ctx context.Context, req paygate.NetworkRequest) (paygate.NetworkResponse, error) {
	if req.Kind == paygate.NetworkSale {
		return paygate.NetworkResponse{}, fmt.Errorf("sale: %w", paygate.ErrNetworkTimeout)
	}
	return a.Acquirer.Send(ctx, req)
}

// TestNoAnswer: a sale whose answer never came is counted pending (in
// doubt) with no code, its round trip as a timeout, and its reversal.
func TestNoAnswer(t *testing.T) {
	g := gatewaytest.MustOpen(t, gatewaytest.Options{AdminAddr: "127.0.0.1:0", Quiet: true,
		Acquirer: func(a paygate.Acquirer) paygate.Acquirer { return noAnswer{a} }})
	_, err := g.Client(client.WithMaxRetries(0)).CreatePayment(t.Context(), client.PaymentParams{Amount: 1000, Currency: "USD",
		Card: &client.CardParams{Number: "4242424242424242", ExpMonth: 12, ExpYear: 2030, CVC: "123"}})
	if err == nil {
		t.Fatal("no answer, yet approved")
	}
	admin := g.Node.Admin.URL()
	g.Gateway.Shutdown(t.Context()) // waits for the reversal in the background
	m := scrape(t, admin)
	want(t, m, `paygate_payments_total{code="",kind="sale",outcome="pending"}`, 1)
	want(t, m, `paygate_network_roundtrip_seconds_count{kind="sale",result="timeout"}`, 1)
	want(t, m, `paygate_network_roundtrip_seconds_count{kind="reverse",result="00"}`, 1)
}

// TestAdminAddr: the admin listener refuses the public address, and the
// profiles and metrics are served on the admin listener only.
func TestAdminAddr(t *testing.T) {
	for _, tt := range []struct {
		admin, public string
		ok            bool
	}{
		{"127.0.0.1:8080", "127.0.0.1:8080", false},
		{"0.0.0.0:8080", "127.0.0.1:8080", false},
		{"127.0.0.1:8080", ":8080", false},
		{"localhost:8080", "127.0.0.1:8080", false},
		{"[::]:8080", "127.0.0.1:8080", false},
		{"127.0.0.1:9090", "127.0.0.1:8080", true},
		{"127.0.0.1:8080", "10.0.0.1:8080", true},
		{"127.0.0.1:0", "127.0.0.1:0", true},
		{"9090", "127.0.0.1:8080", false},
	} {
		err := metrics.CheckAddr(tt.admin, tt.public)
		if (err == nil) != tt.ok {
			t.Errorf("CheckAddr(%q, %q): got %v, want ok %t", tt.admin, tt.public, err, tt.ok)
		}
	}

	g := gatewaytest.MustOpen(t, gatewaytest.Options{AdminAddr: "127.0.0.1:0", Quiet: true})
	for _, path := range []string{"/metrics", "/debug/pprof/", "/debug/pprof/cmdline"} {
		if status, _ := get(t, g.URL()+path); status != http.StatusNotFound {
			t.Errorf("public %s: got %d, want 404", path, status)
		}
	}
	if status, body := get(t, g.Node.Admin.URL()+"/debug/pprof/"); status != 200 || !strings.Contains(body, "goroutine") {
		t.Errorf("admin /debug/pprof/: got %d %.100q", status, body)
	}
	if status, body := get(t, g.Node.Admin.URL()+"/debug/pprof/heap?debug=1"); status != 200 || !strings.Contains(body, "heap profile") {
		t.Errorf("admin heap profile: got %d %.100q", status, body)
	}
	// No card number reaches the metrics: labels are routes, codes and kinds.
	c := g.Client()
	c.CreatePayment(t.Context(), client.PaymentParams{Amount: 1000, Currency: "USD",
		Card: &client.CardParams{Number: "4242424242424242", ExpMonth: 12, ExpYear: 2030, CVC: "987"}})
	get(t, g.URL()+"/v1/payments/4242424242424242")
	_, body := get(t, g.Node.Admin.URL()+"/metrics")
	if regexp.MustCompile(`424242\d{6,}|4242424242`).MatchString(body) {
		t.Error("a card number in /metrics")
	}
}

// TestHotPathAllocs: once a route, a status and an outcome have been
// seen, observing them again allocates nothing.
func TestHotPathAllocs(t *testing.T) {
	m := metrics.New(metrics.Options{Engine: "sqlite"})
	observe := func() {
		m.Request("POST /v1/payments", 200, time.Millisecond)
		m.Payment(paygate.NetworkSale, paygate.StatusCaptured, "00")
		m.Exchange(paygate.NetworkSale, "00", nil, time.Millisecond)
		m.Idempotency(paygate.IdemReplayed)
		m.Commit(8, time.Millisecond, nil)
	}
	observe()
	if n := testing.AllocsPerRun(100, observe); n != 0 {
		t.Errorf("%v allocations per request observed, want 0", n)
	}
}
