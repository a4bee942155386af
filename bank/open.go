package bank

// Opening the ledger's file: its schema, and the accounts and RRNs it holds
// loaded into memory.

import (
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/paygate/paygate"
)

// kinds maps the names stored in txns.kind back.
var kinds = func() map[string]paygate.NetworkKind {
	m := map[string]paygate.NetworkKind{}
	for k := paygate.NetworkAuthorize; k <= paygate.NetworkRefund; k++ {
		m[k.String()] = k
	}
	return m
}()

// Open opens the bank with its ledger in the SQLite file at path, creating
// the file and the test accounts of the package documentation when it does
// not exist yet, and otherwise loading the accounts' balances and every RRN
// they have seen as they were last written. Every change is written (WAL,
// synchronous=FULL) before Handle answers the message that made it. Close
// it. A nil logger discards.
func Open(path string, logger *slog.Logger) (*Bank, error) {
	if path == "" {
		return nil, errors.New("bank: empty ledger path")
	}
	b := New(logger)
	// A new file is readable by its owner only (WAL and shared memory
	// files follow its mode).
	if f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600); err == nil {
		f.Close()
	} else if !errors.Is(err, os.ErrExist) {
		return nil, fmt.Errorf("bank: create %s: %w", path, err)
	}
	// The state lives in memory: a second bank on the same file would
	// write over this one's rows. An exclusive lock, taken by load's
	// write and held until Close, keeps it out.
	q := url.Values{}
	q.Add("_pragma", "locking_mode(EXCLUSIVE)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(FULL)")
	q.Add("_pragma", "busy_timeout(1000)")
	q.Set("_txlock", "immediate")
	// '%', '?' and '#' in the path escaped, as SQLite URIs need.
	db, err := sql.Open("sqlite", "file:"+strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(path)+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("bank: open %s: %w", path, err)
	}
	// One connection: the writer, and the loader before it.
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	db.SetConnMaxLifetime(0)
	j := &journal{db: db, log: b.log, authSeq: b.authSeq.Load, failed: make(chan struct{}), exited: make(chan struct{})}
	j.wake = sync.NewCond(&j.mu)
	if err := b.load(j); err != nil {
		db.Close()
		if strings.Contains(err.Error(), "database is locked") {
			err = fmt.Errorf("in use by another bank: %w", err)
		}
		return nil, fmt.Errorf("bank: open %s: %w", path, err)
	}
	for _, st := range []struct {
		p   **sql.Stmt
		sql string
	}{{&j.upsertAccount, sqlUpsertAccount}, {&j.upsertTxn, sqlUpsertTxn}, {&j.setMeta, sqlSetMeta},
		{&j.deleteTxn, sqlDeleteTxn}, {&j.insertFunding, sqlInsertFunding}} {
		if *st.p, err = db.Prepare(st.sql); err != nil {
			db.Close()
			return nil, fmt.Errorf("bank: open %s: prepare: %w", path, err)
		}
	}
	b.journal = j
	for _, a := range b.accounts {
		a.journal = j
	}
	go j.run()
	return b, nil
}

