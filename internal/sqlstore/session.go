package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/paygate/paygate"
)

// sessions keeps hosted payment sessions.
type sessions struct{ *store }

var _ paygate.SessionStore = sessions{}

const sessionColumns = `id, merchant_id, status, model, amount, currency, order_id, description, return_url, cancel_url,
	capture, customer_email, metadata, form_key, attempts, declines, paying, paying_since, payment_id, sequence, outcome,
	expires_at, created_at, updated_at, completed_at, acked_at, version`

// encodeMetadata stores metadata as a JSON object ("" when empty), as
// payments do.
func encodeMetadata(meta map[string]string) (string, error) {
	if len(meta) == 0 {
		return "", nil
	}
	b, err := json.Marshal(meta)
	if err != nil {
		return "", fmt.Errorf("encode metadata: %w", err)
	}
	return string(b), nil
}

func scanSession(row Row) (*paygate.Session, error) {
	var s paygate.Session
	var status, currency, meta string
	var payingSince, expires, created, updated, completed, acked sql.NullInt64
	err := row.Scan(&s.ID, &s.MerchantID, &status, &s.Model, &s.Amount, &currency, &s.OrderID, &s.Description, &s.ReturnURL, &s.CancelURL,
		&s.Capture, &s.CustomerEmail, &meta, &s.FormKey, &s.Attempts, &s.Declines, &s.Paying, &payingSince, &s.PaymentID, &s.Sequence, &s.Outcome,
		&expires, &created, &updated, &completed, &acked, &s.Version)
	if err != nil {
		return nil, err
	}
	s.Status = paygate.SessionStatus(status)
	s.SavedOutcome = s.Outcome
	s.Currency, _ = paygate.LookupCurrency(currency)
	if meta != "" {
		if err := json.Unmarshal([]byte(meta), &s.Metadata); err != nil {
			return nil, fmt.Errorf("decode metadata of %s: %w", s.ID, err)
		}
	}
	s.PayingSince, s.ExpiresAt, s.CreatedAt = fromTime(payingSince), fromTime(expires), fromTime(created)
	s.UpdatedAt, s.CompletedAt, s.AckedAt = fromTime(updated), fromTime(completed), fromTime(acked)
	return &s, nil
}

// CreateSession inserts a new session at version 1, with the events it
// reports (paygate.SessionEvents) and their deliveries, in one
// transaction. A session of the same merchant and form (a non-empty
// FormKey) is ErrDuplicate.
func (s sessions) CreateSession(ctx context.Context, ss *paygate.Session) error {
	meta, err := encodeMetadata(ss.Metadata)
	if err != nil {
		return err
	}
	ss.Version = 1
	insert := s.stmt(s.unique("insert session"),
		`INSERT INTO sessions (`+sessionColumns+`) VALUES (`+placeholders(27)+`)`,
		ss.ID, ss.MerchantID, string(ss.Status), ss.Model, ss.Amount, ss.Currency.Code, ss.OrderID, ss.Description, ss.ReturnURL, ss.CancelURL,
		ss.Capture, ss.CustomerEmail, meta, ss.FormKey, ss.Attempts, ss.Declines, ss.Paying, toTime(ss.PayingSince), ss.PaymentID, ss.Sequence, ss.Outcome,
		toTime(ss.ExpiresAt), toTime(ss.CreatedAt), toTime(ss.UpdatedAt), toTime(ss.CompletedAt), toTime(ss.AckedAt), ss.Version)
	err = s.db.Write(ctx, &Write{Key: "sessions/" + ss.ID,
		Stmts: append([]Stmt{insert}, s.eventStmts(paygate.SessionEvents(ss, ss.UpdatedAt))...)})
	if err == nil {
		ss.SavedOutcome = ss.Outcome
	}
	return err
}

