// Package postgres stores paygate's data in PostgreSQL through pgx. It
// behaves exactly like package sqlite: the same tables, the same errors, the
// same contract (internal/storetest).
//
// Writes share commits (group commit). A few writer goroutines each own one
// connection; each takes every write queued (up to maxBatch), runs them all
// in one transaction, commits once and then answers them all. A batch costs
// two round trips: BEGIN and the statements of every write are pipelined,
// then COMMIT goes once their outcomes are known (a write whose next step
// depends on the last, such as a taken idempotency key, runs its next
// statements after the pipeline, in the same transaction).
//
// PostgreSQL aborts a whole transaction when one statement fails, and
// savepoints would cost round trips, so a batch runs without them: when a
// write fails, the batch is rolled back, the failing write is set aside and
// the others run again together; each write set aside then runs alone, in
// its own transaction, to get its own answer. (Running every write of the
// batch alone after a failure, the simpler rule, turns one version conflict
// in a batch of 200 into 200 commits.)
//
// A write returns only after the commit that made it durable: with several
// writers there is no order between commits, so a later commit does not
// cover an earlier write, and a Lazy write (see sqlstore.Write) waits like
// any other. A write that runs Alone (reserving numbers, claiming a job,
// purging) commits on its own, on the pool, outside the batches.
//
// Reads go straight to a pgxpool pool. Statements are prepared once per
// connection and cached by pgx.
//
// The stores themselves, their SQL included, are package sqlstore's,
// shared with package sqlite: this package runs their reads and writes.
package postgres

import (
	"cmp"
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/paygate/paygate"
	"github.com/paygate/paygate/internal/sqlstore"
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
	// batches (default 4). Fewer writers make bigger batches: when the
	// database is short of CPU rather than of disk, fewer is faster (on
	// two cores, 2 beat 4 by about a fifth in BenchmarkCreateUpdatePayment).
	Writers int
	// NoMigrate leaves the schema as it is (see Pending).
	NoMigrate bool
}

// DB is an open PostgreSQL database.
type DB struct {
	// Applied lists the migrations that this Open applied (none if the
	// schema was already current).
	Applied []string

	pool     *pgxpool.Pool
	connConf *pgx.ConnConfig // for the writers' connections

	queue *sqlstore.Queue // of writes, for the writers

	commits atomic.Int64 // transactions the writers committed

	observer atomic.Pointer[paygate.Observer] // told of each commit; see SetObserver
}

// SetObserver has o told of each transaction a writer commits (or fails
// to): how many writes it carried and how long it took.
func (db *DB) SetObserver(o paygate.Observer) { db.observer.Store(&o) }

// Tx is a writer's transaction, shared by the writes of a batch, or for a
// write that runs Alone the pool (each statement commits by itself).
type Tx struct {
	ctx context.Context
	tx  interface {
		Exec(context.Context, string, ...any) (pgconn.CommandTag, error)
		QueryRow(context.Context, string, ...any) pgx.Row
		Query(context.Context, string, ...any) (pgx.Rows, error)
	}
}

var _ sqlstore.Tx = (*Tx)(nil)

// Exec runs a statement in the transaction and returns how many rows it
// changed.
func (t *Tx) Exec(query string, args ...any) (int64, error) {
	tag, err := t.tx.Exec(t.ctx, query, args...)
	return tag.RowsAffected(), err
}

// QueryRow runs a query that returns one row in the transaction.
func (t *Tx) QueryRow(query string, args ...any) sqlstore.Row {
	return t.tx.QueryRow(t.ctx, query, args...)
}

// Query runs a statement that returns rows in the transaction.
func (t *Tx) Query(query string, args ...any) (sqlstore.Rows, error) {
	return t.tx.Query(t.ctx, query, args...)
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
	if conf.ConnConfig.ConnectTimeout == 0 { // the DSN's connect_timeout wins
		conf.ConnConfig.ConnectTimeout = 10 * time.Second
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
		queue:    sqlstore.NewQueue(4*maxBatch, errClosed),
	}
	if o.NoMigrate {
		if p, err := db.Pending(ctx); err != nil || len(p) > 0 {
			db.Close()
			if err != nil {
				return nil, fmt.Errorf("check migrations: %w", err)
			}
			return nil, fmt.Errorf("the database schema is not current (%s not applied): run paygate migrate", strings.Join(p, ", "))
		}
	} else if err := db.Migrate(ctx); err != nil {
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
		db.queue.Go(w.run)
	}
	return db, nil
}

