package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"strings"

	"github.com/paygate/paygate"
	_ "github.com/paygate/paygate/internal/sqlitewal" // a commit's log frames in one write call
	"github.com/paygate/paygate/internal/sqlstore"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// dialect is how SQLite spells what package sqlstore's queries leave open.
// Booleans are 1 and 0: the partial indexes are written so, and SQLite
// uses a partial index only for a query that spells its condition the same.
var dialect = &sqlstore.Dialect{True: "1", False: "0", Instr: "instr", IsUnique: isUnique, AnyOf: anyOf}

// isUnique reports whether err is a UNIQUE or PRIMARY KEY constraint violation.
func isUnique(err error) bool {
	var se *sqlite.Error
	if errors.As(err, &se) {
		c := se.Code()
		return c == sqlite3.SQLITE_CONSTRAINT_UNIQUE || c == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	}
	return false
}

// anyOf is "column IN (?, ?, ...)".
func anyOf(column string, values []string) (string, []any) {
	args := make([]any, len(values))
	for i, v := range values {
		args[i] = v
	}
	return column + " IN (" + strings.TrimSuffix(strings.Repeat("?, ", len(values)), ", ") + ")", args
}

// Stores returns the stores on db (package sqlstore's, run by db).
func (db *DB) Stores() paygate.Stores {
	return sqlstore.New(engine{db}, dialect, paygate.Stores{Engine: "sqlite", Applied: db.Applied, Migrations: db.Migrations, Observe: db.SetObserver, Close: db.Close})
}

// engine is db as package sqlstore's stores use it: reads on the pool of
// readers, writes through the writer.
type engine struct{ db *DB }

func (e engine) Query(ctx context.Context, query string, args ...any) (sqlstore.Rows, error) {
	r, err := e.db.reader.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	return rows{r}, nil
}

func (e engine) QueryRow(ctx context.Context, query string, args ...any) sqlstore.Row {
	return e.db.reader.QueryRowContext(ctx, query, args...)
}

func (e engine) Write(ctx context.Context, w *sqlstore.Write) error { return e.db.write(ctx, w) }

// Synced: readers may see a commit before it is durable (see commit).
func (e engine) Synced(ctx context.Context) error { return e.db.Synced(ctx) }

// rows are *sql.Rows whose Close drops its error (Err reports it).
type rows struct{ *sql.Rows }

func (r rows) Close() { r.Rows.Close() }
