package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/paygate/paygate"
	"github.com/paygate/paygate/internal/pgtest"
	"github.com/paygate/paygate/internal/storetest"
	"github.com/paygate/paygate/postgres"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// adminDSN returns the database the tests may use, or skips the test.
func adminDSN(tb testing.TB) string { return pgtest.BaseDSN(tb) }

// MustSchema creates an empty schema, dropped when the test ends, and
// returns a DSN whose search_path is that schema.
func MustSchema(tb testing.TB) string { return pgtest.Fresh(tb) }

// MustOpen opens the store at dsn and closes it when the test ends.
func MustOpen(tb testing.TB, dsn string, o postgres.Options) *postgres.DB {
	tb.Helper()
	db, err := postgres.Open(tb.Context(), dsn, o)
	if err != nil {
		tb.Fatalf("Open: %v", err)
	}
	tb.Cleanup(func() {
		if err := db.Close(); err != nil {
			tb.Errorf("Close: %v", err)
		}
	})
	return db
}

// Stores returns every store on db.
func Stores(db *postgres.DB) storetest.Stores { return storetest.Of(db.Stores()) }

// small keeps the connections of the many parallel subtests in check.
var small = postgres.Options{MaxConns: 4, Writers: 2}

func TestStores(t *testing.T) {
	adminDSN(t)
	storetest.Run(t, func(t *testing.T) storetest.Stores {
		return Stores(MustOpen(t, pgtest.Migrated(t), small)) // migrated already: no test here migrates
	})
}

// Four processes starting at once on a fresh schema: each migration is
// applied once, and everyone opens.
func TestMigrateConcurrent(t *testing.T) {
	dsn := MustSchema(t)
	want := storetest.MigrationFiles(t)

	const n = 4
	dbs := make([]*postgres.DB, n)
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			dbs[i], errs[i] = postgres.Open(t.Context(), dsn, postgres.Options{MaxConns: 2, Writers: 1})
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("Open #%d: %v", i, err)
			continue
		}
		t.Cleanup(func() { dbs[i].Close() })
	}
	if t.Failed() {
		t.FailNow()
	}
	for i, db := range dbs {
		got, err := db.Migrations(t.Context())
		if err != nil || !slices.Equal(got, want) {
			t.Errorf("Migrations on #%d: got %v, %v; want %v", i, got, err, want)
		}
	}

	// Writes through one, reads through another: the same tables.
	m := storetest.MustCreateMerchant(t, Stores(dbs[0]).Merchants, "Acme")
	if _, err := Stores(dbs[3]).Merchants.Merchant(t.Context(), m.ID); err != nil {
		t.Errorf("Merchant through another pool: %v", err)
	}

	// Migrating again changes nothing, and so does opening again.
	if err := dbs[1].Migrate(t.Context()); err != nil {
		t.Errorf("Migrate again: %v", err)
	}
	db := MustOpen(t, dsn, postgres.Options{MaxConns: 2, Writers: 1})
	got, err := db.Migrations(t.Context())
	if err != nil || !slices.Equal(got, want) {
		t.Errorf("Migrations after reopening: got %v, %v; want %v", got, err, want)
	}
	if _, err := Stores(db).Merchants.Merchant(t.Context(), m.ID); err != nil {
		t.Errorf("Merchant after reopening: %v", err)
	}
}

// The tables go into the schema of the search_path, not public.
func TestSearchPath(t *testing.T) {
	dsn := MustSchema(t)
	MustOpen(t, dsn, small)
	u, err := url.Parse(dsn)
	schema := u.Query().Get("search_path")
	if err != nil || schema == "" {
		t.Skip("key=value DSN")
	}
	var n int
	err = connect(t, adminDSN(t)).QueryRow(t.Context(), `SELECT count(*) FROM information_schema.tables WHERE table_schema = $1
		AND table_name IN ('payments', 'schema_migrations')`, schema).Scan(&n)
	if err != nil || n != 2 {
		t.Errorf("tables in %s: got %d, %v; want 2", schema, n, err)
	}
}