// load creates the schema and the accounts missing from the file, then
// reads the ledger into b, whose accounts are as New made them.
func (b *Bank) load(j *journal) error {
	tx, err := j.db.Begin()
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var version int
	if err := tx.QueryRow(`PRAGMA user_version`).Scan(&version); err != nil {
		return fmt.Errorf("schema version: %w", err)
	}
	if version > schemaVersion {
		return fmt.Errorf("the ledger's schema version %d is newer than this program's (%d)", version, schemaVersion)
	}
	if version == 1 {
		if _, err := tx.Exec(migrateV1); err != nil {
			return fmt.Errorf("migrate the ledger from version 1: %w", err)
		}
	}
	if _, err := tx.Exec(schema); err != nil {
		return fmt.Errorf("create schema: %w", err)
	}
	if _, err := tx.Exec(fmt.Sprintf(`PRAGMA user_version = %d`, schemaVersion)); err != nil {
		return fmt.Errorf("schema version: %w", err)
	}

	// The auth code offset is drawn once; the sequence goes on from where
	// it was, so that codes stay unique across restarts.
	meta := map[string]int64{}
	rows, err := tx.Query(`SELECT key, value FROM meta`)
	if err != nil {
		return fmt.Errorf("read meta: %w", err)
	}
	for rows.Next() {
		var k string
		var v int64
		if err := rows.Scan(&k, &v); err != nil {
			rows.Close()
			return fmt.Errorf("read meta: %w", err)
		}
		meta[k] = v
	}
	if err := rows.Close(); err != nil {
		return fmt.Errorf("read meta: %w", err)
	}
	if base, ok := meta[metaAuthBase]; ok && base >= 0 && base < authSpace {
		b.authBase = uint64(base)
	} else {
		b.authBase = rand.Uint64N(authSpace)
		if _, err := tx.Exec(sqlSetMeta, metaAuthBase, int64(b.authBase)); err != nil {
			return fmt.Errorf("write meta: %w", err)
		}
	}
	b.authSeq.Store(uint64(max(meta[metaAuthSeq], 0)))

	seen := map[string]bool{}
	rows, err = tx.Query(`SELECT pan, status, credit_limit, available, posted, held FROM accounts`)
	if err != nil {
		return fmt.Errorf("read accounts: %w", err)
	}
	for rows.Next() {
		var pan string
		var r accountRow
		if err := rows.Scan(&pan, &r.status, &r.limit, &r.available, &r.posted, &r.held); err != nil {
			rows.Close()
			return fmt.Errorf("read accounts: %w", err)
		}
		a := b.accounts[pan]
		if a == nil {
			b.log.Warn("bank: the ledger has an account this program does not know; ignored", keyPAN, paygate.MaskPAN(pan))
			continue
		}
		seen[pan] = true
		a.status, a.limit, a.available, a.posted, a.held = r.status, r.limit, r.available, r.posted, r.held
	}
	if err := rows.Close(); err != nil {
		return fmt.Errorf("read accounts: %w", err)
	}
	for pan, a := range b.accounts {
		if seen[pan] {
			continue
		}
		if _, err := tx.Exec(sqlUpsertAccount, pan, int(a.status), a.limit, a.available, a.posted, a.held); err != nil {
			return fmt.Errorf("create account %s: %w", paygate.MaskPAN(pan), err)
		}
	}

	held := map[string]int64{}
	rows, err = tx.Query(`SELECT pan, rrn, kind, rc, auth_code, held, posted, credited, captured, merchant, terminal, currency, sent_at FROM txns`)
	if err != nil {
		return fmt.Errorf("read txns: %w", err)
	}
	for rows.Next() {
		var pan, r, kind string
		var t txn
		var k settleKey
		if err := rows.Scan(&pan, &r, &kind, &t.rc, &t.authCode, &t.held, &t.posted, &t.credited, &t.captured,
			&k.merchant, &k.terminal, &k.currency, &t.at); err != nil {
			rows.Close()
			return fmt.Errorf("read txns: %w", err)
		}
		a := b.accounts[pan]
		if a == nil {
			continue // warned above
		}
		if t.kind = kinds[kind]; t.kind == 0 {
			rows.Close()
			return fmt.Errorf("account %s rrn %s: unknown kind %q", paygate.MaskPAN(pan), r, kind)
		}
		t.led = b.ledgerOf(k)
		t.led.rrns[rrnKey(r)] = pan
		a.txns[rrnKey(r)] = t
		held[pan] += t.held
	}
	if err := rows.Close(); err != nil {
		return fmt.Errorf("read txns: %w", err)
	}
	rows, err = tx.Query(`SELECT merchant, terminal, currency, batch, debits, debits_amt, credits, credits_amt, fees, funded, at
		FROM fundings ORDER BY at, merchant, batch`)
	if err != nil {
		return fmt.Errorf("read fundings: %w", err)
	}
	for rows.Next() {
		var f Funding
		var at int64
		if err := rows.Scan(&f.MerchantID, &f.TerminalID, &f.Currency, &f.BatchNumber, &f.Totals.DebitsCount, &f.Totals.DebitsAmount,
			&f.Totals.CreditsCount, &f.Totals.CreditsAmount, &f.Fees, &f.Funded, &at); err != nil {
			rows.Close()
			return fmt.Errorf("read fundings: %w", err)
		}
		f.At = time.Unix(at, 0).UTC()
		b.recordFunding(f)
	}
	if err := rows.Close(); err != nil {
		return fmt.Errorf("read fundings: %w", err)
	}
	for pan, a := range b.accounts {
		if a.held != held[pan] || a.available != a.posted-a.held {
			return fmt.Errorf("account %s is inconsistent: available %d, posted %d, held %d, holds of its RRNs %d",
				paygate.MaskPAN(pan), a.available, a.posted, a.held, held[pan])
		}
	}
	return tx.Commit()
}
