package bank

import (
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"

	"github.com/paygate/paygate"
	_ "github.com/paygate/paygate/internal/sqlitewal" // a commit's log frames in one write call
	_ "modernc.org/sqlite"                            // the "sqlite" driver
)

// The ledger's file. An account's row is its state after its latest change;
// a txn's row is what the account remembers of one RRN, with the merchant,
// terminal and currency it settles with, until a reconciliation clears or
// prunes it (the row is deleted). Rows are written whole (upserts), never
// appended to, so the file grows with the RRNs not yet settled, not with
// the messages; SQLite reuses the pages of deleted rows. A funding row is
// written per reconciled batch. The card numbers are the package's test cards and
// are stored in clear: this is the simulated issuer's own ledger.
const schema = `
CREATE TABLE IF NOT EXISTS meta (
	key   TEXT PRIMARY KEY,
	value INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS accounts (
	pan          TEXT PRIMARY KEY,
	status       INTEGER NOT NULL,
	credit_limit INTEGER NOT NULL,
	available    INTEGER NOT NULL,
	posted       INTEGER NOT NULL,
	held         INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS txns (
	pan       TEXT NOT NULL,
	rrn       TEXT NOT NULL,
	kind      TEXT NOT NULL,
	rc        TEXT NOT NULL,
	auth_code TEXT NOT NULL,
	held      INTEGER NOT NULL,
	posted    INTEGER NOT NULL,
	credited  INTEGER NOT NULL,
	captured  INTEGER NOT NULL,
	merchant  TEXT NOT NULL DEFAULT '',
	terminal  TEXT NOT NULL DEFAULT '',
	currency  TEXT NOT NULL DEFAULT '',
	sent_at   INTEGER NOT NULL DEFAULT 0,
	PRIMARY KEY (pan, rrn)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS fundings (
	merchant     TEXT NOT NULL,
	terminal     TEXT NOT NULL,
	currency     TEXT NOT NULL,
	batch        INTEGER NOT NULL,
	debits       INTEGER NOT NULL,
	debits_amt   INTEGER NOT NULL,
	credits      INTEGER NOT NULL,
	credits_amt  INTEGER NOT NULL,
	fees         INTEGER NOT NULL,
	funded       INTEGER NOT NULL,
	at           INTEGER NOT NULL,
	PRIMARY KEY (merchant, terminal, currency, batch)
);
`

// migrateV1 brings a version 1 file to version 2: its txns settle with no
// merchant known, and what they posted or credited was posted at once
// (version 1 had no clearing), so nothing of them is pending.
const migrateV1 = `
ALTER TABLE txns ADD COLUMN merchant TEXT NOT NULL DEFAULT '';
ALTER TABLE txns ADD COLUMN terminal TEXT NOT NULL DEFAULT '';
ALTER TABLE txns ADD COLUMN currency TEXT NOT NULL DEFAULT '';
ALTER TABLE txns ADD COLUMN sent_at INTEGER NOT NULL DEFAULT 0;
UPDATE txns SET posted = 0, credited = 0;
`

// schemaVersion is the file's PRAGMA user_version. A file of a later
// version is refused.
const schemaVersion = 2