// UpdateSession saves everything of a session but its identity (id,
// merchant, form, creation) if it is still at ss.Version, and bumps the
// version, with the events it reports and their deliveries, in one
// transaction; else ErrVersionConflict, and nothing is written.
func (s sessions) UpdateSession(ctx context.Context, ss *paygate.Session) error {
	meta, err := encodeMetadata(ss.Metadata)
	if err != nil {
		return err
	}
	update := s.stmt(changed("update session", paygate.ErrVersionConflict),
		`UPDATE sessions SET status = ?, model = ?, amount = ?, currency = ?, order_id = ?, description = ?, return_url = ?,
		cancel_url = ?, capture = ?, customer_email = ?, metadata = ?, attempts = ?, declines = ?, paying = ?, paying_since = ?, payment_id = ?,
		sequence = ?, outcome = ?, expires_at = ?, updated_at = ?, completed_at = ?, acked_at = ?, version = version + 1
		WHERE id = ? AND version = ?`,
		string(ss.Status), ss.Model, ss.Amount, ss.Currency.Code, ss.OrderID, ss.Description, ss.ReturnURL,
		ss.CancelURL, ss.Capture, ss.CustomerEmail, meta, ss.Attempts, ss.Declines, ss.Paying, toTime(ss.PayingSince), ss.PaymentID,
		ss.Sequence, ss.Outcome, toTime(ss.ExpiresAt), toTime(ss.UpdatedAt), toTime(ss.CompletedAt), toTime(ss.AckedAt),
		ss.ID, ss.Version)
	err = s.db.Write(ctx, &Write{Key: "sessions/" + ss.ID,
		Stmts: append([]Stmt{update}, s.eventStmts(paygate.SessionEvents(ss, ss.UpdatedAt))...)})
	if err == nil {
		ss.Version++
		ss.SavedOutcome = ss.Outcome
	}
	return err
}

// Session returns a session by id; merchantID "" matches any merchant.
func (s sessions) Session(ctx context.Context, merchantID, id string) (*paygate.Session, error) {
	var row Row
	if merchantID == "" {
		row = s.queryRow(ctx, `SELECT `+sessionColumns+` FROM sessions WHERE id = ?`, id)
	} else {
		row = s.queryRow(ctx, `SELECT `+sessionColumns+` FROM sessions WHERE id = ? AND merchant_id = ?`, id, merchantID)
	}
	ss, err := scanSession(row)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("session", id)
	}
	if err != nil {
		return nil, fmt.Errorf("select session: %w", err)
	}
	return ss, nil
}

// SessionByFormKey returns the merchant's session started by a signed form.
func (s sessions) SessionByFormKey(ctx context.Context, merchantID, formKey string) (*paygate.Session, error) {
	if formKey == "" {
		return nil, paygate.Errorf(paygate.ENOTFOUND, "No session was started by this payment form.")
	}
	ss, err := scanSession(s.queryRow(ctx, `SELECT `+sessionColumns+` FROM sessions WHERE merchant_id = ? AND form_key = ? AND form_key <> ''`,
		merchantID, formKey))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, paygate.Errorf(paygate.ENOTFOUND, "No session was started by this payment form.")
	}
	if err != nil {
		return nil, fmt.Errorf("select session: %w", err)
	}
	return ss, nil
}

// StalePaying returns sessions left paying since before the given time.
func (s sessions) StalePaying(ctx context.Context, before time.Time, limit int) ([]*paygate.Session, error) {
	rows, err := s.query(ctx, `SELECT `+sessionColumns+` FROM sessions WHERE paying = TRUE AND paying_since < ?
		ORDER BY paying_since LIMIT ?`, toTime(before), limit)
	if err != nil {
		return nil, fmt.Errorf("select paying sessions: %w", err)
	}
	defer rows.Close()
	var list []*paygate.Session
	for rows.Next() {
		ss, err := scanSession(rows)
		if err != nil {
			return nil, fmt.Errorf("scan session: %w", err)
		}
		list = append(list, ss)
	}
	return list, rows.Err()
}
