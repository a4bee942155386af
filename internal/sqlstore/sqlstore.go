// Package sqlstore is the SQL of paygate's stores, written once for both
// database engines: the column lists, the arguments, the row scanners, the
// query texts of every table, and the stores (paygate.PaymentStore and the
// others) made of them. It exists so that the SQLite and the PostgreSQL
// stores cannot drift apart, and so that a new table's SQL is written once.
//
// Packages sqlite and postgres keep only what truly differs between the
// engines: opening a database, the migrations, and the write path (SQLite
// runs concurrent writes in one transaction, undoing a failed one alone,
// PostgreSQL pipelines a batch's statements). They give the stores a DB,
// and New hands the stores out as one paygate.Stores.
//
// Queries are written once, in one spelling: ? for each argument, TRUE and
// FALSE for booleans, INSTR(text, part) for where part is found in text.
// Each engine's Dialect rewrites a query once, the first time it runs
// (PostgreSQL numbers its arguments $1, $2, ... and calls INSTR strpos;
// SQLite's partial indexes match a boolean only when it is spelled 1 or 0).
//
// A write is data (Write): its statements, what to make of their outcomes,
// and the steps that depend on them, so that each engine runs it its own way.
//
// Times are stored as integer microseconds since the epoch, NULL for zero.
package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/paygate/paygate"
)

// Row is a row to scan: *sql.Row, *sql.Rows, pgx.Row or pgx.Rows.
type Row interface {
	Scan(dest ...any) error
}

// Rows are the rows a query returned (pgx.Rows; *sql.Rows once its Close
// drops its error, which Err reports).
type Rows interface {
	Row
	Next() bool
	Err() error
	Close()
}

// Tx runs statements in a write's transaction.
type Tx interface {
	// Exec runs a statement and returns how many rows it changed.
	Exec(query string, args ...any) (int64, error)
	QueryRow(query string, args ...any) Row
	// Query runs a statement that returns rows (a SELECT, or a write
	// with RETURNING); the caller reads them all and closes them before
	// it runs the next statement.
	Query(query string, args ...any) (Rows, error)
}

// DB is a database as the stores use it.
type DB interface {
	// Query and QueryRow read, outside any write. When QueryRow finds no
	// row, Scan returns an error that is sql.ErrNoRows (errors.Is).
	Query(ctx context.Context, query string, args ...any) (Rows, error)
	QueryRow(ctx context.Context, query string, args ...any) Row
	// Write runs w in a transaction, which other writes may share, and
	// returns once it is committed, or once w failed: then none of w's
	// changes are kept. A write may run more than once.
	Write(ctx context.Context, w *Write) error
}

// Syncer is a DB whose readers may see a commit before it is durable
// (SQLite: its writer syncs one commit while it runs the next).
type Syncer interface {
	// Synced returns once every commit made before the call is durable.
	Synced(ctx context.Context) error
}

// synced returns once what db's readers saw so far is durable, for a read
// whose answer is given out as it is.
func synced(ctx context.Context, db DB) error {
	if s, ok := db.(Syncer); ok {
		if err := s.Synced(ctx); err != nil {
			return fmt.Errorf("wait for the disk: %w", err)
		}
	}
	return nil
}

// Write is one write of a store: its statements, what to make of their
// outcomes, and the steps that depend on them.
type Write struct {
	// Key names the row the write locks first ("payments/<id>"). An engine
	// that commits concurrent writes together runs them in key order, so
	// that two such commits lock rows in the same order and do not
	// deadlock each other.
	Key string
	// Stmts run first, in order. An engine may send them all at once,
	// before it knows their outcomes (see Finish).
	Stmts []Stmt
	// Then, if set, runs after the statements succeeded, in the same
	// transaction: the steps that depend on what they found. It must set
	// whatever it reports afresh, since a write may run more than once.
	Then func(tx Tx) error
	// Lazy says that the write's loss in a crash is made good otherwise:
	// an engine whose commits are ordered may answer it before its commit
	// is durable, since a later durable commit makes it durable too.
	Lazy bool
	// Alone says that the write is one statement, atomic by itself, on a
	// row that many writes contend for: an engine that commits writes in
	// batches commits it on its own, so that a batch's other writes do not
	// hold the row's lock.
	Alone bool
	// Frees says that the write deletes rows in bulk: an engine may give
	// the space they took back to the file system.
	Frees bool
	// single: the write changes at most one row, with one statement,
	// though it has Then (see Single).
	single bool
}

// Stmt is a statement of a write.
type Stmt struct {
	SQL  string
	Args []any
	// Check makes the write's error of the statement's outcome: how many
	// rows it changed, or its error.
	Check func(n int64, err error) error
}

