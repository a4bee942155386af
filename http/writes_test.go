package http_test

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/paygate/paygate/client"
	"github.com/paygate/paygate/internal/gatewaytest"
)

// TestWritesPerSale counts, on PostgreSQL, the rows a keyed sale writes in
// each table and the transactions it commits (reads included), one sale
// at a time so that no commit is shared (run with -v to see the figures).
func TestWritesPerSale(t *testing.T) {
	dsn := gatewaytest.PostgresDSN(t)
	g := gatewaytest.MustOpen(t, gatewaytest.Options{Postgres: dsn, Quiet: true})
	conn, err := pgx.Connect(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	c := g.Client() // an Idempotency-Key with every POST
	pay := func(i int) {
		mustPay(t, c, client.PaymentParams{Amount: 1000 + int64(i), Currency: "USD", Card: card("4242424242424242", "123"), OrderID: fmt.Sprintf("order-%d", i)})
	}
	pay(0)
	type stat struct{ ins, upd, del int64 }
	snap := func() (map[string]stat, int64) {
		t.Helper()
		if _, err := conn.Exec(t.Context(), `SELECT pg_stat_force_next_flush()`); err != nil {
			t.Fatal(err)
		}
		conn.Exec(t.Context(), `SELECT pg_stat_clear_snapshot()`)
		rows, err := conn.Query(t.Context(), `SELECT relname, n_tup_ins, n_tup_upd, n_tup_del FROM pg_stat_user_tables WHERE schemaname = current_schema()`)
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]stat{}
		for rows.Next() {
			var name string
			var s stat
			if err := rows.Scan(&name, &s.ins, &s.upd, &s.del); err != nil {
				t.Fatal(err)
			}
			m[name] = s
		}
		var commits int64
		if err := conn.QueryRow(t.Context(), `SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()`).Scan(&commits); err != nil {
			t.Fatal(err)
		}
		return m, commits
	}
	before, c0 := snap()
	const n = 50
	for i := 1; i <= n; i++ {
		pay(i)
	}
	// The pool's connections report their counts when idle.
	g.Close()
	after, c1 := snap()
	var lines []string
	var total float64
	for name, a := range after {
		b := before[name]
		w := float64(a.ins-b.ins+a.upd-b.upd+a.del-b.del) / n
		if w >= 0.05 {
			lines = append(lines, fmt.Sprintf("%s %.1f (ins %.1f upd %.1f del %.1f)", name, w,
				float64(a.ins-b.ins)/n, float64(a.upd-b.upd)/n, float64(a.del-b.del)/n))
			total += w
		}
	}
	sort.Strings(lines)
	t.Logf("PostgreSQL, per keyed sale: %.1f row writes: %s; %.1f transactions committed (reads included)",
		total, strings.Join(lines, ", "), float64(c1-c0)/n)
}
