package http_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/paygate/paygate/internal/gatewaytest"
)

// BenchmarkSalesVsEcho measures sales per second through the HTTP API (SQLite
// WAL, synchronous=FULL, idempotency keys, the ISO 8583 link and the bank)
// next to a bare net/http JSON echo in the same run, and reports the ratio.
// Run it with:
//
//	go test ./http -run '^$' -bench SalesVsEcho -benchtime 1x
//
// Each side gets the same concurrency and the same time, twice, alternating,
// so that drift on a shared machine hits both.
var benchConcurrency = flag.Int("bench.concurrency", 64, "concurrent clients in BenchmarkSalesVsEcho")

func BenchmarkSalesVsEcho(b *testing.B) {
	concurrency := *benchConcurrency
	const round = 2 * time.Second
	g := gatewaytest.MustOpen(b, gatewaytest.Options{Quiet: true, NetworkTimeout: 10 * time.Second})
	echo := startEcho(b)
	sale := []byte(`{"amount":1000,"currency":"USD","card":{"number":"4242424242424242","exp_month":12,"exp_year":2031,"cvc":"123"},"order_id":"bench"}`)
	tr := &http.Transport{MaxIdleConnsPerHost: concurrency * 2, MaxConnsPerHost: concurrency * 2}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr}
	var keys atomic.Int64

	run := func(url string, key bool) float64 {
		var n, failed atomic.Int64
		deadline := time.Now().Add(round)
		var wg sync.WaitGroup
		start := time.Now()
		for range concurrency {
			wg.Go(func() {
				for time.Now().Before(deadline) {
					req, _ := http.NewRequest("POST", url, bytes.NewReader(sale))
					req.Header.Set("Authorization", "Bearer "+g.SecretKey)
					req.Header.Set("Content-Type", "application/json")
					if key {
						req.Header.Set("Idempotency-Key", "bench-"+strconv.FormatInt(keys.Add(1), 10))
					}
					resp, err := hc.Do(req)
					if err != nil {
						failed.Add(1)
						continue
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != 200 {
						failed.Add(1)
						continue
					}
					n.Add(1)
				}
			})
		}
		wg.Wait()
		if f := failed.Load(); f > 0 {
			b.Fatalf("%d requests failed", f)
		}
		return float64(n.Load()) / time.Since(start).Seconds()
	}
	// Warm up both (connections, page cache, JIT-free but allocator warm).
	run(echo, false)
	run(g.URL()+"/v1/payments", true)

	var echoRate, saleRate, saleNoKeyRate float64
	for range 2 {
		echoRate += run(echo, false) / 2
		saleRate += run(g.URL()+"/v1/payments", true) / 2
		saleNoKeyRate += run(g.URL()+"/v1/payments", false) / 2
	}
	b.ReportMetric(echoRate, "echo/s")
	b.ReportMetric(saleRate, "sales/s")
	b.ReportMetric(saleNoKeyRate, "sales-nokey/s")
	b.ReportMetric(saleRate/echoRate, "ratio")
	fmt.Printf("concurrency %d: echo %.0f req/s, sales %.0f/s (with Idempotency-Key), %.0f/s (without); ratio %.2f (goal 0.40)\n",
		concurrency, echoRate, saleRate, saleNoKeyRate, saleRate/echoRate)
}

// startEcho serves a bare JSON echo: decode the body, encode it back.
func startEcho(b *testing.B) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var v map[string]any
		if err := json.NewDecoder(r.Body).Decode(&v); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(v)
	})}
	go srv.Serve(ln)
	b.Cleanup(func() { srv.Close() })
	return "http://" + ln.Addr().String() + "/echo"
}
