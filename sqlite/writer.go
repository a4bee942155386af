package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"slices"
	"time"

	"github.com/paygate/paygate/internal/sqlstore"
)

// The write path: the writer goroutine, its transaction and its batches.

// Tx is the writer's transaction. Hot statements are prepared once and
// reused: parsing SQL is a good part of what SQLite costs.
type Tx struct {
	tx    *sql.Tx
	db    *DB
	stmts map[*sql.Stmt]*sql.Stmt // the prepared statements bound to tx, made once per transaction
}

// stmt returns the prepared statement of query bound to the transaction,
// if query is one of the hot writes.
func (t *Tx) stmt(query string) (*sql.Stmt, bool) {
	s, ok := t.db.wstmts[query]
	if !ok {
		return nil, false
	}
	ts, ok := t.stmts[s]
	if !ok {
		if t.stmts == nil {
			t.stmts = make(map[*sql.Stmt]*sql.Stmt, 16)
		}
		ts = t.tx.Stmt(s)
		t.stmts[s] = ts
	}
	return ts, true
}

var _ sqlstore.Tx = (*Tx)(nil)

// Exec runs a statement in the transaction and returns how many rows it
// changed.
func (t *Tx) Exec(query string, args ...any) (int64, error) {
	res, err := t.exec(query, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

func (t *Tx) exec(query string, args ...any) (sql.Result, error) {
	if s, ok := t.stmt(query); ok {
		return s.Exec(args...)
	}
	return t.tx.Exec(query, args...)
}

// QueryRow runs a query that returns one row in the transaction.
func (t *Tx) QueryRow(query string, args ...any) sqlstore.Row {
	if s, ok := t.stmt(query); ok {
		return s.QueryRow(args...)
	}
	return t.tx.QueryRow(query, args...)
}

// Query runs a statement that returns rows in the transaction.
func (t *Tx) Query(query string, args ...any) (sqlstore.Rows, error) {
	var r *sql.Rows
	var err error
	if s, ok := t.stmt(query); ok {
		r, err = s.Query(args...)
	} else {
		r, err = t.tx.Query(query, args...)
	}
	if err != nil {
		return nil, err
	}
	return rows{r}, nil
}

// write runs w in a transaction shared with other concurrent writes and
// returns once that transaction is durably committed (or w failed, in which
// case only w's own changes are rolled back).
//
// A Lazy write returns as soon as it has run, without waiting for the
// commit to reach the disk. Writes commit in order, so any later write
// that returns makes it durable too.
func (db *DB) write(ctx context.Context, w *sqlstore.Write) error { return db.queue.Submit(ctx, w) }

var errClosed = errors.New("sqlite: database closed")

// run is the writer: it runs the writes queued in transactions, and
// commits each once the last commit is on the disk (see commit).
func (db *DB) run() {
	batch := make([]*sqlstore.Op, 0, maxBatch)
	for {
		if batch = db.queue.Next(batch, maxBatch); len(batch) == 0 {
			<-db.synced // the last commit's writes are answered
			return
		}
		db.commit(batch)
	}
}

// maxTxn bounds how many writes one transaction takes while it waits for
// the disk.
const maxTxn = 4 * maxBatch

// commit runs batch in a transaction, and the writes that arrive while the
// last commit is being made durable (fsync of the WAL, in a goroutine of
// its own) in the same transaction; then it commits, without a sync
// (synchronous=NORMAL), and hands the transaction to a goroutine that
// syncs the WAL and answers its writes. So the writer runs statements
// while the disk syncs the last commit, instead of waiting for it, and a
// commit still carries every write that arrived during the last sync.
//
// A write is answered, whatever its outcome, only once its commit is
// durable: what it saw (a key taken, a payment's version) may have been
// written by a commit not yet synced. A Lazy write is answered once its
// transaction has committed and the one before it is synced. Readers see
// a commit as soon as it is made, up to one sync before it is durable: a
// write that follows what they read commits after it, and syncs are in
// order; a read whose answer goes out as it is (a replay) waits for
// Synced first.
//
// A transaction first runs its writes without savepoints, which cost two
// statements per write. A write that fails without changing anything (at
// its first statement: a failing statement undoes itself) leaves nothing
// to undo. If one fails having changed something, the transaction is
// rolled back and its writes run again with a savepoint for each write of
// more than one statement, so that only the failed write is undone.
// Writes may run more than once (sqlstore.DB).
func (db *DB) commit(batch []*sqlstore.Op) {
	start := time.Now()
	all := slices.Clone(batch)
	if err := db.syncErr.Load(); err != nil {
		db.answer(all, nil, false, *err)
		return
	}
	t, err := db.begin(false)
	if err == nil {
		t, err = db.runWrites(t, all)
	}
	for err == nil && db.syncing() && len(all) < maxTxn {
		db.more = db.queue.More(db.more, min(maxBatch, maxTxn-len(all)), db.synced)
		if len(db.more) == 0 {
			break
		}
		all = append(all, db.more...)
		t, err = db.runWrites(t, db.more)
	}
	if err == nil {
		if err = t.stx.Commit(); err != nil {
			err = fmt.Errorf("commit: %w", err)
		}
	}
	var errs []error
	committed := err == nil
	if t != nil {
		errs = t.errs
	}
	<-db.synced    // syncs, and answers, in order
	if committed { // after the last sync: what a Lazy write read is durable
		for i, o := range all {
			if o.W.Lazy && errs[i] == nil {
				o.Err <- nil
			}
		}
	}
	done := make(chan struct{})
	db.synced = done
	go func() {
		defer close(done)
		if err == nil {
			if err = db.syncWAL(); err != nil {
				err = fmt.Errorf("sync the write-ahead log: %w (nothing more is written: restart paygate)", err)
				db.syncErr.Store(&err)
			}
		}
		if o := db.observer.Load(); o != nil {
			(*o).Commit(len(all), time.Since(start), err)
		}
		db.answer(all, errs, committed, err)
		select {
		case db.ckptWanted <- struct{}{}:
		default:
		}
	}()
}

// checkpointEvery is how often at most the checkpointer runs. A second
// rather than 50 ms: a page that several commits changed in between is
// copied once, and as the file grows most are index pages that the next
// commits change again (5 rounds of 6 s in process, about 80,000 sales,
// 2 pairs: CPU a sale 422–431 → 398–400 µs, ratio 0.171–0.173 →
// 0.175–0.182). The log then holds up to a second of commits, well under
// the writer's 10,000 pages.
const checkpointEvery = time.Second

// checkpointer copies what the log holds into the database file (a
// passive checkpoint, on a connection of its own) after commits, at most
// every checkpointEvery, while the writer goes on writing. So when the
// writer's own checkpoint comes (every 10,000 pages of log: it must be the
// writer's, since the log starts over only at a write that begins after
// every page of it was copied), it finds most of the log copied already,
// and the writer spends its time on writes rather than copying. A failed
// checkpoint is left to the writer's.
func (db *DB) checkpointer() {
	defer close(db.ckptStopped)
	var last time.Time
	for {
		select {
		case <-db.ckptWanted:
		case <-db.ckptStop:
			return
		}
		if time.Since(last) < checkpointEvery {
			continue // the next commit asks again
		}
		var busy, pages, copied int
		db.ckptMu.Lock()
		err := db.ckpt.QueryRow("PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &pages, &copied)
		db.ckptMu.Unlock()
		last = time.Now()
		if db.ckptHook != nil {
			db.ckptHook(copied, err)
		}
	}
}

// answer tells each of ops its outcome: its own error (errs[i]), or else
// err, the transaction's. errs is nil if none ran. A Lazy write that
// succeeded was answered at the commit, if there was one.
func (db *DB) answer(ops []*sqlstore.Op, errs []error, committed bool, err error) {
	for i, o := range ops {
		switch {
		case errs != nil && errs[i] != nil:
			o.Err <- errs[i]
		case o.W.Lazy && committed: // answered already
		default:
			o.Err <- err
		}
	}
}

// syncing reports whether the last commit is still being synced.
func (db *DB) syncing() bool {
	select {
	case <-db.synced:
		return false
	default:
		return true
	}
}

// txn is the writer's open transaction and the writes it ran.
type txn struct {
	stx        *sql.Tx
	tx         *Tx
	savepoints bool
	ops        []*sqlstore.Op
	errs       []error // of each of ops
}

func (db *DB) begin(savepoints bool) (*txn, error) {
	stx, err := db.writer.Begin()
	if err != nil {
		return nil, fmt.Errorf("begin: %w", err)
	}
	return &txn{stx: stx, tx: &Tx{tx: stx, db: db}, savepoints: savepoints}, nil
}

// runWrites runs ops in t. If one fails having changed something and t
// has no savepoints, it rolls t back and runs all of t's writes and ops
// again, in a new transaction with savepoints, which it returns.
func (db *DB) runWrites(t *txn, ops []*sqlstore.Op) (*txn, error) {
	before := len(t.ops)
	if t.run(ops) {
		return t, nil
	}
	t.stx.Rollback()
	redo := append(t.ops, ops[len(t.ops)-before:]...)
	nt, err := db.begin(true)
	if err != nil {
		return nil, err
	}
	nt.run(redo)
	return nt, nil
}

// run runs ops in t, each in a savepoint of its own if t has them and it
// has more than one statement. Without savepoints it stops, reporting
// false, at the first write that failed having changed something.
func (t *txn) run(ops []*sqlstore.Op) bool {
	for _, o := range ops {
		t.ops = append(t.ops, o)
		var err error
		switch {
		case !t.savepoints || o.W.Single():
			var dirty bool
			dirty, err = safeRun(o.W, t.tx)
			if err != nil && dirty && !t.savepoints {
				return false
			}
		default:
			if _, err = t.tx.exec("SAVEPOINT w"); err != nil {
				break
			}
			if _, err = safeRun(o.W, t.tx); err != nil {
				t.tx.exec("ROLLBACK TO w")
			}
			t.tx.exec("RELEASE w")
		}
		t.errs = append(t.errs, err)
	}
	return true
}

// safeRun runs w on tx, and reports whether a failed w may have left
// changes in tx; a write that Frees space gives it back to the file
// system.
func safeRun(w *sqlstore.Write, tx *Tx) (dirty bool, err error) {
	defer func() {
		if r := recover(); r != nil {
			dirty, err = true, fmt.Errorf("panic in write: %v", r)
		}
	}()
	if dirty, err := w.RunDirty(tx); err != nil {
		return dirty, err
	}
	if w.Frees {
		return true, incrementalVacuum(tx)
	}
	return true, nil
}

// syncWAL makes the commits made so far durable: it syncs the write-ahead
// log, where WAL mode writes them (a checkpoint, which copies them into
// the database file, syncs that file itself). If the log is gone (not in
// WAL mode, or deleted with the last connection), it syncs the database
// file. Only the goroutine of the commit in flight calls it.
func (db *DB) syncWAL() error {
	if db.syncHook != nil {
		if err := db.syncHook(); err != nil {
			return err
		}
	}
	path := db.Path + "-wal"
	if db.wal != nil {
		cur, err := os.Stat(path)
		open, oerr := db.wal.Stat()
		if err != nil || oerr != nil || !os.SameFile(cur, open) { // a new log
			db.wal.Close()
			db.wal = nil
		}
	}
	if db.wal == nil {
		f, err := os.Open(path)
		if errors.Is(err, os.ErrNotExist) {
			if f, err = os.Open(db.Path); err != nil {
				return err
			}
			defer f.Close()
			return f.Sync()
		}
		if err != nil {
			return err
		}
		db.wal = f
	}
	return datasync(db.wal)
}

// Synced returns once every commit made before the call is durable: it
// makes an empty write, answered once its own commit is synced.
func (db *DB) Synced(ctx context.Context) error {
	return db.write(ctx, &sqlstore.Write{Key: "synced"})
}
