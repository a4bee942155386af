//go:build unix

package sqlite_test

import (
	"context"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/paygate/paygate"
	"github.com/paygate/paygate/internal/storetest"
	"github.com/paygate/paygate/sqlite"
)

// cpuTime is the CPU time this process has used, user and system.
func cpuTime(tb testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkSaleWrites makes the store writes of a keyed sale, as the API
// makes them, from 64 goroutines: the pending payment (its key's record),
// the approval, and the audit row of the request (queued, as the API
// queues it). It reports the CPU the process spent per sale, which is
// mostly the writer's: a figure that moves less with this machine's
// neighbours than sales per second do.
func BenchmarkSaleWrites(b *testing.B) {
	db := MustOpen(b, filepath.Join(b.TempDir(), "bench.db"))
	s := db.Stores()
	m := storetest.MustCreateMerchant(b, s.Merchants, "Acme")
	ctx := context.Background()
	b.SetParallelism(32)
	var audits sync.WaitGroup
	cpu := cpuTime(b)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			now := time.Now()
			p := storetest.NewPayment(b, m.ID, now)
			p.Status, p.AuthCode, p.ResponseCode = paygate.StatusPending, "", ""
			p.IdempotencyKey, p.RequestHash = paygate.RandomToken(16), "h_"+paygate.RandomToken(8)
			if err := s.Payments.CreatePayment(ctx, p); err != nil {
				b.Error(err)
				return
			}
			p.Status, p.AuthCode, p.ResponseCode, p.AmountCaptured, p.CapturedAt = paygate.StatusCaptured, "A1B2C3", "00", p.Amount, now
			if err := s.Payments.UpdatePayment(ctx, p); err != nil {
				b.Error(err)
				return
			}
			a := paygate.NewAuditEntry(nil, "POST /v1/payments", "", "status 201", now).From("127.0.0.1", "")
			a.MerchantID, a.ActorType, a.ActorID = m.ID, paygate.ActorAPIKey, "key_1"
			// As the API records it: queued, not waited for (but
			// counted in before the benchmark ends).
			audits.Add(1)
			s.Audit.(paygate.AuditQueuer).QueueAudit(ctx, a, func(err error) {
				defer audits.Done()
				if err != nil {
					b.Error(err)
				}
			})
		}
	})
	audits.Wait()
	b.StopTimer()
	b.ReportMetric(float64(cpuTime(b)-cpu)/1e3/float64(b.N), "cpu-µs/sale")
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "sales/s")
}

// BenchmarkUnbatched times the sweeper's question, each second, of which
// merchants and currencies have unbatched sales, with 100,000 captured
// payments in the open batch, and reports it as a multiple of the same
// question with 1,000 (x-of-1k, in the same run): it should not grow with
// the batch (a scan of every unbatched payment made it about 100).
func BenchmarkUnbatched(b *testing.B) {
	db := MustOpen(b, filepath.Join(b.TempDir(), "bench.db"))
	s := db.Stores()
	ctx := context.Background()
	m := storetest.MustCreateMerchant(b, s.Merchants, "Acme")
	p := storetest.NewPayment(b, m.ID, time.Now())
	p.Status, p.AmountCaptured, p.CapturedAt = paygate.StatusCaptured, p.Amount, p.CreatedAt
	storetest.MustCreatePayment(b, s.Payments, p)
	// More of the same payment, made by SQL: a store call each would take
	// longer than the benchmark. The unique columns get a suffix.
	w := sqlite.Writer(db)
	var cols, sel []string
	rows, err := w.Query(`SELECT name FROM pragma_table_info('payments')`)
	if err != nil {
		b.Fatal(err)
	}
	for rows.Next() {
		var c string
		rows.Scan(&c)
		cols = append(cols, c)
		if c == "id" || c == "rrn" || c == "confirmation_number" {
			c += " || '-' || g.i"
		}
		sel = append(sel, c)
	}
	rows.Close()
	added := 0
	grow := func(to int) {
		b.Helper()
		if _, err := w.Exec(`WITH RECURSIVE g(i) AS (SELECT ? UNION ALL SELECT i + 1 FROM g WHERE i < ?)
			INSERT INTO payments (`+strings.Join(cols, ", ")+`) SELECT `+strings.Join(sel, ", ")+` FROM payments, g WHERE payments.id = ?`,
			added+1, to-1, p.ID); err != nil {
			b.Fatal(err)
		}
		added = to - 1
	}
	unbatched := func() {
		keys, err := s.Batches.Unbatched(ctx, "")
		if err != nil || len(keys) != 1 {
			b.Fatalf("Unbatched: %v %v, want the merchant's USD", keys, err)
		}
	}
	grow(1000)
	start := time.Now()
	for range b.N {
		unbatched()
	}
	small := time.Since(start)
	grow(100_000)
	b.ResetTimer()
	for range b.N {
		unbatched()
	}
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed())/float64(small), "x-of-1k")
}
