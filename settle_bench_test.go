package paygate_test

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/paygate/paygate"
	"github.com/paygate/paygate/internal/gatewaytest"
	"github.com/paygate/paygate/internal/pgtest"
	"github.com/paygate/paygate/sqlite"
	_ "modernc.org/sqlite"
)

// BenchmarkCloseBatch closes a batch of N captured transactions (N from
// PAYGATE_BENCH_BATCH, default 100000) with the fake in-balance settler, and
// in the same run inserts N rows shaped like a batch item (what the 0320
// upload carries) into the same database the plain way (transactions of 10,000 rows, multi-row VALUES);
// it prints both rates in transactions (rows) per second, their ratio (goal
// ≥ 0.5) and the close's peak memory. The N payments are made with bulk
// SQL, not through the API. On SQLite, and on PostgreSQL when
// PAYGATE_TEST_POSTGRES is set:
//
//	PAYGATE_BENCH_BATCH=1000000 go test . -run '^$' -bench CloseBatch -benchtime 1x
//
// The close is everything CloseBatch does: the claim (one transaction that
// stamps N payments with the batch), the 0500 to the fake acquirer, the
// fees over the items (summed in SQL), and the deposit. The fake acquirer
// compares with its own record of the batch (Settler.Record: its totals
// and fees, as the bank keeps its own as it approves) instead of reading
// the gateway's items back; the deposit must still equal what it funds, so
// the gateway's SQL fee sum is checked against the fees computed in Go item
// by item. ratio-gateway is the close less the time spent inside the
// acquirer's Reconcile (about nothing now); "ratio" is the whole close.
func BenchmarkCloseBatch(b *testing.B) {
	n := 100000
	if v := os.Getenv("PAYGATE_BENCH_BATCH"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 1 {
			b.Fatalf("PAYGATE_BENCH_BATCH=%q: want a positive integer", v)
		}
	}
	b.Run("sqlite", func(b *testing.B) { benchCloseBatch(b, "", n) })
	if os.Getenv("PAYGATE_TEST_POSTGRES") != "" {
		b.Run("postgres", func(b *testing.B) { benchCloseBatch(b, pgtest.Fresh(b), n) }) // a schema of its own: it adds a table
	}
}

// rawDB is plain SQL on the benchmark's database, beside the gateway's.
type rawDB struct {
	exec  func(ctx context.Context, q string, args ...any) error
	close func()
	ph    func(i int) string // the i-th placeholder (from 1)
}

