// Package sqlite stores paygate's data in an embedded SQLite database
// (modernc.org/sqlite, pure Go) in WAL mode: a write is on disk before it
// is answered.
//
// Writes go through one writer goroutine that groups concurrent writes into
// one transaction (group commit), so that all of them share a single fsync;
// one failing write does not undo its neighbours (writer.go). The writer
// commits with synchronous=NORMAL and syncs the WAL itself, in a goroutine,
// while it runs the next transaction; each write is answered once its
// commit is synced. A Lazy write (see sqlstore.Write) is answered before
// its commit is on disk: commits are in order, so the next durable one
// covers it. Reads use a separate pool of connections, which WAL lets run
// beside the writer; they may see a commit up to one sync before it is
// durable, and a read that is replayed as it is waits for it (Synced).
//
// The stores themselves, their SQL included, are package sqlstore's,
// shared with package postgres: this package runs their reads and writes.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"net/url"
	"os"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/paygate/paygate"
	"github.com/paygate/paygate/internal/sqlstore"
)

//go:embed migration/*.sql
var migrations embed.FS

// maxBatch bounds how many writes share one commit.
const maxBatch = 256

// DB is an open SQLite database.
type DB struct {
	Path string
	// Applied lists the migrations that this Open applied (none if the
	// schema was already current).
	Applied []string

	writer *sql.DB
	reader *reader
	wstmts map[string]*sql.Stmt // prepared write statements
	queue  *sqlstore.Queue      // of writes, for the one writer

	observer atomic.Pointer[paygate.Observer] // told of each commit; see SetObserver

	// The writer's: the last commit's sync, closed once it is durable and
	// its writes answered; the writes taken while it syncs; the error of a
	// failed sync, after which nothing is written.
	synced  chan struct{}
	more    []*sqlstore.Op
	syncErr atomic.Pointer[error]
	wal     *os.File // the write-ahead log, opened at the first sync

	syncHook func() error // tests: runs before each sync, which fails if it does

	// The checkpointer's: a connection of its own, asked after each commit
	// (see checkpointer).
	ckpt        *sql.DB
	ckptWanted  chan struct{}
	ckptStop    chan struct{}
	ckptStopped chan struct{}
	ckptHook    func(copied int, err error) // tests: told of each checkpoint
	ckptMu      sync.Mutex                  // one checkpoint at a time: SQLite refuses a second (busy)
}

// SetObserver has o told of each commit of the writer: how many writes it
// carried and how long it took.
func (db *DB) SetObserver(o paygate.Observer) { db.observer.Store(&o) }

// reader runs queries on the pool of reading connections, each statement
// prepared once (database/sql prepares it again on each connection it meets).
type reader struct {
	db    *sql.DB
	stmts sync.Map // query → *sql.Stmt
}

func (r *reader) stmt(query string) (*sql.Stmt, error) {
	if s, ok := r.stmts.Load(query); ok {
		return s.(*sql.Stmt), nil
	}
	s, err := r.db.Prepare(query)
	if err != nil {
		return nil, err
	}
	if prev, loaded := r.stmts.LoadOrStore(query, s); loaded {
		s.Close()
		return prev.(*sql.Stmt), nil
	}
	return s, nil
}

// QueryContext runs a query.
func (r *reader) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	s, err := r.stmt(query)
	if err != nil {
		return nil, err
	}
	return s.QueryContext(ctx, args...)
}

// QueryRowContext runs a query that returns one row.
func (r *reader) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	s, err := r.stmt(query)
	if err != nil {
		return r.db.QueryRowContext(ctx, query, args...) // reports the error on Scan
	}
	return s.QueryRowContext(ctx, args...)
}

// Open opens (creating if needed) the database at path, applies migrations
// and starts the writer.
func Open(path string) (*DB, error) { return OpenWith(path, Options{}) }

// Options tune Open.
type Options struct {
	NoMigrate bool // leave the schema as it is (see Pending)
}

