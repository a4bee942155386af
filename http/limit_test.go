package http_test

import (
	"bufio"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/paygate/paygate"
	pghttp "github.com/paygate/paygate/http"
	"github.com/paygate/paygate/internal/gatewaytest"
)

// rawGet sends GET path on c and reads the answer.
func rawGet(t *testing.T, c net.Conn, path string) *http.Response {
	t.Helper()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, "GET "+path+" HTTP/1.1\r\nHost: paygate\r\n\r\n"); err != nil {
		t.Fatalf("write: %v", err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("read answer: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	resp.Body = io.NopCloser(strings.NewReader(string(body)))
	return resp
}

func dial(t *testing.T, g *gatewaytest.Gateway) net.Conn {
	t.Helper()
	_, addr, _ := strings.Cut(g.URL(), "://")
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// checkRefused checks a 503 answer from the connection cap.
func checkRefused(t *testing.T, resp *http.Response) {
	t.Helper()
	var body struct{ Error struct{ Code string } }
	b, _ := io.ReadAll(resp.Body)
	json.Unmarshal(b, &body)
	if resp.StatusCode != 503 || resp.Header.Get("Retry-After") == "" || !resp.Close || body.Error.Code != paygate.EUNAVAILABLE {
		t.Errorf("past the cap: %d Retry-After %q close %v body %s; want 503 with Retry-After and Connection: close",
			resp.StatusCode, resp.Header.Get("Retry-After"), resp.Close, b)
	}
}

// TestConnectionCap: with a cap of N connections, N idle connections are
// held and the next one is answered 503 at once (with Retry-After and
// Connection: close) rather than left hanging; when one closes, the next
// connection is served.
func TestConnectionCap(t *testing.T) {
	const max = 3
	g := gatewaytest.MustOpen(t, gatewaytest.Options{Server: func(s *pghttp.Server) { s.MaxConns = max }})
	held := make([]net.Conn, max)
	for i := range held {
		held[i] = dial(t, g)
	}
	// The server accepts in order: the extra connection comes after the
	// held ones have taken every place.
	checkRefused(t, rawGet(t, dial(t, g), "/healthz"))
	// A held connection is served as usual.
	if resp := rawGet(t, held[0], "/healthz"); resp.StatusCode != 200 {
		t.Errorf("a connection within the cap: %d", resp.StatusCode)
	}
	// One closes: its place goes to the next connection.
	held[1].Close()
	waitFor(t, "a place freed", func() bool {
		return rawGet(t, dial(t, g), "/healthz").StatusCode == 200
	})
}

// TestIdleConnectionsFreePlaces: connections that send nothing, or half a
// request, lose their place after ReadHeaderTimeout; idle keep-alive ones
// after IdleTimeout. They cannot hold the cap forever.
func TestIdleConnectionsFreePlaces(t *testing.T) {
	const max = 3
	const timeout = 300 * time.Millisecond
	g := gatewaytest.MustOpen(t, gatewaytest.Options{Server: func(s *pghttp.Server) {
		s.MaxConns, s.ReadHeaderTimeout, s.IdleTimeout = max, timeout, timeout
	}})
	silent, half, kept := dial(t, g), dial(t, g), dial(t, g)
	io.WriteString(half, "GET /healthz HTTP/1.1\r\nHost: pay")
	if resp := rawGet(t, kept, "/healthz"); resp.StatusCode != 200 {
		t.Fatalf("keep-alive request: %d", resp.StatusCode)
	}
	checkRefused(t, rawGet(t, dial(t, g), "/healthz"))
	start := time.Now()
	for name, c := range map[string]net.Conn{"silent": silent, "half a request": half, "idle keep-alive": kept} {
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, err := io.Copy(io.Discard, c) // until the server closes it
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			t.Errorf("%s connection still open after 5s", name)
		}
	}
	t.Logf("idle connections closed after %v (timeouts %v)", time.Since(start), timeout)
	waitFor(t, "places freed", func() bool {
		return rawGet(t, dial(t, g), "/healthz").StatusCode == 200
	})
}

// limited sends GET /v1/payments with key and returns the answer.
func limited(t *testing.T, g *gatewaytest.Gateway, key, method, body string, header ...string) (*http.Response, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, g.URL()+"/v1/payments", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+key)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatalf("body: %v", err)
	}
	return resp, out
}