const (
	sqlUpsertAccount = `INSERT INTO accounts (pan, status, credit_limit, available, posted, held) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (pan) DO UPDATE SET status = excluded.status, credit_limit = excluded.credit_limit,
		available = excluded.available, posted = excluded.posted, held = excluded.held`
	sqlUpsertTxn = `INSERT INTO txns (pan, rrn, kind, rc, auth_code, held, posted, credited, captured, merchant, terminal, currency, sent_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (pan, rrn) DO UPDATE SET kind = excluded.kind, rc = excluded.rc, auth_code = excluded.auth_code,
		held = excluded.held, posted = excluded.posted, credited = excluded.credited, captured = excluded.captured,
		merchant = excluded.merchant, terminal = excluded.terminal, currency = excluded.currency, sent_at = excluded.sent_at`
	sqlDeleteTxn     = `DELETE FROM txns WHERE pan = ? AND rrn = ?`
	sqlInsertFunding = `INSERT OR REPLACE INTO fundings (merchant, terminal, currency, batch, debits, debits_amt, credits, credits_amt, fees, funded, at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	sqlSetMeta = `INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`
)

// Keys of the meta table.
const (
	metaAuthBase = "auth_base" // the authCode offset, fixed at the first open
	metaAuthSeq  = "auth_seq"  // at least the authCode sequence of every change written
)

// ErrClosed is returned by Handle for a financial message once the bank is
// closed.
var ErrClosed = errors.New("bank: closed")

// accountRow is the changing part of an account.
type accountRow struct {
	status                         Status
	limit, available, posted, held int64
}

// entry is one change of one account: the account's state after it and the
// RRN's txn (drop: the RRN is forgotten); or, with pan empty, a funding.
// done is closed once the change is on disk or failed (err).
type entry struct {
	pan     string
	row     accountRow
	rrn     rrn
	txn     txn
	drop    bool
	funding *Funding
	err     error
	done    chan struct{}
}

// wait waits for e (nil: nothing to wait for) to be written.
func (e *entry) wait() error {
	if e == nil {
		return nil
	}
	<-e.done
	return e.err
}

func (e *entry) finish(err error) {
	e.err = err
	close(e.done)
}

// journal writes the accounts' changes to SQLite. One goroutine writes:
// it takes every change queued since its last commit and writes them in
// one transaction (group commit), keeping only the last state of each
// account and of each RRN, so that one fsync covers them all. Changes are
// written in the order they were queued, and a commit covers every change
// queued before the last one it holds.
//
// A failed write fails the journal for good: the changes in memory are no
// longer known to be on disk, so the bank stops answering (see Bank.Done)
// and a restart reloads what was written.
type journal struct {
	db      *sql.DB
	log     *slog.Logger
	authSeq func() uint64 // the bank's authCode sequence now

	upsertAccount, upsertTxn, setMeta, deleteTxn, insertFunding *sql.Stmt

	mu     sync.Mutex
	wake   *sync.Cond
	queue  []*entry
	spare  []*entry // the last batch's slice, for reuse
	closed bool
	err    error         // why it stopped taking changes: ErrClosed or a write failure
	failed chan struct{} // closed with err
	exited chan struct{} // closed when the writer goroutine returns

	closeOnce sync.Once
}

// enqueue queues e; when the journal no longer takes changes, e is done at
// once with the reason.
func (j *journal) enqueue(e *entry) {
	j.mu.Lock()
	if j.err != nil {
		err := j.err
		j.mu.Unlock()
		e.finish(err)
		return
	}
	j.queue = append(j.queue, e)
	if len(j.queue) == 1 {
		j.wake.Signal()
	}
	j.mu.Unlock()
}

// enqueueAll queues a group of entries at once, so that the writer takes
// them in one transaction.
func (j *journal) enqueueAll(group []*entry) {
	j.mu.Lock()
	if j.err != nil {
		err := j.err
		j.mu.Unlock()
		for _, e := range group {
			e.finish(err)
		}
		return
	}
	wake := len(j.queue) == 0
	j.queue = append(j.queue, group...)
	if wake {
		j.wake.Signal()
	}
	j.mu.Unlock()
}

// stop makes the journal refuse changes from now on, for err; the first
// reason sticks.
func (j *journal) stop(err error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.err == nil {
		j.err = err
		close(j.failed)
	}
	j.closed = true
	j.wake.Signal()
}

// state returns why the journal takes no changes, or nil.
func (j *journal) state() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.err
}

func (j *journal) run() {
	defer close(j.exited)
	for {
		j.mu.Lock()
		for len(j.queue) == 0 && !j.closed {
			j.wake.Wait()
		}
		batch := j.queue
		j.queue = j.spare[:0]
		closed := j.closed
		j.mu.Unlock()
		if len(batch) == 0 && closed {
			return
		}
		j.commit(batch)
		clear(batch)
		j.mu.Lock()
		j.spare = batch
		j.mu.Unlock()
	}
}

// commit writes a batch in one transaction and then lets its callers go.
// Once a write has failed nothing more is written: memory and file may
// disagree, and an account row carries its whole state, so a later write
// would save the failed batch's effects without its RRNs.
func (j *journal) commit(batch []*entry) {
	if err := j.state(); err != nil && !errors.Is(err, ErrClosed) {
		for _, e := range batch {
			e.finish(err)
		}
		return
	}
	err := j.write(batch)
	if err != nil {
		j.log.Error("bank: cannot write the ledger; the bank stops answering", keyError, err.Error())
		err = fmt.Errorf("bank: write the ledger: %w", err)
		j.stop(err)
	}
	for _, e := range batch {
		e.finish(err)
	}
}

func (j *journal) write(batch []*entry) error {
	tx, err := j.db.Begin()
	if err != nil {
		return err
	}
	defer tx.Rollback()
	// Only the last state of each account and each RRN matters: the
	// transaction commits all of them or none.
	lastAccount := make(map[string]int, 4)
	type txnKey struct {
		pan string
		rrn rrn
	}
	lastTxn := make(map[txnKey]int, len(batch))
	for i, e := range batch {
		if e.pan == "" {
			continue
		}
		lastAccount[e.pan] = i
		lastTxn[txnKey{e.pan, e.rrn}] = i
	}
	ua, ut, dt, fu := tx.Stmt(j.upsertAccount), tx.Stmt(j.upsertTxn), tx.Stmt(j.deleteTxn), tx.Stmt(j.insertFunding)
	for i, e := range batch {
		if f := e.funding; f != nil {
			t := f.Totals
			if _, err := fu.Exec(f.MerchantID, f.TerminalID, f.Currency, f.BatchNumber, t.DebitsCount, t.DebitsAmount,
				t.CreditsCount, t.CreditsAmount, f.Fees, f.Funded, f.At.Unix()); err != nil {
				return fmt.Errorf("funding of %s batch %d: %w", f.MerchantID, f.BatchNumber, err)
			}
			continue
		}
		if lastAccount[e.pan] == i {
			r := e.row
			if _, err := ua.Exec(e.pan, int(r.status), r.limit, r.available, r.posted, r.held); err != nil {
				return fmt.Errorf("account %s: %w", paygate.MaskPAN(e.pan), err)
			}
		}
		if lastTxn[txnKey{e.pan, e.rrn}] == i && e.drop {
			if _, err := dt.Exec(e.pan, e.rrn.String()); err != nil {
				return fmt.Errorf("account %s rrn %s: %w", paygate.MaskPAN(e.pan), e.rrn.String(), err)
			}
		} else if lastTxn[txnKey{e.pan, e.rrn}] == i {
			t := e.txn
			var k settleKey
			if t.led != nil {
				k = t.led.key
			}
			if _, err := ut.Exec(e.pan, e.rrn.String(), t.kind.String(), t.rc, t.authCode, t.held, t.posted, t.credited, t.captured,
				k.merchant, k.terminal, k.currency, t.at); err != nil {
				return fmt.Errorf("account %s rrn %s: %w", paygate.MaskPAN(e.pan), e.rrn.String(), err)
			}
		}
	}
	// Loaded after the changes were made: covers every code they carry.
	if _, err := tx.Stmt(j.setMeta).Exec(metaAuthSeq, int64(j.authSeq())); err != nil {
		return fmt.Errorf("auth code sequence: %w", err)
	}
	return tx.Commit()
}

// close stops taking changes, writes those queued and closes the
// database. Calls after the first return nil.
func (j *journal) close() error {
	j.stop(ErrClosed)
	<-j.exited
	var err error
	j.closeOnce.Do(func() { err = j.db.Close() })
	return err
}

func (k rrn) String() string { return strings.TrimRight(string(k[:]), "\x00") }
