// Package postgres stores paygate's data in PostgreSQL through pgx. It
// behaves exactly like package sqlite: the same tables, the same errors, the
// same contract (internal/storetest).
//
// Writes share commits (group commit). A few writer goroutines each own one
// connection; each takes every write queued (up to maxBatch), runs them all
// in one transaction, commits once and then answers them all. PostgreSQL
// aborts a whole transaction when one statement fails, and savepoints cost
// round trips, so a batch runs without them: when a write fails, the batch
// is rolled back, the failing write is set aside and the others run again
// together; each write set aside then runs alone, in its own transaction,
// to get its own answer. A write therefore always returns after the commit
// that made it durable: with several writers there is no order between
// commits, so nothing may be answered before its own commit (sqlite's
// writeAsync has no counterpart here).
//
// Reads go straight to a pgxpool pool. Statements are prepared once per
// connection and cached by pgx.
package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/paygate/paygate"
)

//go:embed migration/*.sql
var migrations embed.FS

// maxBatch bounds how many writes share one commit.
const maxBatch = 256

// migrationLock is the key of the advisory lock held by the transaction of
// each migration, so that processes starting together apply each migration
// once ("paygate1").
const migrationLock int64 = 0x7061796761746531

// Options tune the connections. Zero values take the defaults.
type Options struct {
	// MaxConns bounds the pool of reading connections (default 16).
	// Writers have their own connections on top of these.
	MaxConns int
	// MinConns is how many reading connections are kept open when idle.
	MinConns int
	// MaxConnLifetime closes reading connections older than this
	// (default: pgxpool's, one hour).
	MaxConnLifetime time.Duration
	// Writers is how many connections write, each committing its own
	// batches (default 4).
	Writers int
}

// DB is an open PostgreSQL database.
type DB struct {
	pool     *pgxpool.Pool
	connConf *pgx.ConnConfig // for the writers' connections

	ops     chan *op
	done    chan struct{} // closed by Close
	closed  chan struct{} // closed once every writer has stopped
	writers sync.WaitGroup
	once    sync.Once

	commits atomic.Int64 // transactions the writers committed
}

type op struct {
	fn  func(tx *Tx) error
	err chan error
}

// Tx is a writer's transaction, shared by the writes of a batch.
type Tx struct {
	ctx context.Context
	tx  pgx.Tx
}

// Exec runs a statement in the transaction.
func (t *Tx) Exec(query string, args ...any) (pgconn.CommandTag, error) {
	return t.tx.Exec(t.ctx, query, args...)
}

// QueryRow runs a query that returns one row in the transaction.
func (t *Tx) QueryRow(query string, args ...any) pgx.Row {
	return t.tx.QueryRow(t.ctx, query, args...)
}

// Open connects to the database at dsn (a postgres:// URL or a key=value
// string; runtime parameters such as search_path are passed on to the
// server), applies the migrations and starts the writers.
func Open(ctx context.Context, dsn string, o Options) (*DB, error) {
	conf, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("parse dsn: %w", err) // pgx redacts the password
	}
	if o.MaxConns <= 0 {
		o.MaxConns = 16
	}
	if o.Writers <= 0 {
		o.Writers = 4
	}
	conf.MaxConns = int32(o.MaxConns)
	conf.MinConns = int32(min(max(o.MinConns, 0), o.MaxConns))
	if o.MaxConnLifetime > 0 {
		conf.MaxConnLifetime = o.MaxConnLifetime
	}
	pool, err := pgxpool.NewWithConfig(ctx, conf)
	if err != nil {
		return nil, fmt.Errorf("open postgres: %w", err)
	}
	db := &DB{
		pool:     pool,
		connConf: conf.ConnConfig.Copy(),
		ops:      make(chan *op, 4*maxBatch),
		done:     make(chan struct{}),
		closed:   make(chan struct{}),
	}
	if err := db.Migrate(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	conns := make([]*pgx.Conn, 0, o.Writers)
	for range o.Writers {
		c, err := pgx.ConnectConfig(ctx, db.connConf.Copy())
		if err != nil {
			for _, c := range conns {
				c.Close(context.Background())
			}
			pool.Close()
			return nil, fmt.Errorf("connect writer: %w", err)
		}
		conns = append(conns, c)
	}
	for _, c := range conns {
		w := &writer{db: db, conn: c}
		db.writers.Add(1)
		go w.run()
	}
	go func() {
		db.writers.Wait()
		close(db.closed)
	}()
	return db, nil
}

// Close stops the writers after the writes already queued and closes every
// connection. Closing twice is harmless.
func (db *DB) Close() error {
	db.once.Do(func() {
		close(db.done)
		<-db.closed
		db.pool.Close()
	})
	return nil
}

// Migrate applies the embedded migrations not yet applied, each in its own
// transaction. Processes that migrate at the same time take turns: each
// migration's transaction holds an advisory lock and checks again, once it
// has the lock, whether the migration is still to do.
func (db *DB) Migrate(ctx context.Context) error {
	names, err := fs.Glob(migrations, "migration/*.sql")
	if err != nil {
		return err
	}
	slices.Sort(names)
	applied, err := db.applied(ctx)
	if err != nil {
		return err
	}
	for _, name := range names {
		if applied[name] {
			continue
		}
		if err := db.migrateOne(ctx, name); err != nil {
			return err
		}
	}
	return nil
}

// applied returns the migrations applied so far, without taking the lock.
func (db *DB) applied(ctx context.Context) (map[string]bool, error) {
	var exists bool
	if err := db.pool.QueryRow(ctx, `SELECT to_regclass('schema_migrations') IS NOT NULL`).Scan(&exists); err != nil {
		return nil, fmt.Errorf("look for schema_migrations: %w", err)
	}
	out := map[string]bool{}
	if !exists {
		return out, nil
	}
	rows, err := db.pool.Query(ctx, `SELECT name FROM schema_migrations`)
	if err != nil {
		return nil, fmt.Errorf("select schema_migrations: %w", err)
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("select schema_migrations: %w", err)
	}
	for _, n := range names {
		out[n] = true
	}
	return out, nil
}