// OpenWith is Open with options.
func OpenWith(path string, o Options) (*DB, error) {
	if path == "" {
		return nil, errors.New("sqlite: empty path")
	}
	// A new database is readable by its owner only (its WAL and shared
	// memory files follow the database file's mode).
	if f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600); err == nil {
		f.Close()
	} else if !errors.Is(err, os.ErrExist) {
		return nil, fmt.Errorf("create %s: %w", path, err)
	}
	q := url.Values{}
	// The busy timeout first: the pragmas after it read the file, and
	// another process (or node) may hold it for a moment.
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(FULL)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Set("_txlock", "immediate")
	dsn := URI(path, q)
	// Incremental auto-vacuum lets pruning give space back to the file
	// system. It can be chosen only before the first table is made, so it
	// comes first, before WAL mode writes the new file's header; an
	// existing database is converted after the migrations.
	//
	// The writer keeps its temporary files in memory: in a batch each
	// statement that may fail after changing pages first copies them to a
	// statement journal, which otherwise spills to a file past 64 KiB, a
	// pwrite for every page (9% of a sale's CPU under load). The readers
	// keep the default, so that a large sort does not take its size in RAM.
	//
	// The writer commits with synchronous=NORMAL, and syncs the log itself
	// in a goroutine while it goes on with the next transaction (see
	// commit): a write is answered once its commit is synced, as with FULL.
	// It checkpoints every 10,000 pages of log rather than SQLite's 1,000:
	// a checkpoint copies each page once however often the log holds it,
	// and syncs both files, in the writer's time; 6% more sales/s in
	// BenchmarkSaleWrites. Most of that copying is done before, outside the
	// writer's time, by the checkpointer.
	wq := url.Values{"_pragma": {"busy_timeout(10000)", "auto_vacuum(incremental)", "journal_mode(WAL)", "synchronous(NORMAL)", "foreign_keys(1)", "temp_store(MEMORY)", "wal_autocheckpoint(10000)"}, "_txlock": q["_txlock"]}
	w, err := sql.Open("sqlite", URI(path, wq))
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	if err := pingBusy(w); err != nil {
		w.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	db := &DB{Path: path, writer: w, wstmts: map[string]*sql.Stmt{}, queue: sqlstore.NewQueue(4*maxBatch, errClosed)}
	if o.NoMigrate {
		if p, err := pending(context.Background(), w); err != nil || len(p) > 0 {
			w.Close()
			if err != nil {
				return nil, fmt.Errorf("check migrations: %w", err)
			}
			return nil, fmt.Errorf("the database schema is not current (%s not applied): run paygate migrate", strings.Join(p, ", "))
		}
	} else if err := db.migrate(context.Background()); err != nil {
		w.Close()
		return nil, err
	} else if err := db.convertAutoVacuum(context.Background()); err != nil {
		w.Close()
		return nil, err
	}
	// The hot write statements are prepared now: once the writer runs, its
	// only connection is busy inside a transaction, so they could not be
	// prepared lazily. Other statements run unprepared.
	for _, q := range append(sqlstore.HotWrites(dialect), "SAVEPOINT w", "ROLLBACK TO w", "RELEASE w") {
		s, err := w.Prepare(q)
		if err != nil {
			w.Close()
			return nil, fmt.Errorf("prepare %q: %w", q, err)
		}
		db.wstmts[q] = s
	}
	r, err := sql.Open("sqlite", dsn)
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	n := max(4, 2*runtime.GOMAXPROCS(0))
	r.SetMaxOpenConns(n)
	r.SetMaxIdleConns(n)
	db.reader = &reader{db: r}
	// What the migrations wrote, committed without a sync (NORMAL).
	if err := db.syncWAL(); err != nil {
		w.Close()
		r.Close()
		return nil, fmt.Errorf("sync %s: %w", path, err)
	}
	c, err := sql.Open("sqlite", URI(path, url.Values{"_pragma": {"busy_timeout(10000)", "journal_mode(WAL)", "synchronous(NORMAL)"}}))
	if err != nil {
		w.Close()
		r.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	c.SetMaxOpenConns(1)
	db.ckpt, db.ckptWanted, db.ckptStop, db.ckptStopped = c, make(chan struct{}, 1), make(chan struct{}), make(chan struct{})
	go db.checkpointer()
	db.synced = make(chan struct{})
	close(db.synced)
	db.queue.Go(db.run)
	return db, nil
}

// URI is the SQLite URI of the database file at path with the query q: the
// path's '%', '?' and '#' escaped, which SQLite would otherwise read as an
// escape, the start of the query and a fragment. (Unescaped, a path with a
// '#' in it opened another file, without the query's pragmas: a test
// directory named after subtest "seed#02" shared one database in /tmp with
// every other subtest of that name.)
func URI(path string, q url.Values) string {
	u := "file:" + strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(path)
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	return u
}

// Close stops the writer after the writes already queued and closes the
// database.
func (db *DB) Close() error {
	if !db.queue.Close() {
		return nil
	}
	close(db.ckptStop)
	<-db.ckptStopped
	var werr error
	if db.wal != nil {
		werr = db.wal.Close()
	}
	return errors.Join(db.reader.db.Close(), db.ckpt.Close(), db.writer.Close(), werr)
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
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("migration %s: %w", name, err)
	}
	db.Applied = append(db.Applied, strings.TrimPrefix(name, "migration/"))
	return nil
}

