package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/paygate/paygate/internal/sqlstore"
)

// The write path: the writer goroutine, its transaction and its batches.

// Tx is the writer's transaction. Hot statements are prepared once and
// reused: parsing SQL is a good part of what SQLite costs.
type Tx struct {
	tx *sql.Tx
	db *DB
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
	if s, ok := t.db.wstmts[query]; ok {
		return t.tx.Stmt(s).Exec(args...)
	}
	return t.tx.Exec(query, args...)
}

// QueryRow runs a query that returns one row in the transaction.
func (t *Tx) QueryRow(query string, args ...any) sqlstore.Row {
	if s, ok := t.db.wstmts[query]; ok {
		return t.tx.Stmt(s).QueryRow(args...)
	}
	return t.tx.QueryRow(query, args...)
}

// Query runs a statement that returns rows in the transaction.
func (t *Tx) Query(query string, args ...any) (sqlstore.Rows, error) {
	var r *sql.Rows
	var err error
	if s, ok := t.db.wstmts[query]; ok {
		r, err = t.tx.Stmt(s).Query(args...)
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

// run is the writer: it commits the writes queued, a batch at a time.
func (db *DB) run() {
	batch := make([]*sqlstore.Op, 0, maxBatch)
	for {
		if batch = db.queue.Next(batch, maxBatch); len(batch) == 0 {
			return
		}
		db.commit(batch)
	}
}

// commit runs a batch of writes in one transaction.
//
// It first runs them without savepoints, which cost two statements per
// write. A write that fails without changing anything (at its first
// statement: a failing statement undoes itself) leaves nothing to undo. If
// one fails having changed something, the transaction is rolled back and
// the batch run again with a savepoint for each write of more than one
// statement, so that only the failed write is undone. Writes may run more
// than once (sqlstore.DB). A Lazy write is answered once the batch has
// run, before its commit is durable.
func (db *DB) commit(batch []*sqlstore.Op) {
	start := time.Now()
	errs, ran, err := db.runBatch(batch, false)
	if errors.Is(err, errUndo) {
		errs, ran, err = db.runBatch(batch, true)
	}
	if o := db.observer.Load(); o != nil {
		(*o).Commit(len(batch), time.Since(start), err)
	}
	for i, o := range batch {
		switch {
		case errs[i] != nil:
			o.Err <- errs[i]
		case o.W.Lazy && ran: // answered already
		case err != nil:
			o.Err <- err
		default:
			o.Err <- nil
		}
	}
}

// errUndo means that a write failed with changes that only a rollback of
// the batch takes back.
var errUndo = errors.New("sqlite: a write must be undone alone")

// runBatch runs batch in one transaction and commits it; with savepoints,
// each write of several statements in a savepoint of its own. Without,
// it returns errUndo, having rolled back, when a write failed with
// changes. It answers the Lazy writes that succeeded once all have run,
// and then reports ran.
func (db *DB) runBatch(batch []*sqlstore.Op, savepoints bool) (errs []error, ran bool, err error) {
	errs = make([]error, len(batch))
	stx, err := db.writer.Begin()
	if err != nil {
		return errs, false, fmt.Errorf("begin: %w", err)
	}
	tx := &Tx{tx: stx, db: db}
	for i, o := range batch {
		switch {
		case !savepoints || o.W.Single():
			var dirty bool
			dirty, errs[i] = safeRun(o.W, tx)
			if errs[i] != nil && dirty && !savepoints {
				stx.Rollback()
				return errs, false, errUndo
			}
		default:
			if _, err := tx.exec("SAVEPOINT w"); err != nil {
				errs[i] = err
				continue
			}
			if _, errs[i] = safeRun(o.W, tx); errs[i] != nil {
				tx.exec("ROLLBACK TO w")
			}
			tx.exec("RELEASE w")
		}
	}
	for i, o := range batch {
		if o.W.Lazy && errs[i] == nil {
			o.Err <- nil
		}
	}
	err = stx.Commit()
	if err != nil {
		return errs, true, fmt.Errorf("commit: %w", err)
	}
	return errs, true, nil
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