func openRaw(b *testing.B, g *gatewaytest.Gateway) *rawDB {
	ctx := context.Background()
	if g.Postgres != "" {
		c, err := pgx.Connect(ctx, g.Postgres)
		if err != nil {
			b.Fatal(err)
		}
		return &rawDB{
			exec:  func(ctx context.Context, q string, args ...any) error { _, err := c.Exec(ctx, q, args...); return err },
			close: func() { c.Close(context.Background()) },
			ph:    func(i int) string { return "$" + strconv.Itoa(i) },
		}
	}
	// The gateway's own settings: WAL, synchronous=FULL.
	q := url.Values{"_pragma": {"busy_timeout(10000)", "journal_mode(WAL)", "synchronous(FULL)", "foreign_keys(1)"}, "_txlock": {"immediate"}}
	db, err := sql.Open("sqlite", sqlite.URI(g.DBPath, q))
	if err != nil {
		b.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	return &rawDB{
		exec: func(ctx context.Context, q string, args ...any) error {
			_, err := db.ExecContext(ctx, q, args...)
			return err
		},
		close: func() { db.Close() },
		ph:    func(int) string { return "?" },
	}
}

func benchCloseBatch(b *testing.B, pg string, n int) {
	ctx := context.Background()
	g := gatewaytest.MustOpen(b, gatewaytest.Options{Postgres: pg, Quiet: true})
	settler := gatewaytest.NewSettler(g.Gateway)
	timed := &timedSettler{Settler: settler}
	g.Gateway.Settler = timed
	raw := openRaw(b, g)
	defer raw.close()
	engine := "SQLite"
	if pg != "" {
		engine = "PostgreSQL"
	}

	// N captured payments of the merchant, approved an hour ago.
	at := g.Clock.Now().Add(-time.Hour).UnixMicro()
	series := `WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < ` + strconv.Itoa(n) + `) SELECT i FROM s`
	blob, pad := `x'00'`, `printf('%012d', i)`
	if pg != "" {
		series, blob, pad = `SELECT i FROM generate_series(1, `+strconv.Itoa(n)+`) AS i`, `'\x00'::bytea`, `lpad(i::text, 12, '0')`
	}
	start := time.Now()
	err := raw.exec(ctx, `INSERT INTO payments (id, merchant_id, status, amount, currency, amount_captured, capture_requested, brand,
		first6, last4, exp_month, exp_year, fingerprint, pan_key_id, pan, confirmation_number, stan, rrn, transmitted_at, auth_code,
		response_code, created_at, updated_at, captured_at)
		SELECT 'pay_bench_' || `+pad+`, `+raw.ph(1)+`, 'captured', 1000 + i % 9000, 'USD', 1000 + i % 9000, `+boolLit(pg)+`, 'visa',
		'424242', '4242', 12, 2030, 'fp_' || `+pad+`, 'dk_bench', `+blob+`, 'BENCH' || `+pad+`, '000001', 'b' || `+pad+`, `+raw.ph(2)+`,
		'A1B2C3', '00', `+raw.ph(3)+`, `+raw.ph(4)+`, `+raw.ph(5)+`
		FROM (`+series+`) AS t`, g.Merchant.ID, at, at, at, at)
	if err != nil {
		b.Fatalf("insert %d payments: %v", n, err)
	}
	b.Logf("%s: made %d captured payments in %s", engine, n, time.Since(start).Round(time.Millisecond))
	// The acquirer approved them too and keeps its own totals: it compares
	// those, as the bank does, rather than reading the gateway's items back.
	var want paygate.Totals
	var fees int64
	for i := 1; i <= n; i++ {
		amount := int64(1000 + i%9000)
		want.DebitsCount, want.DebitsAmount = want.DebitsCount+1, want.DebitsAmount+amount
		fees += paygate.DefaultPricing.Fee(&paygate.BatchItem{Kind: "debit", Amount: amount, CardBrand: "visa", CardType: "credit"})
	}

	// The baseline: N narrow rows like a batch item, 10,000 a transaction, in
	// multi-row INSERTs (of 500 rows: SQLite's limit on parameters).
	if err := raw.exec(ctx, `CREATE TABLE bench_items (batch_id TEXT NOT NULL, rrn TEXT NOT NULL, kind TEXT NOT NULL, payment_id TEXT NOT NULL,
		refund_id TEXT NOT NULL DEFAULT '', stan TEXT NOT NULL, auth_code TEXT NOT NULL, amount BIGINT NOT NULL, currency TEXT NOT NULL,
		card_brand TEXT NOT NULL, card_type TEXT NOT NULL, card_last4 TEXT NOT NULL, approved_at BIGINT, PRIMARY KEY (batch_id, rrn))`); err != nil {
		b.Fatal(err)
	}
	const perTx, perStmt, cols = 10000, 500, 11
	var stmt strings.Builder
	stmt.WriteString(`INSERT INTO bench_items (batch_id, rrn, kind, payment_id, stan, auth_code, amount, currency, card_brand, card_type, card_last4, approved_at) VALUES `)
	for r := 0; r < perStmt; r++ {
		if r > 0 {
			stmt.WriteString(", ")
		}
		stmt.WriteString("('bat_bench', ")
		for c := 1; c <= cols; c++ {
			if c > 1 {
				stmt.WriteString(", ")
			}
			stmt.WriteString(raw.ph(r*cols + c))
		}
		stmt.WriteString(")")
	}
	insert := stmt.String()
	args := make([]any, perStmt*cols)
	start = time.Now()
	for done := 0; done < n; {
		if err := raw.exec(ctx, "BEGIN"); err != nil {
			b.Fatal(err)
		}
		for end := min(done+perTx, n); done < end; {
			rows := min(perStmt, end-done)
			for r := 0; r < perStmt; r++ {
				i := done + min(r, rows-1) // a short last statement repeats its last row: skipped by the conflict clause
				args[r*cols], args[r*cols+1], args[r*cols+2] = fmt.Sprintf("b%012d", i), "debit", fmt.Sprintf("pay_bench_%012d", i)
				args[r*cols+3], args[r*cols+4], args[r*cols+5], args[r*cols+6] = "000001", "A1B2C3", int64(1000+i%9000), "USD"
				args[r*cols+7], args[r*cols+8], args[r*cols+9], args[r*cols+10] = "visa", "credit", "4242", at
			}
			if err := raw.exec(ctx, insert+" ON CONFLICT DO NOTHING", args...); err != nil {
				b.Fatalf("baseline insert: %v", err)
			}
			done += rows
		}
		if err := raw.exec(ctx, "COMMIT"); err != nil {
			b.Fatal(err)
		}
	}
	insertSecs := time.Since(start).Seconds()

	// The close, sampling memory meanwhile.
	usd, _ := paygate.LookupCurrency("USD")
	batch, err := g.Gateway.OpenBatch(ctx, g.Merchant, usd)
	if err != nil {
		b.Fatal(err)
	}
	settler.Record(g.Merchant.AcquirerID, usd, batch.Number, want, fees)
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	var peakHeap, peakSys atomic.Uint64
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for {
			var m runtime.MemStats
			runtime.ReadMemStats(&m)
			if m.HeapInuse > peakHeap.Load() {
				peakHeap.Store(m.HeapInuse)
			}
			if m.Sys > peakSys.Load() {
				peakSys.Store(m.Sys)
			}
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	}()
	b.ResetTimer()
	start = time.Now()
	var claimSecs float64
	closed, d, err := g.Gateway.CloseBatchProgress(ctx, g.Merchant, batch.ID, func(_ *paygate.Batch, what string, _, _ int64) {
		if what == paygate.StepAssigned {
			claimSecs = time.Since(start).Seconds()
		}
	})
	closeSecs := time.Since(start).Seconds()
	b.StopTimer()
	close(stop)
	<-sampled
	if err != nil {
		b.Fatalf("close: %v", err)
	}
	if closed.Status != paygate.BatchSettled || closed.Totals.DebitsCount != int64(n) || d == nil || d.Net != settler.Funded() {
		b.Fatalf("close: got %s with %d debits (deposit %v), want settled with %d", closed.Status, closed.Totals.DebitsCount, d, n)
	}
	closeRate, insertRate := float64(n)/closeSecs, float64(n)/insertSecs
	acqSecs := timed.spent.Seconds()
	gwRate := float64(n) / (closeSecs - acqSecs)
	b.ReportMetric(closeRate, "close-tx/s")
	b.ReportMetric(insertRate, "insert-rows/s")
	b.ReportMetric(closeRate/insertRate, "ratio")
	b.ReportMetric(gwRate/insertRate, "ratio-gateway")
	b.ReportMetric(float64(peakHeap.Load())/(1<<20), "peak-heap-MiB")
	fmt.Printf("%s, batch of %d: close %.0f tx/s (%.1f s: claim %.1f s, reconcile and deposit %.1f s, of which %.1f s in the fake acquirer), plain batched insert %.0f rows/s (%.1f s); ratio %.2f (goal 0.5); "+
		"less the acquirer's side %.0f tx/s, ratio %.2f; peak heap in use %.0f MiB (%.0f MiB before), Sys %.0f MiB, VmHWM %s\n",
		engine, n, closeRate, closeSecs, claimSecs, closeSecs-claimSecs, acqSecs, insertRate, insertSecs, closeRate/insertRate, gwRate, gwRate/insertRate,
		float64(peakHeap.Load())/(1<<20), float64(before.HeapInuse)/(1<<20), float64(peakSys.Load())/(1<<20), vmHWM())
}

// timedSettler adds up the time spent inside the acquirer's Reconcile.
type timedSettler struct {
	paygate.Settler
	spent time.Duration
}

func (t *timedSettler) Reconcile(ctx context.Context, r paygate.ReconcileRequest) (paygate.ReconcileResponse, error) {
	start := time.Now()
	resp, err := t.Settler.Reconcile(ctx, r)
	t.spent += time.Since(start)
	return resp, err
}

func boolLit(pg string) string {
	if pg != "" {
		return "true"
	}
	return "1"
}

// vmHWM is the process's peak resident memory (Linux), or "?".
func vmHWM() string {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return "?"
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			return strings.TrimSpace(v)
		}
	}
	return "?"
}