func connect(tb testing.TB, dsn string) *pgx.Conn {
	tb.Helper()
	conn, err := pgx.Connect(tb.Context(), dsn)
	if err != nil {
		tb.Fatalf("connect: %v", err)
	}
	tb.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

// One write of a batch fails; its neighbours in the same commit do not.
func TestGroupCommitPartialFailure(t *testing.T) {
	db := MustOpen(t, MustSchema(t), postgres.Options{MaxConns: 4, Writers: 1})
	storetest.GroupCommitPartialFailure(t, postgres.Batcher(db))
}

// A batch's writes are answered only once it has committed: what a write
// returned is visible to every other connection.
func TestWriteVisibleOnReturn(t *testing.T) {
	db := MustOpen(t, MustSchema(t), postgres.Options{MaxConns: 8, Writers: 4})
	s := Stores(db)
	m := storetest.MustCreateMerchant(t, s.Merchants, "Acme")
	var wg sync.WaitGroup
	for i := range 32 {
		wg.Go(func() {
			for j := range 10 {
				p := storetest.NewPayment(t, m.ID, storetest.Base.Add(time.Duration(i*10+j)*time.Millisecond))
				if err := s.Payments.CreatePayment(t.Context(), p); err != nil {
					t.Errorf("CreatePayment: %v", err)
					return
				}
				if _, err := s.Payments.Payment(t.Context(), m.ID, p.ID); err != nil {
					t.Errorf("Payment right after CreatePayment returned: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
	if c := postgres.Commits(db); c >= 321 {
		t.Errorf("commits for 321 writes from 32 goroutines: got %d, want fewer (shared)", c)
	}
	t.Logf("321 writes, %d commits", postgres.Commits(db))
}

// Writers whose batches lock the same rows in different orders deadlock
// now and then; PostgreSQL aborts one batch, and its writes run again, so
// callers see only the answers the contract allows.
func TestWritersContend(t *testing.T) {
	db := MustOpen(t, MustSchema(t), postgres.Options{MaxConns: 8, Writers: 4})
	s := Stores(db)
	m := storetest.MustCreateMerchant(t, s.Merchants, "Acme")
	hot := make([]*paygate.Payment, 4)
	for i := range hot {
		hot[i] = storetest.NewPayment(t, m.ID, storetest.Base.Add(time.Duration(i)*time.Second))
		storetest.MustCreatePayment(t, s.Payments, hot[i])
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var wins, conflicts int
	for g := range 32 {
		wg.Go(func() {
			for j := range 20 {
				p := storetest.MustPayment(t, s.Payments, m.ID, hot[(g+j)%len(hot)].ID)
				p.UpdatedAt = p.UpdatedAt.Add(time.Second)
				err := s.Payments.UpdatePayment(t.Context(), p)
				mu.Lock()
				switch {
				case err == nil:
					wins++
				case errors.Is(err, paygate.ErrVersionConflict):
					conflicts++
				default:
					t.Errorf("UpdatePayment: %v", err)
				}
				mu.Unlock()
				rec := &paygate.IdempotencyRecord{MerchantID: m.ID, Key: fmt.Sprint("k", (g*7+j)%5), RequestHash: "h",
					CreatedAt: storetest.Base, LockedAt: storetest.Base}
				if _, err := s.Idempotency.BeginIdempotent(t.Context(), rec, storetest.Base.Add(-time.Hour)); err != nil {
					t.Errorf("BeginIdempotent: %v", err)
				}
			}
		})
	}
	wg.Wait()
	var versions int
	for _, p := range hot {
		versions += storetest.MustPayment(t, s.Payments, m.ID, p.ID).Version - 1
	}
	if versions != wins {
		t.Errorf("versions bumped: got %d, want one per successful update (%d)", versions, wins)
	}
	t.Logf("%d updates, %d conflicts, %d commits", wins, conflicts, postgres.Commits(db))
}

func TestWriteAfterClose(t *testing.T) {
	db, err := postgres.Open(t.Context(), MustSchema(t), small)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	storetest.WriteAfterClose(t, Stores(db), db.Close)
}

// Writes racing Close either succeed, and are then durable, or fail; none hangs.
func TestCloseWhileWriting(t *testing.T) {
	dsn := MustSchema(t)
	db, err := postgres.Open(t.Context(), dsn, small)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	storetest.CloseWhileWriting(t, Stores(db), db.Close, func() storetest.Stores { return Stores(MustOpen(t, dsn, small)) })
}

// BenchmarkCreateUpdatePayment creates a payment and updates it, as a sale
// does, from 16 goroutines per CPU.
func BenchmarkCreateUpdatePayment(b *testing.B) {
	for _, writers := range []int{1, 2, 4} {
		b.Run(fmt.Sprintf("writers=%d", writers), func(b *testing.B) {
			db := MustOpen(b, MustSchema(b), postgres.Options{Writers: writers})
			s := Stores(db)
			m := storetest.MustCreateMerchant(b, s.Merchants, "Acme")
			commits := postgres.Commits(db)
			b.SetParallelism(16)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					p := storetest.NewPayment(b, m.ID, time.Now())
					p.Status = paygate.StatusPending
					if err := s.Payments.CreatePayment(context.Background(), p); err != nil {
						b.Error(err)
						return
					}
					p.Status = paygate.StatusCaptured
					if err := s.Payments.UpdatePayment(context.Background(), p); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "sales/s")
			b.ReportMetric(float64(2*b.N)/float64(postgres.Commits(db)-commits), "writes/commit")
		})
	}
}
