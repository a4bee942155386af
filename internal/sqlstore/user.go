package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/paygate/paygate"
)

// users keeps dashboard users, their set-password tokens, recovery codes
// and failed sign-ins.
type users struct{ *store }

var _ paygate.UserStore = users{}

const userColumns = `id, merchant_id, email, role, password_hash, totp_secret, totp_last_step, disabled, created_at, updated_at`

func scanUser(row Row) (*paygate.User, error) {
	var u paygate.User
	var role string
	var created, updated sql.NullInt64
	if err := row.Scan(&u.ID, &u.MerchantID, &u.Email, &role, &u.PasswordHash, &u.TOTPSecret, &u.TOTPLastStep, &u.Disabled,
		&created, &updated); err != nil {
		return nil, err
	}
	u.Role = paygate.Role(role)
	u.CreatedAt, u.UpdatedAt = fromTime(created), fromTime(updated)
	return &u, nil
}

func (s users) tokenStmt(t *paygate.UserToken) Stmt {
	return s.stmt(failed("insert user token"),
		`INSERT INTO user_tokens (id, user_id, merchant_id, token_hash, expires_at, used_at, created_at) VALUES (`+placeholders(7)+`)`,
		t.ID, t.UserID, t.MerchantID, t.TokenHash, toTime(t.ExpiresAt), toTime(t.UsedAt), toTime(t.CreatedAt))
}

// CreateUser stores a new user, its set-password token and the audit
// entry at once; an address already taken is ErrDuplicate.
func (s users) CreateUser(ctx context.Context, u *paygate.User, t *paygate.UserToken, a *paygate.AuditEntry) error {
	stmts := []Stmt{s.stmt(s.unique("insert user"), `INSERT INTO users (`+userColumns+`) VALUES (`+placeholders(10)+`)`,
		u.ID, u.MerchantID, u.Email, string(u.Role), u.PasswordHash, u.TOTPSecret, u.TOTPLastStep, u.Disabled,
		toTime(u.CreatedAt), toTime(u.UpdatedAt))}
	if t != nil {
		stmts = append(stmts, s.tokenStmt(t))
	}
	stmts = append(stmts, s.auditStmts(a)...)
	return s.db.Write(ctx, &Write{Key: "users/" + u.ID, Stmts: stmts})
}

