package postgres

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/paygate/paygate"
	"github.com/paygate/paygate/internal/sqlstore"
)

// dialect is how PostgreSQL spells what package sqlstore's queries leave
// open: numbered arguments, strpos for INSTR, and claims that skip the rows
// another claim holds.
var dialect = &sqlstore.Dialect{Numbered: true, True: "TRUE", False: "FALSE", Instr: "strpos", IsUnique: isUnique, AnyOf: anyOf,
	SkipLocked: "FOR UPDATE SKIP LOCKED"}

// isUnique reports whether err is a unique (or primary key) violation.
func isUnique(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505"
}

// anyOf is "column = ANY(?)": one argument, an array, whatever the count.
func anyOf(column string, values []string) (string, []any) {
	return column + " = ANY(?)", []any{values}
}

// Stores returns the stores on db (package sqlstore's, run by db).
func (db *DB) Stores() paygate.Stores {
	return sqlstore.New(engine{db}, dialect, paygate.Stores{Engine: "postgres", Applied: db.Applied, Migrations: db.Migrations, Observe: db.SetObserver, Close: db.Close})
}

// engine is db as package sqlstore's stores use it: reads on the pool,
// writes through the writers.
type engine struct{ db *DB }

func (e engine) Query(ctx context.Context, query string, args ...any) (sqlstore.Rows, error) {
	return e.db.pool.Query(ctx, query, args...)
}

func (e engine) QueryRow(ctx context.Context, query string, args ...any) sqlstore.Row {
	return e.db.pool.QueryRow(ctx, query, args...)
}

func (e engine) Write(ctx context.Context, w *sqlstore.Write) error { return e.db.write(ctx, w) }
