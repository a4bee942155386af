package pgtest_test

import (
	"context"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/paygate/paygate"
	"github.com/paygate/paygate/internal/pgtest"
	"github.com/paygate/paygate/postgres"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// A schema that a finished test filled comes back to the next test with
// its migrations and none of its rows, the append-only audit log's
// included.
func TestMigratedIsReusedEmpty(t *testing.T) {
	var first string
	t.Run("fill", func(t *testing.T) {
		first = pgtest.Migrated(t)
		db, err := postgres.Open(t.Context(), first, postgres.Options{MaxConns: 2, Writers: 1})
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		s := db.Stores()
		m, err := paygate.NewMerchant("Acme", "", time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Merchants.CreateMerchant(t.Context(), m); err != nil {
			t.Fatal(err)
		}
		a := paygate.NewAuditEntry(nil, "POST /v1/payments", "", "status 201", time.Now())
		a.MerchantID, a.ActorType, a.ActorID = m.ID, paygate.ActorAPIKey, "key_1"
		if err := s.Audit.AppendAudit(t.Context(), a); err != nil {
			t.Fatal(err)
		}
		if n := count(t, first, "merchants") + count(t, first, "audit_log"); n != 2 {
			t.Fatalf("%d rows written, want 2", n)
		}
	})
	t.Run("reuse", func(t *testing.T) {
		dsn := pgtest.Migrated(t)
		if searchPath(t, dsn) != searchPath(t, first) {
			t.Fatalf("got schema %s, want %s back", searchPath(t, dsn), searchPath(t, first))
		}
		for _, table := range []string{"merchants", "audit_log"} {
			if n := count(t, dsn, table); n != 0 {
				t.Errorf("%s has %d rows left", table, n)
			}
		}
		if n := count(t, dsn, "schema_migrations"); n == 0 {
			t.Error("the record of migrations was emptied too")
		}
		db, err := postgres.Open(t.Context(), dsn, postgres.Options{MaxConns: 2, Writers: 1, NoMigrate: true})
		if err != nil {
			t.Fatalf("open without migrating: %v", err)
		}
		db.Close()
	})
}

func count(t *testing.T, dsn, table string) int {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var n int
	if err := conn.QueryRow(t.Context(), "SELECT count(*) FROM "+table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func searchPath(t *testing.T, dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	return u.Query().Get("search_path")
}
