// Package sqlite stores paygate's data in an embedded SQLite database
// (modernc.org/sqlite, pure Go) in WAL mode with synchronous=FULL: a commit
// is on disk before it is acknowledged.
//
// Writes go through one writer goroutine that groups concurrent writes into
// one transaction (group commit): each write runs in its own savepoint, so one
// failing write does not undo its neighbours, and all of them share a single
// fsync. Reads use a separate pool of connections, which WAL lets run beside
// the writer.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"runtime"
	"sort"
	"strings"
	"time"

	"github.com/paygate/paygate"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

//go:embed migration/*.sql
var migrations embed.FS

// maxBatch bounds how many writes share one commit.
const maxBatch = 256

// DB is an open SQLite database.
type DB struct {
	Path string

	writer *sql.DB
	reader *sql.DB
	ops    chan *op
	done   chan struct{}
	closed chan struct{}
}

type op struct {
	fn  func(tx *sql.Tx) error
	err chan error
}

// Open opens (creating if needed) the database at path, applies migrations
// and starts the writer.
func Open(path string) (*DB, error) {
	if path == "" {
		return nil, errors.New("sqlite: empty path")
	}
	q := url.Values{}
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(FULL)")
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Set("_txlock", "immediate")
	dsn := "file:" + path + "?" + q.Encode()
	w, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	if err := w.Ping(); err != nil {
		w.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	db := &DB{Path: path, writer: w, ops: make(chan *op, 4*maxBatch), done: make(chan struct{}), closed: make(chan struct{})}
	if err := db.migrate(context.Background()); err != nil {
		w.Close()
		return nil, err
	}
	r, err := sql.Open("sqlite", dsn)
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	n := max(4, 2*runtime.GOMAXPROCS(0))
	r.SetMaxOpenConns(n)
	r.SetMaxIdleConns(n)
	db.reader = r
	go db.run()
	return db, nil
}

// Close stops the writer after the writes already queued and closes the
// database.
func (db *DB) Close() error {
	select {
	case <-db.done:
		return nil
	default:
	}
	close(db.done)
	<-db.closed
	return errors.Join(db.reader.Close(), db.writer.Close())
}

// migrate applies the embedded migrations not yet applied, each in its own
// transaction.
func (db *DB) migrate(ctx context.Context) error {
	if _, err := db.writer.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY, applied_at INTEGER NOT NULL)`); err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}
	names, err := fs.Glob(migrations, "migration/*.sql")
	if err != nil {
		return err
	}
	sort.Strings(names)
	for _, name := range names {
		if err := db.migrateOne(ctx, name); err != nil {
			return err
		}
	}
	return nil
}

func (db *DB) migrateOne(ctx context.Context, name string) error {
	tx, err := db.writer.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("migration %s: %w", name, err)
	}
	defer tx.Rollback()
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations WHERE name = ?`, name).Scan(&n); err != nil {
		return fmt.Errorf("migration %s: %w", name, err)
	}
	if n > 0 {
		return nil
	}
	body, err := migrations.ReadFile(name)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, string(body)); err != nil {
		return fmt.Errorf("migration %s: %w", name, err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (name, applied_at) VALUES (?, ?)`, name, time.Now().UnixMicro()); err != nil {
		return fmt.Errorf("migration %s: %w", name, err)
	}
	return tx.Commit()
}

// Migrations lists the applied migrations.
func (db *DB) Migrations(ctx context.Context) ([]string, error) {
	rows, err := db.reader.QueryContext(ctx, `SELECT name FROM schema_migrations ORDER BY name`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, strings.TrimPrefix(s, "migration/"))
	}
	return out, rows.Err()
}

// write runs fn in a transaction shared with other concurrent writes and
// returns once that transaction is durably committed (or fn failed, in which
// case only fn's own changes are rolled back).
func (db *DB) write(ctx context.Context, fn func(tx *sql.Tx) error) error {
	o := &op{fn: fn, err: make(chan error, 1)}
	select {
	case db.ops <- o:
	case <-db.done:
		return errors.New("sqlite: database closed")
	case <-ctx.Done():
		return ctx.Err()
	}
	// Once queued the write will happen: wait for its outcome whatever
	// the context says, so the caller never guesses.
	return <-o.err
}

func (db *DB) run() {
	defer close(db.closed)
	batch := make([]*op, 0, maxBatch)
	for {
		select {
		case o := <-db.ops:
			batch = append(batch[:0], o)
		case <-db.done:
			// Finish what was queued before Close.
			for {
				select {
				case o := <-db.ops:
					db.commit([]*op{o})
				default:
					return
				}
			}
		}
	fill:
		for len(batch) < maxBatch {
			select {
			case o := <-db.ops:
				batch = append(batch, o)
			default:
				break fill
			}
		}
		db.commit(batch)
	}
}

// commit runs a batch of writes in one transaction, one savepoint each.
func (db *DB) commit(batch []*op) {
	errs := make([]error, len(batch))
	tx, err := db.writer.Begin()
	if err != nil {
		for _, o := range batch {
			o.err <- fmt.Errorf("begin: %w", err)
		}
		return
	}
	for i, o := range batch {
		if len(batch) == 1 {
			errs[i] = safeRun(o.fn, tx)
			if errs[i] != nil {
				tx.Rollback()
				o.err <- errs[i]
				return
			}
			continue
		}
		if _, err := tx.Exec("SAVEPOINT w"); err != nil {
			errs[i] = err
			continue
		}
		if errs[i] = safeRun(o.fn, tx); errs[i] != nil {
			tx.Exec("ROLLBACK TO w")
		}
		tx.Exec("RELEASE w")
	}
	if err := tx.Commit(); err != nil {
		for i := range errs {
			if errs[i] == nil {
				errs[i] = fmt.Errorf("commit: %w", err)
			}
		}
	}
	for i, o := range batch {
		o.err <- errs[i]
	}
}

func safeRun(fn func(*sql.Tx) error, tx *sql.Tx) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic in write: %v", r)
		}
	}()
	return fn(tx)
}

// isUnique reports whether err is a UNIQUE or PRIMARY KEY constraint violation.
func isUnique(err error) bool {
	var se *sqlite.Error
	if errors.As(err, &se) {
		c := se.Code()
		return c == sqlite3.SQLITE_CONSTRAINT_UNIQUE || c == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	}
	return false
}

// Times are stored as integer microseconds since the epoch, NULL for zero.
func toTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixMicro()
}

func fromTime(v sql.NullInt64) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return time.UnixMicro(v.Int64).UTC()
}

func notFound(what, id string) error {
	if len(id) > 64 {
		id = id[:64] + "…"
	}
	return paygate.Errorf(paygate.ENOTFOUND, "No such %s: %s.", what, paygate.RedactPANs(id))
}