// convertAutoVacuum switches a database made without incremental auto-vacuum
// to it. That takes a VACUUM, which rewrites the whole file (once: it needs
// free disk space the size of the database, and holds up other processes
// on the file meanwhile).
func (db *DB) convertAutoVacuum(ctx context.Context) error {
	var mode int
	if err := db.writer.QueryRowContext(ctx, `PRAGMA auto_vacuum`).Scan(&mode); err != nil {
		return fmt.Errorf("read auto_vacuum: %w", err)
	}
	if mode == autoVacuumIncremental {
		return nil
	}
	if _, err := db.writer.ExecContext(ctx, `PRAGMA auto_vacuum = INCREMENTAL`); err != nil {
		return fmt.Errorf("set auto_vacuum: %w", err)
	}
	// VACUUM builds the new file as a temporary database: on disk, not in
	// the writer's memory (temp_store(MEMORY) in OpenWith).
	if _, err := db.writer.ExecContext(ctx, `PRAGMA temp_store = DEFAULT`); err != nil {
		return fmt.Errorf("set temp_store: %w", err)
	}
	if _, err := db.writer.ExecContext(ctx, `VACUUM`); err != nil {
		return fmt.Errorf("vacuum to switch to incremental auto-vacuum: %w", err)
	}
	if _, err := db.writer.ExecContext(ctx, `PRAGMA temp_store = MEMORY`); err != nil {
		return fmt.Errorf("set temp_store: %w", err)
	}
	return nil
}

// autoVacuumIncremental is what PRAGMA auto_vacuum reports for incremental.
const autoVacuumIncremental = 2

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

// Pending lists the embedded migrations the database has not applied.
func (db *DB) Pending(ctx context.Context) ([]string, error) { return pending(ctx, db.reader.db) }

func pending(ctx context.Context, db *sql.DB) ([]string, error) {
	var applied []string
	rows, err := db.QueryContext(ctx, `SELECT name FROM schema_migrations`)
	if err == nil {
		defer rows.Close()
		for rows.Next() {
			var name string
			if err := rows.Scan(&name); err != nil {
				return nil, err
			}
			applied = append(applied, strings.TrimPrefix(name, "migration/"))
		}
	} else if !strings.Contains(err.Error(), "no such table") {
		return nil, err
	}
	return sqlstore.Unapplied(migrations, applied)
}

// Checkpoint copies the write-ahead log into the database file and empties
// the log file: the database's size is then the size of its file.
func (db *DB) Checkpoint(ctx context.Context) error {
	db.ckptMu.Lock()
	defer db.ckptMu.Unlock()
	var busy, logged, copied int
	if err := db.writer.QueryRowContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`).Scan(&busy, &logged, &copied); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	if busy != 0 {
		return errors.New("checkpoint: the database is busy")
	}
	return nil
}

// incrementalVacuum gives the database's free pages back to the file
// system (the file shrinks at the next checkpoint).
func incrementalVacuum(tx *Tx) error {
	if _, err := tx.exec(`PRAGMA incremental_vacuum`); err != nil {
		return fmt.Errorf("incremental vacuum: %w", err)
	}
	return nil
}

// pingBusy opens the writer's connection, running its pragmas. Of several
// processes opening one new file at once, SQLite answers some "database is
// locked" without waiting out the busy timeout (it refuses rather than
// risk a deadlock while the file turns into a WAL database): such an open
// is tried again, for as long as the busy timeout would have waited.
func pingBusy(w *sql.DB) error {
	deadline := time.Now().Add(10 * time.Second)
	for try := 0; ; try++ {
		err := w.Ping()
		if err == nil || !isBusy(err) || time.Now().After(deadline) {
			return err
		}
		time.Sleep(time.Duration(1+rand.IntN(10<<min(try, 4))) * time.Millisecond)
	}
}

// isBusy reports whether err is SQLite's SQLITE_BUSY (5).
func isBusy(err error) bool {
	var coded interface{ Code() int }
	return errors.As(err, &coded) && coded.Code()&0xff == 5
}