func (db *DB) migrateOne(ctx context.Context, name string) error {
	body, err := migrations.ReadFile(name)
	if err != nil {
		return err
	}
	err = pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, migrationLock); err != nil {
			return err
		}
		// Created under the lock: two CREATE TABLE IF NOT EXISTS racing
		// each other can both try to create it.
		if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY, applied_at BIGINT NOT NULL)`); err != nil {
			return err
		}
		var done bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE name = $1)`, name).Scan(&done); err != nil {
			return err
		}
		if done { // another process applied it while we waited for the lock
			return nil
		}
		if _, err := tx.Exec(ctx, string(body)); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO schema_migrations (name, applied_at) VALUES ($1, $2)`, name, time.Now().UnixMicro())
		return err
	})
	if err != nil {
		return fmt.Errorf("migration %s: %w", name, err)
	}
	return nil
}

// Migrations lists the applied migrations.
func (db *DB) Migrations(ctx context.Context) ([]string, error) {
	rows, err := db.pool.Query(ctx, `SELECT name FROM schema_migrations ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("select schema_migrations: %w", err)
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("select schema_migrations: %w", err)
	}
	for i, s := range names {
		names[i] = strings.TrimPrefix(s, "migration/")
	}
	return names, nil
}

// write runs fn in a transaction shared with other concurrent writes and
// returns once that transaction has committed (or fn failed, in which case
// none of fn's changes were kept). fn may run more than once: it must reset
// whatever it reports at its start.
func (db *DB) write(ctx context.Context, fn func(tx *Tx) error) error {
	o := &op{fn: fn, err: make(chan error, 1)}
	// Checked first: the queue has room after Close, and select picks
	// among ready cases at random.
	select {
	case <-db.done:
		return errClosed
	default:
	}
	select {
	case db.ops <- o:
	case <-db.done:
		return errClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	// Once queued the write will happen: wait for its outcome whatever
	// the context says, so the caller never guesses. Unless it was queued
	// as Close stopped the writers: they answer every write they take
	// before they stop, so no answer by then means it never ran.
	select {
	case err := <-o.err:
		return err
	case <-db.closed:
		select {
		case err := <-o.err:
			return err
		default:
			return errClosed
		}
	}
}

var errClosed = errors.New("postgres: database closed")

// writer commits batches of writes on its own connection.
type writer struct {
	db   *DB
	conn *pgx.Conn // nil after a failed reconnection
}

func (w *writer) run() {
	defer w.db.writers.Done()
	defer func() {
		if w.conn != nil {
			w.conn.Close(context.Background())
		}
	}()
	batch := make([]*op, 0, maxBatch)
	for {
		select {
		case o := <-w.db.ops:
			batch = append(batch[:0], o)
		case <-w.db.done:
			// Finish what was queued before Close.
			for {
				batch = w.fill(batch[:0])
				if len(batch) == 0 {
					return
				}
				w.commit(batch)
			}
		}
		w.commit(w.fill(batch))
	}
}

// fill adds the writes waiting in the queue to batch, up to maxBatch.
func (w *writer) fill(batch []*op) []*op {
	for len(batch) < maxBatch {
		select {
		case o := <-w.db.ops:
			batch = append(batch, o)
		default:
			return batch
		}
	}
	return batch
}

// commit runs a batch and answers each of its writes.
func (w *writer) commit(batch []*op) {
	ops := slices.Clone(batch)
	var alone []*op // writes that failed beside others: each runs again alone
	for len(ops) > 0 {
		i, err := w.runTx(ops)
		if i >= 0 && len(ops) > 1 {
			alone = append(alone, ops[i])
			ops = slices.Delete(ops, i, i+1)
			continue
		}
		for _, o := range ops {
			o.err <- err
		}
		break
	}
	for _, o := range alone {
		_, err := w.runTx([]*op{o})
		o.err <- err
	}
}

// runTx runs ops in one transaction and commits it. If an op fails, it
// rolls back and returns the op's index and error; if the transaction
// itself fails, it returns -1 and the error.
func (w *writer) runTx(ops []*op) (int, error) {
	ctx := context.Background()
	if w.conn == nil || w.conn.IsClosed() {
		if w.conn != nil {
			w.conn.Close(ctx)
			w.conn = nil
		}
		c, err := pgx.ConnectConfig(ctx, w.db.connConf.Copy())
		if err != nil {
			return -1, fmt.Errorf("connect writer: %w", err)
		}
		w.conn = c
	}
	ptx, err := w.conn.Begin(ctx)
	if err != nil {
		return -1, fmt.Errorf("begin: %w", err)
	}
	tx := &Tx{ctx: ctx, tx: ptx}
	for i, o := range ops {
		if err := safeRun(o.fn, tx); err != nil {
			ptx.Rollback(ctx)
			return i, err
		}
	}
	if err := ptx.Commit(ctx); err != nil {
		return -1, fmt.Errorf("commit: %w", err)
	}
	w.db.commits.Add(1)
	return -1, nil
}

func safeRun(fn func(*Tx) error, tx *Tx) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic in write: %v", r)
		}
	}()
	return fn(tx)
}

// isUnique reports whether err is a unique (or primary key) violation.
func isUnique(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505"
}

// Times are stored as integer microseconds since the epoch, NULL for zero.
func toTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixMicro()
}

func fromTime(v pgtype.Int8) time.Time {
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