// TestRateLimit: each API key has a token bucket; past its burst a request
// gets 429 with Retry-After and the limit in headers, and uses up nothing
// (its Idempotency-Key stays free). A merchant's own limit wins over the
// server's.
func TestRateLimit(t *testing.T) {
	gatewaytest.Engines(t, testRateLimit)
}

func testRateLimit(t *testing.T, pg string) {
	clock := paygate.NewFixedClock(time.Now())
	g := gatewaytest.MustOpen(t, gatewaytest.Options{Postgres: pg, Server: func(s *pghttp.Server) {
		s.RateLimit, s.RateBurst, s.Clock = 2, 3, clock
	}})
	for i := range 3 {
		resp, body := limited(t, g, g.SecretKey, "GET", "")
		if resp.StatusCode != 200 {
			t.Fatalf("request %d within the burst: %d %v", i, resp.StatusCode, body)
		}
		if l, r := resp.Header.Get("X-RateLimit-Limit"), resp.Header.Get("X-RateLimit-Remaining"); l != "2" || r != string(rune('2'-i)) {
			t.Errorf("request %d: X-RateLimit-Limit %q Remaining %q, want 2 and %d", i, l, r, 2-i)
		}
	}
	sale := `{"amount":1500,"currency":"USD","card":{"number":"4242424242424242","exp_month":12,"exp_year":2040,"cvc":"123"}}`
	resp, body := limited(t, g, g.SecretKey, "POST", sale, "Idempotency-Key", "order-1")
	if resp.StatusCode != 429 || errField(body, "code") != paygate.ERATELIMIT || resp.Header.Get("Retry-After") != "1" ||
		resp.Header.Get("X-RateLimit-Limit") != "2" || resp.Header.Get("X-RateLimit-Remaining") != "0" {
		t.Errorf("past the burst: %d %v %v; want 429 rate_limited, Retry-After 1, X-RateLimit-Limit 2, Remaining 0", resp.StatusCode, resp.Header, body)
	}
	if list, _, err := g.Payments.Payments(ctx, paygate.PaymentFilter{MerchantID: g.Merchant.ID, Limit: 10}); err != nil || len(list) != 0 {
		t.Errorf("a refused request made %d payments (%v)", len(list), err)
	}
	// Half a second later one token is back: the same key goes through
	// and makes the payment (the refusal was not stored under the key).
	clock.Add(500 * time.Millisecond)
	resp, body = limited(t, g, g.SecretKey, "POST", sale, "Idempotency-Key", "order-1")
	if resp.StatusCode != 200 || resp.Header.Get("Idempotent-Replayed") != "" || body["status"] != "captured" {
		t.Errorf("after the refill: %d replayed %q %v, want the payment made", resp.StatusCode, resp.Header.Get("Idempotent-Replayed"), body)
	}

	// A merchant with a limit of its own: 1 per second, bursts of 2.
	m, err := paygate.NewMerchant("Slow Store", "slow@example.com", time.Now().UTC())
	if err != nil {
		t.Fatal(err)
	}
	m.RateLimit = 1
	if err := g.Merchants.CreateMerchant(ctx, m); err != nil {
		t.Fatal(err)
	}
	key := g.MustCreateKey(t, m.ID, paygate.KeySecret)
	for i := range 2 {
		if resp, _ := limited(t, g, key, "GET", ""); resp.StatusCode != 200 || resp.Header.Get("X-RateLimit-Limit") != "1" {
			t.Errorf("own limit, request %d: %d X-RateLimit-Limit %q, want 200 and 1", i, resp.StatusCode, resp.Header.Get("X-RateLimit-Limit"))
		}
	}
	if resp, _ := limited(t, g, key, "GET", ""); resp.StatusCode != 429 || resp.Header.Get("X-RateLimit-Burst") != "2" {
		t.Errorf("own limit past its burst of 2: %d burst %q, want 429", resp.StatusCode, resp.Header.Get("X-RateLimit-Burst"))
	}
	// The first merchant's key is unaffected: it has its own bucket.
	clock.Add(time.Second)
	if resp, _ := limited(t, g, g.SecretKey, "GET", ""); resp.StatusCode != 200 {
		t.Errorf("the other merchant's key: %d", resp.StatusCode)
	}
}