// User returns a user by id.
func (s users) User(ctx context.Context, id string) (*paygate.User, error) {
	u, err := scanUser(s.queryRow(ctx, `SELECT `+userColumns+` FROM users WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("user", id)
	}
	if err != nil {
		return nil, fmt.Errorf("select user: %w", err)
	}
	return u, nil
}

// UserByEmail returns a user by address.
func (s users) UserByEmail(ctx context.Context, email string) (*paygate.User, error) {
	u, err := scanUser(s.queryRow(ctx, `SELECT `+userColumns+` FROM users WHERE email = ?`, email))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, paygate.Errorf(paygate.ENOTFOUND, "No such user.")
	}
	if err != nil {
		return nil, fmt.Errorf("select user: %w", err)
	}
	return u, nil
}

// Users lists a merchant's users, oldest first.
func (s users) Users(ctx context.Context, merchantID string) ([]*paygate.User, error) {
	return collect("users", scanUser)(s.query(ctx, `SELECT `+userColumns+` FROM users WHERE merchant_id = ? ORDER BY id`, merchantID))
}

// UpdateUser saves a user's role, flags, secrets and UpdatedAt; with
// endSessions, or when the user is disabled, their sessions but
// keepSession end in the same write.
func (s users) UpdateUser(ctx context.Context, u *paygate.User, endSessions bool, keepSession string, a *paygate.AuditEntry) error {
	stmts := []Stmt{s.stmt(changed("update user", notFound("user", u.ID)),
		`UPDATE users SET role = ?, password_hash = ?, totp_secret = ?, disabled = ?, updated_at = ? WHERE id = ?`,
		string(u.Role), u.PasswordHash, u.TOTPSecret, u.Disabled, toTime(u.UpdatedAt), u.ID)}
	if endSessions || u.Disabled {
		stmts = append(stmts, s.stmt(failed("end user's sessions"), `DELETE FROM dash_sessions WHERE user_id = ? AND id <> ?`, u.ID, keepSession))
	}
	stmts = append(stmts, s.auditStmts(a)...)
	return s.db.Write(ctx, &Write{Key: "users/" + u.ID, Stmts: stmts})
}

// CreateUserToken stores a set-password token.
func (s users) CreateUserToken(ctx context.Context, t *paygate.UserToken, a *paygate.AuditEntry) error {
	return s.db.Write(ctx, &Write{Key: "users/" + t.UserID, Stmts: append([]Stmt{s.tokenStmt(t)}, s.auditStmts(a)...)})
}

// SetPassword uses up a token and sets its user's password, ending their
// sessions, in one write. The audit entry's actor is the token's user.
func (s users) SetPassword(ctx context.Context, tokenHash, passwordHash string, now time.Time, a *paygate.AuditEntry) (*paygate.User, error) {
	var u *paygate.User
	set := func(tx Tx) error {
		u = nil
		var userID string
		err := tx.QueryRow(s.d.SQL(`UPDATE user_tokens SET used_at = ? WHERE token_hash = ? AND used_at IS NULL AND expires_at > ?
			RETURNING user_id`), now.UnixMicro(), tokenHash, now.UnixMicro()).Scan(&userID)
		if errors.Is(err, sql.ErrNoRows) {
			return paygate.Errorf(paygate.ENOTFOUND, "This link is not valid any more: it was used already or has expired. Ask an administrator for a new one.")
		}
		if err != nil {
			return fmt.Errorf("use user token: %w", err)
		}
		if _, err := tx.Exec(s.d.SQL(`UPDATE users SET password_hash = ?, updated_at = ? WHERE id = ?`), passwordHash, now.UnixMicro(), userID); err != nil {
			return fmt.Errorf("set password: %w", err)
		}
		if _, err := tx.Exec(s.d.SQL(`DELETE FROM dash_sessions WHERE user_id = ?`), userID); err != nil {
			return fmt.Errorf("end user's sessions: %w", err)
		}
		if u, err = scanUser(tx.QueryRow(s.d.SQL(`SELECT `+userColumns+` FROM users WHERE id = ?`), userID)); err != nil {
			return fmt.Errorf("select user: %w", err)
		}
		if a != nil {
			e := *a
			e.MerchantID, e.ActorType, e.ActorID, e.ActorEmail, e.TargetID = u.MerchantID, paygate.ActorUser, u.ID, u.Email, u.ID
			for _, st := range s.auditStmts(&e) {
				if _, err := tx.Exec(st.SQL, st.Args...); err != nil {
					return fmt.Errorf("insert audit entry: %w", err)
				}
			}
		}
		return nil
	}
	if err := s.db.Write(ctx, &Write{Key: "user_tokens/" + tokenHash, Then: set}); err != nil {
		return nil, err
	}
	return u, nil
}

// UseTOTPStep moves the user's last used step forward, if step is later.
func (s users) UseTOTPStep(ctx context.Context, userID string, step int64) (bool, error) {
	var n int64
	err := s.db.Write(ctx, &Write{Key: "users/" + userID, Stmts: []Stmt{s.stmt(func(k int64, err error) error {
		n = k
		return failed("use totp step")(k, err)
	}, `UPDATE users SET totp_last_step = ? WHERE id = ? AND totp_last_step < ?`, step, userID, step)}})
	return n == 1, err
}

// SetRecoveryCodes replaces the user's recovery codes.
func (s users) SetRecoveryCodes(ctx context.Context, userID string, hashes []string, now time.Time, a *paygate.AuditEntry) error {
	stmts := []Stmt{s.stmt(failed("delete recovery codes"), `DELETE FROM recovery_codes WHERE user_id = ?`, userID)}
	for _, h := range hashes {
		stmts = append(stmts, s.stmt(failed("insert recovery code"),
			`INSERT INTO recovery_codes (user_id, code_hash, used_at, created_at) VALUES (?, ?, NULL, ?)`, userID, h, now.UnixMicro()))
	}
	stmts = append(stmts, s.auditStmts(a)...)
	return s.db.Write(ctx, &Write{Key: "users/" + userID, Stmts: stmts})
}

// UseRecoveryCode uses up one unused code.
func (s users) UseRecoveryCode(ctx context.Context, userID, hash string, now time.Time) (bool, error) {
	var n int64
	err := s.db.Write(ctx, &Write{Key: "users/" + userID, Stmts: []Stmt{s.stmt(func(k int64, err error) error {
		n = k
		return failed("use recovery code")(k, err)
	}, `UPDATE recovery_codes SET used_at = ? WHERE user_id = ? AND code_hash = ? AND used_at IS NULL`, now.UnixMicro(), userID, hash)}})
	return n == 1, err
}

// RecoveryCodesLeft counts the user's unused codes.
func (s users) RecoveryCodesLeft(ctx context.Context, userID string) (int, error) {
	var n int
	if err := s.queryRow(ctx, `SELECT COUNT(*) FROM recovery_codes WHERE user_id = ? AND used_at IS NULL`, userID).Scan(&n); err != nil {
		return 0, fmt.Errorf("count recovery codes: %w", err)
	}
	return n, nil
}

// RecordSignInFailure counts a failure against each key, and forgets the
// keys' failures older than a day.
func (s users) RecordSignInFailure(ctx context.Context, keys []string, at time.Time) error {
	var stmts []Stmt
	for _, k := range keys {
		stmts = append(stmts,
			s.stmt(failed("prune sign-in failures"), `DELETE FROM signin_failures WHERE key = ? AND at < ?`, k, at.Add(-paygate.SignInFailureTTL).UnixMicro()),
			s.stmt(failed("record sign-in failure"), `INSERT INTO signin_failures (key, at) VALUES (?, ?)`, k, at.UnixMicro()))
	}
	if len(stmts) == 0 {
		return nil
	}
	return s.db.Write(ctx, &Write{Key: "signin_failures/" + keys[0], Stmts: stmts})
}

// SignInFailures counts key's failures since then.
func (s users) SignInFailures(ctx context.Context, key string, since time.Time) (int, time.Time, error) {
	var n int
	var last sql.NullInt64
	if err := s.queryRow(ctx, `SELECT COUNT(*), MAX(at) FROM signin_failures WHERE key = ? AND at >= ?`, key, since.UnixMicro()).Scan(&n, &last); err != nil {
		return 0, time.Time{}, fmt.Errorf("count sign-in failures: %w", err)
	}
	return n, fromTime(last), nil
}

// ClearSignInFailures forgets key's failures.
func (s users) ClearSignInFailures(ctx context.Context, key string) error {
	return s.db.Write(ctx, &Write{Key: "signin_failures/" + key, Stmts: []Stmt{s.stmt(failed("clear sign-in failures"),
		`DELETE FROM signin_failures WHERE key = ?`, key)}})
}
