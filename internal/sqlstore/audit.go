package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"sync"

	"github.com/paygate/paygate"
)

// audit keeps the audit log: inserts and reads only (the table's triggers
// refuse an UPDATE or DELETE, on both engines).
type audit struct{ *store }

var _ paygate.AuditStore = audit{}

const auditColumns = `id, merchant_id, actor_type, actor_id, actor_email, action, target_id, detail, ip, user_agent, created_at`

// auditStmt is the insert of an entry, for a write that records it with
// its change; nil a gives none.
// auditInsert appends an entry: every API call that changes something
// makes one, so it is prepared once (HotWrites).
var auditInsert = `INSERT INTO audit_log (` + auditColumns + `) VALUES (` + placeholders(11) + `)`

func (s *store) auditStmts(a *paygate.AuditEntry) []Stmt {
	if a == nil {
		return nil
	}
	return []Stmt{s.stmt(failed("insert audit entry"), auditInsert,
		a.ID, a.MerchantID, a.ActorType, a.ActorID, text(a.ActorEmail), text(a.Action), text(a.TargetID), text(a.Detail),
		text(a.IP), text(a.UserAgent), toTime(a.CreatedAt))}
}

// AppendAudit appends an entry.
func (s audit) AppendAudit(ctx context.Context, a *paygate.AuditEntry) error {
	return s.db.Write(ctx, &Write{Key: "audit_log/" + a.ID, Stmts: s.auditStmts(a)})
}

var _ paygate.AuditQueuer = audit{}

// QueueAudit appends an entry from a goroutine of its own; AuditLog waits
// for the entries queued before it.
func (s audit) QueueAudit(ctx context.Context, a *paygate.AuditEntry, done func(error)) {
	w := &Write{Key: "audit_log/" + a.ID, Stmts: s.auditStmts(a)}
	finished := s.queued.add()
	go func() {
		err := s.db.Write(ctx, w)
		finished()
		done(err)
	}()
}

// queued tracks writes under way in goroutines of their own, for a read
// that must see those begun before it.
type queued struct {
	mu   sync.Mutex
	next uint64
	open map[uint64]chan struct{}
	all  sync.WaitGroup
}

// add records a write begun; the func it returns records its end.
func (q *queued) add() (finished func()) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.open == nil {
		q.open = map[uint64]chan struct{}{}
	}
	id, ch := q.next, make(chan struct{})
	q.next++
	q.open[id] = ch
	q.all.Add(1)
	return func() {
		q.mu.Lock()
		delete(q.open, id)
		q.mu.Unlock()
		close(ch)
		q.all.Done()
	}
}

// waitBegun returns once every write begun before the call has ended.
func (q *queued) waitBegun(ctx context.Context) error {
	q.mu.Lock()
	chs := make([]chan struct{}, 0, len(q.open))
	for _, ch := range q.open {
		chs = append(chs, ch)
	}
	q.mu.Unlock()
	for _, ch := range chs {
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// Wait returns once every write begun has ended.
func (q *queued) Wait() { q.all.Wait() }

func scanAudit(row Row) (*paygate.AuditEntry, error) {
	var a paygate.AuditEntry
	var created sql.NullInt64
	if err := row.Scan(&a.ID, &a.MerchantID, &a.ActorType, &a.ActorID, &a.ActorEmail, &a.Action, &a.TargetID, &a.Detail,
		&a.IP, &a.UserAgent, &created); err != nil {
		return nil, err
	}
	a.CreatedAt = fromTime(created)
	return &a, nil
}

// AuditLog lists a merchant's entries, newest first.
func (s audit) AuditLog(ctx context.Context, merchantID string, f paygate.AuditFilter) ([]*paygate.AuditEntry, error) {
	if f.Limit <= 0 || f.Limit > 500 {
		f.Limit = 50
	}
	if err := s.queued.waitBegun(ctx); err != nil { // entries queued before
		return nil, fmt.Errorf("wait for the audit entries queued: %w", err)
	}
	q := `SELECT ` + auditColumns + ` FROM audit_log WHERE merchant_id = ?`
	args := []any{merchantID}
	if f.ActorID != "" {
		q += ` AND actor_id = ?`
		args = append(args, f.ActorID)
	}
	if f.Action != "" {
		if strings.HasSuffix(f.Action, ".") {
			q += ` AND substr(action, 1, ?) = ?`
			args = append(args, len(f.Action), f.Action)
		} else {
			q += ` AND action = ?`
			args = append(args, f.Action)
		}
	}
	if f.Before != "" {
		q += ` AND id < ?`
		args = append(args, f.Before)
	}
	q += ` ORDER BY id DESC LIMIT ?`
	args = append(args, f.Limit)
	return collect("audit entries", scanAudit)(s.query(ctx, q, args...))
}