// Close stops the writers after the writes already queued and closes every
// connection. Closing twice is harmless.
func (db *DB) Close() error {
	if db.queue.Close() {
		db.pool.Close()
	}
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
	applied := false
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
		applied = err == nil
		return err
	})
	if err != nil {
		return fmt.Errorf("migration %s: %w", name, err)
	}
	if applied {
		db.Applied = append(db.Applied, strings.TrimPrefix(name, "migration/"))
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

// write runs w's statements, then w.Finish with their outcomes, in a
// transaction shared with other concurrent writes, and returns once that
// transaction has committed (or the write failed, in which case none of
// its changes were kept). A write may run more than once.
//
// A batch runs its writes sorted by w.Key, the row each locks first:
// concurrent writes have no order among themselves, and two batches then
// lock rows in the same order, which keeps them from deadlocking each other.
//
// A write that runs Alone commits on its own, on the pool, outside the
// writers' batches.
func (db *DB) write(ctx context.Context, w *sqlstore.Write) error {
	if w.Alone {
		if db.queue.Closed() {
			return errClosed
		}
		return w.Run(&Tx{ctx: ctx, tx: db.pool})
	}
	return db.queue.Submit(ctx, w)
}

var errClosed = errors.New("postgres: database closed")

// writer commits batches of writes on its own connection.
type writer struct {
	db   *DB
	conn *pgx.Conn // nil after a failed reconnection
}

func (w *writer) run() {
	defer func() {
		if w.conn != nil {
			w.conn.Close(context.Background())
		}
	}()
	batch := make([]*sqlstore.Op, 0, maxBatch)
	for {
		if batch = w.db.queue.Next(batch, maxBatch); len(batch) == 0 {
			return
		}
		w.commit(batch)
	}
}

// commit runs a batch and answers each of its writes.
func (w *writer) commit(batch []*sqlstore.Op) {
	ops := slices.Clone(batch)
	slices.SortStableFunc(ops, func(a, b *sqlstore.Op) int { return strings.Compare(a.W.Key, b.W.Key) })
	var alone []*sqlstore.Op // writes that failed beside others: each runs again alone
	for len(ops) > 1 {
		i, err := w.runTx(ops)
		if i < 0 { // committed, or the transaction failed: the same answer for all
			for _, o := range ops {
				o.Err <- err
			}
			ops = nil
			break
		}
		alone = append(alone, ops[i])
		ops = slices.Delete(ops, i, i+1)
	}
	for _, o := range append(ops, alone...) {
		o.Err <- w.runAlone(o)
	}
}

// runAlone runs a write in a transaction of its own. A deadlock with
// another writer's batch says nothing about the write: it runs again.
func (w *writer) runAlone(o *sqlstore.Op) error {
	for attempt := 1; ; attempt++ {
		_, err := w.runTx([]*sqlstore.Op{o})
		var pe *pgconn.PgError
		if attempt < 5 && errors.As(err, &pe) && (pe.Code == "40P01" || pe.Code == "40001") {
			continue // deadlock_detected, serialization_failure
		}
		return err
	}
}

// runTx runs ops in one transaction and commits it. If an op fails, it
// rolls back and returns the op's index and error; if the transaction
// itself fails, it returns -1 and the error.
//
// It takes two round trips when no op needs a third: BEGIN and every op's
// statements go in one pipeline, then COMMIT once their outcomes are known.
func (w *writer) runTx(ops []*sqlstore.Op) (i int, err error) {
	start := time.Now()
	defer func() {
		if o := w.db.observer.Load(); o != nil && (i < 0 || err == nil) {
			(*o).Commit(len(ops), time.Since(start), err)
		}
	}()
	ctx := context.Background()
	if err := w.connect(ctx); err != nil {
		return -1, err
	}
	b := &pgx.Batch{}
	b.BeginTx(pgx.TxOptions{})
	for _, o := range ops {
		for _, s := range o.W.Stmts {
			b.Queue(s.SQL, s.Args...)
		}
	}
	br := w.conn.SendBatch(ctx, b)
	if _, err := br.Exec(); err != nil {
		br.Close()
		return -1, fmt.Errorf("begin: %w", err)
	}
	ptx := br.Tx()
	tx := &Tx{ctx: ctx, tx: ptx}
	res := make([][]sqlstore.Result, len(ops))
	failed := -1 // the first op whose statement failed: the server ignored the rest
	for i, o := range ops {
		res[i] = make([]sqlstore.Result, len(o.W.Stmts))
		for j := range o.W.Stmts {
			tag, err := br.Exec()
			res[i][j] = sqlstore.Result{N: tag.RowsAffected(), Err: err}
			if err != nil && failed < 0 {
				failed = i
			}
		}
	}
	closeErr := br.Close()
	if failed >= 0 {
		ptx.Rollback(ctx)
		err := safeRun(ops[failed].W, tx, res[failed]) // its own error, as it reports it
		if err == nil {
			for _, r := range res[failed] {
				err = cmp.Or(err, r.Err)
			}
		}
		return failed, err
	}
	if closeErr != nil {
		ptx.Rollback(ctx)
		return -1, fmt.Errorf("run batch: %w", closeErr)
	}
	for i, o := range ops {
		if err := safeRun(o.W, tx, res[i]); err != nil {
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

// connect (re)opens the writer's connection if it is gone or was left in a
// transaction.
func (w *writer) connect(ctx context.Context) error {
	if w.conn != nil && !w.conn.IsClosed() && w.conn.PgConn().TxStatus() == 'I' {
		return nil
	}
	if w.conn != nil {
		w.conn.Close(ctx)
		w.conn = nil
	}
	c, err := pgx.ConnectConfig(ctx, w.db.connConf.Copy())
	if err != nil {
		return fmt.Errorf("connect writer: %w", err)
	}
	w.conn = c
	return nil
}

func safeRun(w *sqlstore.Write, tx *Tx, res []sqlstore.Result) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic in write: %v", r)
		}
	}()
	return w.Finish(tx, res)
}

// Pending lists the embedded migrations the database has not applied.
func (db *DB) Pending(ctx context.Context) ([]string, error) {
	var ok bool
	if err := db.pool.QueryRow(ctx, `SELECT to_regclass('schema_migrations') IS NOT NULL`).Scan(&ok); err != nil {
		return nil, fmt.Errorf("look for schema_migrations: %w", err)
	}
	var applied []string
	if ok {
		var err error
		if applied, err = db.Migrations(ctx); err != nil {
			return nil, err
		}
	}
	return sqlstore.Unapplied(migrations, applied)
}