// Result is the outcome of a statement run ahead of its write's Finish.
type Result struct {
	N   int64
	Err error
}

// Single reports whether w changes at most one row with one statement: a
// statement that fails undoes itself, so w needs no savepoint to be undone.
func (w *Write) Single() bool {
	return w.single || (len(w.Stmts) == 1 && w.Then == nil && !w.Frees)
}

// Run runs w's statements one after another on tx, then Then.
func (w *Write) Run(tx Tx) error {
	_, err := w.RunDirty(tx)
	return err
}

// RunDirty is Run that also reports, when w fails, whether tx may hold
// some of its changes. It does not when w failed at its first statement
// having changed nothing (a statement that fails undoes itself): then tx
// needs no rollback to be rid of w.
func (w *Write) RunDirty(tx Tx) (dirty bool, err error) {
	for i, s := range w.Stmts {
		n, err := tx.Exec(s.SQL, s.Args...)
		if cerr := s.Check(n, err); cerr != nil {
			return i > 0 || (err == nil && n > 0), cerr
		}
	}
	return true, w.then(tx)
}

// Finish makes w's error of the outcomes of its statements, which ran
// already (pipelined with a batch's), then runs Then on tx.
func (w *Write) Finish(tx Tx, res []Result) error {
	for i, s := range w.Stmts {
		if err := s.Check(res[i].N, res[i].Err); err != nil {
			return err
		}
	}
	return w.then(tx)
}

func (w *Write) then(tx Tx) error {
	if w.Then == nil {
		return nil
	}
	return w.Then(tx)
}

// Dialect is what an engine spells its own way.
type Dialect struct {
	// Numbered: arguments are $1, $2, ... rather than ?.
	Numbered bool
	// True and False spell the booleans.
	True, False string
	// Instr names the function written INSTR(text, part): the position of
	// part's first occurrence in text, counted from 1, or 0 if text does
	// not hold it (SQLite's instr, PostgreSQL's strpos). Case counts.
	Instr string
	// IsUnique reports whether err is a unique (or primary key) violation.
	IsUnique func(error) bool
	// AnyOf returns the condition that column is one of values, written
	// with ? for its arguments, and the arguments.
	AnyOf func(column string, values []string) (string, []any)
	// SkipLocked ends a SELECT that picks rows for its statement to
	// change: it locks them and skips the rows another transaction holds
	// ("FOR UPDATE SKIP LOCKED"), or is "" where writes run one at a time.
	SkipLocked string

	rewritten sync.Map // query → the query in this dialect
}

// SQL returns query, written with ? for each argument, TRUE and FALSE for
// booleans and INSTR for finding a string in another, in d's spelling.
func (d *Dialect) SQL(query string) string {
	if q, ok := d.rewritten.Load(query); ok {
		return q.(string)
	}
	q := d.rewrite(query)
	d.rewritten.Store(query, q)
	return q
}

func (d *Dialect) rewrite(query string) string {
	var b strings.Builder
	arg := 0
	for i := 0; i < len(query); {
		c := query[i]
		switch {
		case c == '\'': // a string literal, kept as it is
			end := strings.IndexByte(query[i+1:], '\'')
			if end < 0 {
				end = len(query) - i - 2
			}
			b.WriteString(query[i : i+end+2])
			i += end + 2
		case c == '?':
			arg++
			if d.Numbered {
				b.WriteString("$" + strconv.Itoa(arg))
			} else {
				b.WriteByte('?')
			}
			i++
		case isWordByte(c):
			j := i
			for j < len(query) && isWordByte(query[j]) {
				j++
			}
			switch w := query[i:j]; w {
			case "TRUE":
				b.WriteString(d.True)
			case "FALSE":
				b.WriteString(d.False)
			case "INSTR":
				b.WriteString(d.Instr)
			default:
				b.WriteString(w)
			}
			i = j
		default:
			b.WriteByte(c)
			i++
		}
	}
	return b.String()
}

