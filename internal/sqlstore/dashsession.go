package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/paygate/paygate"
)

// dashSessions keeps dashboard sessions.
type dashSessions struct{ *store }

var _ paygate.DashSessionStore = dashSessions{}

const dashSessionColumns = `id, token_hash, user_id, merchant_id, verified, ip, user_agent, created_at, last_seen_at`

// CreateDashSession stores a session (and the sign-in's audit entry).
func (s dashSessions) CreateDashSession(ctx context.Context, d *paygate.DashSession, a *paygate.AuditEntry) error {
	stmts := []Stmt{s.stmt(failed("insert dashboard session"),
		`INSERT INTO dash_sessions (`+dashSessionColumns+`) VALUES (`+placeholders(9)+`)`,
		d.ID, d.TokenHash, d.UserID, d.MerchantID, d.Verified, text(d.IP), text(d.UserAgent), toTime(d.CreatedAt), toTime(d.LastSeenAt))}
	return s.db.Write(ctx, &Write{Key: "dash_sessions/" + d.ID, Stmts: append(stmts, s.auditStmts(a)...)})
}

// DashSession finds a session by its token's hash.
func (s dashSessions) DashSession(ctx context.Context, tokenHash string) (*paygate.DashSession, error) {
	var d paygate.DashSession
	var created, seen sql.NullInt64
	err := s.queryRow(ctx, `SELECT `+dashSessionColumns+` FROM dash_sessions WHERE token_hash = ?`, tokenHash).Scan(
		&d.ID, &d.TokenHash, &d.UserID, &d.MerchantID, &d.Verified, &d.IP, &d.UserAgent, &created, &seen)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, paygate.Errorf(paygate.ENOTFOUND, "No such session.")
	}
	if err != nil {
		return nil, fmt.Errorf("select dashboard session: %w", err)
	}
	d.CreatedAt, d.LastSeenAt = fromTime(created), fromTime(seen)
	return &d, nil
}

// TouchDashSession moves a session's LastSeenAt forward.
func (s dashSessions) TouchDashSession(ctx context.Context, id string, at time.Time) error {
	return s.db.Write(ctx, &Write{Key: "dash_sessions/" + id, Lazy: true, Stmts: []Stmt{s.stmt(failed("touch dashboard session"),
		`UPDATE dash_sessions SET last_seen_at = ? WHERE id = ? AND last_seen_at < ?`, at.UnixMicro(), id, at.UnixMicro())}})
}

// DeleteDashSession ends a session.
func (s dashSessions) DeleteDashSession(ctx context.Context, id string, a *paygate.AuditEntry) error {
	stmts := []Stmt{s.stmt(failed("delete dashboard session"), `DELETE FROM dash_sessions WHERE id = ?`, id)}
	return s.db.Write(ctx, &Write{Key: "dash_sessions/" + id, Stmts: append(stmts, s.auditStmts(a)...)})
}

// pruneSignInBatch bounds each delete of PruneSignIns.
const pruneSignInBatch = 1000

// PruneSignIns deletes ended sessions and old sign-in failures, a batch
// per write.
func (s dashSessions) PruneSignIns(ctx context.Context, idleBefore, createdBefore, failedBefore time.Time) (int64, error) {
	var total int64
	for _, q := range []struct {
		what, key, sql string
		args           []any
	}{
		{"prune dashboard sessions", "dash_sessions/", `DELETE FROM dash_sessions WHERE id IN
			(SELECT id FROM dash_sessions WHERE last_seen_at < ? OR created_at < ? LIMIT ?)`,
			[]any{idleBefore.UnixMicro(), createdBefore.UnixMicro(), pruneSignInBatch}},
		{"prune sign-in failures", "signin_failures/", `DELETE FROM signin_failures WHERE (key, at) IN
			(SELECT key, at FROM signin_failures WHERE at < ? LIMIT ?)`,
			[]any{failedBefore.UnixMicro(), pruneSignInBatch}},
	} {
		for {
			var n int64
			stmt := s.stmt(counted(q.what, &n), q.sql, q.args...)
			if err := s.db.Write(ctx, &Write{Key: q.key, Stmts: []Stmt{stmt}, Alone: true}); err != nil {
				return total, err
			}
			total += n
			if n < pruneSignInBatch {
				break
			}
		}
	}
	return total, nil
}
