// Package pgtest hands tests schemas in the PostgreSQL database named by
// PAYGATE_TEST_POSTGRES. A new schema costs about 0.3 s here (the
// migrations' tables, indexes and triggers, then DROP SCHEMA), most of a
// store test's time; so a test that only needs the current schema and no
// rows gets one a finished test used, emptied, when there is one (Migrated).
// A test that needs a schema with nothing in it, to migrate it itself,
// gets a new one (Fresh). It belongs to no layer.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/paygate/paygate/postgres"
)

// Env names the variable that holds the DSN of a database the tests may
// use (trust or password in the DSN).
const Env = "PAYGATE_TEST_POSTGRES"

// BaseDSN returns the DSN in PAYGATE_TEST_POSTGRES, or skips tb.
func BaseDSN(tb testing.TB) string {
	tb.Helper()
	dsn := os.Getenv(Env)
	if dsn == "" {
		tb.Skip(Env + " is not set (a DSN of a database the tests may use)")
	}
	return dsn
}

// prefix names this process's kept schemas, so that a later process can
// tell the schemas of one that died (see sweep).
func prefix() string { return "pgtest_" + strconv.Itoa(os.Getpid()) + "_" }

// Fresh returns the DSN of a new, empty schema (no migrations applied),
// dropped when tb ends.
func Fresh(tb testing.TB) string {
	tb.Helper()
	base := BaseDSN(tb)
	schema := "paygate_test_" + token()
	if err := exec(base, "CREATE SCHEMA "+schema); err != nil {
		tb.Fatalf("create schema: %v", err)
	}
	tb.Cleanup(func() {
		if err := exec(base, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			tb.Errorf("drop schema %s: %v", schema, err)
		}
	})
	return WithSearchPath(tb, base, schema)
}

// kept are the emptied schemas of finished tests, ready for the next.
var kept struct {
	sync.Mutex
	free  []string
	swept bool
}

// Migrated returns the DSN of a schema with every migration applied and
// no rows, which tb has to itself until it ends; then it is emptied and
// kept for another test (or dropped, if it cannot be emptied). Main drops
// what is kept when the tests end.
func Migrated(tb testing.TB) string {
	tb.Helper()
	base := BaseDSN(tb)
	kept.Lock()
	if !kept.swept {
		kept.swept = true
		sweep(base)
	}
	var schema string
	if n := len(kept.free); n > 0 {
		schema, kept.free = kept.free[n-1], kept.free[:n-1]
	}
	kept.Unlock()
	if schema == "" {
		schema = prefix() + token()
		if err := exec(base, "CREATE SCHEMA "+schema); err != nil {
			tb.Fatalf("create schema: %v", err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		db, err := postgres.Open(ctx, WithSearchPath(tb, base, schema), postgres.Options{MaxConns: 1, Writers: 1})
		cancel()
		if err != nil {
			exec(base, "DROP SCHEMA "+schema+" CASCADE")
			tb.Fatalf("migrate a new schema: %v", err)
		}
		db.Close()
	}
	tb.Cleanup(func() {
		if err := empty(base, schema); err != nil {
			tb.Logf("empty schema %s for the next test: %v (dropped instead)", schema, err)
			if err := exec(base, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
				tb.Errorf("drop schema %s: %v", schema, err)
			}
			return
		}
		kept.Lock()
		kept.free = append(kept.free, schema)
		kept.Unlock()
	})
	return WithSearchPath(tb, base, schema)
}

// empty deletes every row of schema but its record of migrations, with
// triggers off (the audit log refuses a DELETE otherwise, and foreign keys
// do not matter). DELETE rather than TRUNCATE, which makes new files for
// every table and index: 0.04 s against 0.2 s here. The schema has no
// sequences. It waits at most 5 s for the locks of the test's connections.
// Turning triggers off takes a superuser (the tests' usual postgres role):
// for another role it fails, and Migrated drops the schema instead.
func empty(base, schema string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT quote_ident(tablename) FROM pg_tables WHERE schemaname = $1 AND tablename <> 'schema_migrations'`, schema)
	if err != nil {
		return err
	}
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return err
	}
	if len(tables) == 0 {
		return errors.New("no tables")
	}
	stmts := []string{"SET LOCAL lock_timeout = '5s'", "SET LOCAL session_replication_role = replica"}
	for _, t := range tables {
		stmts = append(stmts, "DELETE FROM "+schema+"."+t)
	}
	tx, err := conn.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(ctx)
	for _, stmt := range stmts {
		if _, err := tx.Exec(ctx, stmt); err != nil {
			return err
		}
	}
	return tx.Commit(ctx)
}

// Main runs the tests, then drops the schemas kept for reuse; a package
// whose tests use Migrated calls it from TestMain.
func Main(m *testing.M) int {
	code := m.Run()
	if base := os.Getenv(Env); base != "" {
		kept.Lock()
		for _, s := range kept.free {
			exec(base, "DROP SCHEMA "+s+" CASCADE")
		}
		kept.free = nil
		kept.Unlock()
	}
	return code
}

// sweep drops the kept schemas of test processes that are gone (killed,
// or without Main).
func sweep(base string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		return
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT nspname FROM pg_namespace WHERE nspname LIKE 'pgtest\_%'`)
	if err != nil {
		return
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return
	}
	for _, s := range names {
		pid, err := strconv.Atoi(strings.Split(s, "_")[1])
		if err != nil || pid == os.Getpid() || alive(pid) {
			continue
		}
		conn.Exec(ctx, "DROP SCHEMA "+pgx.Identifier{s}.Sanitize()+" CASCADE")
	}
}

// WithSearchPath returns dsn with its search_path set to schema.
func WithSearchPath(tb testing.TB, dsn, schema string) string {
	tb.Helper()
	if !strings.HasPrefix(dsn, "postgres://") && !strings.HasPrefix(dsn, "postgresql://") {
		return dsn + " search_path=" + schema // key=value form
	}
	u, err := url.Parse(dsn)
	if err != nil {
		tb.Fatalf("%s: %v", Env, err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// exec runs a statement on a connection of its own.
func exec(dsn, stmt string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	if _, err = conn.Exec(ctx, stmt); err != nil {
		return fmt.Errorf("%s: %w", strings.Fields(stmt)[0], err)
	}
	return nil
}

func token() string {
	b := make([]byte, 8)
	rand.Read(b)
	return hex.EncodeToString(b)
}