func isWordByte(c byte) bool {
	return c == '_' || '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}

// New returns the stores on db, whose dialect is d, in bundle: the rest of
// the bundle (Engine, Applied, Migrations, Close) is the engine's.
func New(db DB, d *Dialect, bundle paygate.Stores) paygate.Stores {
	s := &store{db: db, d: d}
	bundle.Merchants, bundle.Payments = merchants{s}, payments{s}
	bundle.Cards, bundle.Keys = cards{s}, cards{s}
	bundle.Idempotency, bundle.Sequences, bundle.Jobs = idempotency{s}, sequences{s}, jobs{s}
	bundle.Sessions, bundle.Signing, bundle.Deliveries = sessions{s}, signing{s}, deliveries{s}
	bundle.Events, bundle.Webhooks = events{s}, webhooks{s}
	bundle.AccessKeys, bundle.Batches = accessKeys{s}, batches{s}
	bundle.Users, bundle.DashSessions, bundle.Audit = users{s}, dashSessions{s}, audit{s}
	bundle.Mail = mails{s}
	bundle.Backlog = backlog{s}
	if close := bundle.Close; close != nil {
		bundle.Close = func() error {
			s.queued.Wait() // the audit entries queued, before the database goes
			return close()
		}
	}
	return bundle
}

// Unapplied returns the names of the migrations in fsys (migration/*.sql)
// that applied, a list of names without the directory, does not hold.
func Unapplied(fsys fs.FS, applied []string) ([]string, error) {
	names, err := fs.Glob(fsys, "migration/*.sql")
	if err != nil {
		return nil, err
	}
	var out []string
	for _, name := range names {
		name = strings.TrimPrefix(name, "migration/")
		if !slices.Contains(applied, name) {
			out = append(out, name)
		}
	}
	return out, nil
}

// HotWrites returns the statements that most writes run, in d's spelling,
// for an engine that prepares statements ahead.
func HotWrites(d *Dialect) []string {
	hot := []string{paymentInsert, paymentKeyRecorded, paymentUpdate, refundUpsert, eventInsert, eventFanOut,
		idemInsert, idemTakeOver, idemSelect, idemComplete, idemRelease, idemUnlock, mailToCustomer, mailToMerchant, auditInsert}
	for i, q := range hot {
		hot[i] = d.SQL(q)
	}
	return hot
}

// store is what every store holds; each kind of store is a type of its own
// on it.
type store struct {
	db     DB
	d      *Dialect
	queued queued // audit entries being written (QueueAudit)
}

// query runs a query written in the common spelling.
func (s *store) query(ctx context.Context, query string, args ...any) (Rows, error) {
	return s.db.Query(ctx, s.d.SQL(query), args...)
}

// queryRow runs a query of one row written in the common spelling.
func (s *store) queryRow(ctx context.Context, query string, args ...any) Row {
	return s.db.QueryRow(ctx, s.d.SQL(query), args...)
}

// stmt is a statement of a write, written in the common spelling.
func (s *store) stmt(check func(n int64, err error) error, query string, args ...any) Stmt {
	return Stmt{SQL: s.d.SQL(query), Args: args, Check: check}
}

// collect returns what scans every row of a query with scan:
// collect("payments", scanPayment)(s.query(ctx, ...)).
func collect[T any](what string, scan func(Row) (T, error)) func(Rows, error) ([]T, error) {
	return func(rows Rows, err error) ([]T, error) { return collectRows(rows, err, what, scan) }
}

func collectRows[T any](rows Rows, err error, what string, scan func(Row) (T, error)) ([]T, error) {
	if err != nil {
		return nil, fmt.Errorf("select %s: %w", what, err)
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, fmt.Errorf("scan %s: %w", what, err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("select %s: %w", what, err)
	}
	return out, nil
}

// failed is the Check of a statement whose only failure is an error.
func failed(what string) func(int64, error) error {
	return func(_ int64, err error) error {
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		return nil
	}
}

// counted is the Check of a statement whose count of changed rows its
// caller needs: it stores it in n (0 when the statement failed).
func counted(what string, n *int64) func(int64, error) error {
	return func(changed int64, err error) error {
		if err != nil {
			*n = 0
			return fmt.Errorf("%s: %w", what, err)
		}
		*n = changed
		return nil
	}
}

// changed is the Check of a statement that must change a row: when it
// changes none, the write fails with none.
func changed(what string, none error) func(int64, error) error {
	return func(n int64, err error) error {
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		if n == 0 {
			return none
		}
		return nil
	}
}

// unique is the Check of an insert whose unique violation is
// paygate.ErrDuplicate.
func (s *store) unique(what string) func(int64, error) error {
	return func(_ int64, err error) error {
		if s.d.IsUnique(err) {
			return fmt.Errorf("%s: %w", what, paygate.ErrDuplicate)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		return nil
	}
}

// toTime is a time as stored: microseconds since the epoch, NULL for zero.
func toTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixMicro()
}

// fromTime is a time as stored, read back.
func fromTime(v sql.NullInt64) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return time.UnixMicro(v.Int64).UTC()
}

func notFound(what, id string) error {
	return paygate.Errorf(paygate.ENOTFOUND, "No such %s: %s.", what, shownID(id))
}

// shownID is an id as an error may show it: cut short, card numbers
// redacted.
func shownID(id string) string {
	if len(id) > 64 {
		id = id[:64] + "…"
	}
	return paygate.RedactPANs(id)
}

// placeholders returns "?, ?, ..., ?", n of them.
func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}
