package http_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/paygate/paygate/internal/gatewaytest"
	"github.com/paygate/paygate/internal/pgtest"
)

var benchConcurrency = flag.Int("bench.concurrency", 64, "concurrent clients in the sales benchmarks")

const benchRound = 2 * time.Second

var saleBody = []byte(`{"amount":1000,"currency":"USD","card":{"number":"4242424242424242","exp_month":12,"exp_year":2031,"cvc":"123"},"order_id":"bench"}`)

var benchKeys atomic.Int64

// load sends sales (or echo requests) from concurrency clients for one
// round and returns the rate of 200 answers per second.
func load(b *testing.B, url, secret string, concurrency int, withKey bool) float64 {
	tr := &http.Transport{MaxIdleConnsPerHost: concurrency * 2, MaxConnsPerHost: concurrency * 2}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr}
	var n, failed atomic.Int64
	deadline := time.Now().Add(benchRound)
	var wg sync.WaitGroup
	start := time.Now()
	for range concurrency {
		wg.Go(func() {
			for time.Now().Before(deadline) {
				req, _ := http.NewRequest("POST", url, bytes.NewReader(saleBody))
				req.Header.Set("Authorization", "Bearer "+secret)
				req.Header.Set("Content-Type", "application/json")
				if withKey {
					req.Header.Set("Idempotency-Key", "bench-"+strconv.FormatInt(benchKeys.Add(1), 10))
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

// BenchmarkSalesVsEcho measures sales per second through the HTTP API (SQLite
// WAL, synchronous=FULL, idempotency keys, the ISO 8583 link and the bank)
// next to a bare net/http JSON echo in the same run, and reports the ratio.
// Run it with:
//
//	go test ./http -run '^$' -bench SalesVsEcho -benchtime 1x
//
// Each side gets the same concurrency and the same time, twice, alternating,
// so that drift on a shared machine hits both.
func BenchmarkSalesVsEcho(b *testing.B) {
	concurrency := *benchConcurrency
	g := gatewaytest.MustOpen(b, gatewaytest.Options{Quiet: true, NetworkTimeout: 10 * time.Second})
	echo := startEcho(b)
	sales := g.URL() + "/v1/payments"
	load(b, echo, g.SecretKey, concurrency, false) // warm up
	load(b, sales, g.SecretKey, concurrency, true)

	var echoRate, saleRate, saleNoKeyRate float64
	for range 2 {
		echoRate += load(b, echo, g.SecretKey, concurrency, false) / 2
		saleRate += load(b, sales, g.SecretKey, concurrency, true) / 2
		saleNoKeyRate += load(b, sales, g.SecretKey, concurrency, false) / 2
	}
	b.ReportMetric(echoRate, "echo/s")
	b.ReportMetric(saleRate, "sales/s")
	b.ReportMetric(saleNoKeyRate, "sales-nokey/s")
	b.ReportMetric(saleRate/echoRate, "ratio")
	fmt.Printf("SQLite, concurrency %d: echo %.0f req/s, sales %.0f/s (with Idempotency-Key), %.0f/s (without); ratio %.2f (goal 0.40)\n",
		concurrency, echoRate, saleRate, saleNoKeyRate, saleRate/echoRate)
}

// BenchmarkSalesVsPgbench measures sales per second through the HTTP API on
// PostgreSQL next to pgbench running single-row inserts (one commit each)
// at the same concurrency against the same server, in the same run, and
// reports the ratio. It needs PAYGATE_TEST_POSTGRES and pgbench:
//
//	PAYGATE_TEST_POSTGRES=postgres://postgres@127.0.0.1:5432/test?sslmode=disable \
//	  go test ./http -run '^$' -bench SalesVsPgbench -benchtime 1x
func BenchmarkSalesVsPgbench(b *testing.B) {
	concurrency := *benchConcurrency
	pgbench, err := exec.LookPath("pgbench")
	if err != nil {
		b.Skip("pgbench is not installed")
	}
	dsn := pgtest.Fresh(b) // a schema of its own: the benchmark adds a table
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		b.Fatal(err)
	}
	schema := cfg.RuntimeParams["search_path"]
	conn, err := pgx.ConnectConfig(context.Background(), cfg)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := conn.Exec(context.Background(), `CREATE TABLE bench_insert (id bigserial PRIMARY KEY, v text NOT NULL, at timestamptz NOT NULL DEFAULT now())`); err != nil {
		b.Fatal(err)
	}
	conn.Close(context.Background())
	script := filepath.Join(b.TempDir(), "insert.sql")
	os.WriteFile(script, []byte("INSERT INTO bench_insert (v) VALUES ('sale');\n"), 0o644)
	tps := regexp.MustCompile(`tps = ([0-9.]+)`)
	runPgbench := func() float64 {
		cmd := exec.Command(pgbench, "-n", "-h", cfg.Host, "-p", strconv.Itoa(int(cfg.Port)), "-U", cfg.User,
			"-c", strconv.Itoa(concurrency), "-j", "2", "-T", strconv.Itoa(int(benchRound.Seconds())), "-f", script, cfg.Database)
		cmd.Env = append(os.Environ(), "PGOPTIONS=-c search_path="+schema)
		out, err := cmd.CombinedOutput()
		m := tps.FindSubmatch(out)
		if err != nil || m == nil {
			b.Fatalf("pgbench: %v\n%s", err, out)
		}
		v, _ := strconv.ParseFloat(string(m[1]), 64)
		return v
	}

	g := gatewaytest.MustOpen(b, gatewaytest.Options{Quiet: true, NetworkTimeout: 10 * time.Second, Postgres: dsn})
	sales := g.URL() + "/v1/payments"
	runPgbench() // warm up
	load(b, sales, g.SecretKey, concurrency, true)
	var pgRate, saleRate float64
	for range 2 {
		pgRate += runPgbench() / 2
		saleRate += load(b, sales, g.SecretKey, concurrency, true) / 2
	}
	b.ReportMetric(pgRate, "pgbench-inserts/s")
	b.ReportMetric(saleRate, "sales/s")
	b.ReportMetric(saleRate/pgRate, "ratio")
	fmt.Printf("PostgreSQL, concurrency %d: pgbench single-row inserts %.0f tps, sales %.0f/s (with Idempotency-Key); ratio %.2f (goal 1.0)\n",
		concurrency, pgRate, saleRate, saleRate/pgRate)
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
