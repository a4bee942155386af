package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/paygate/paygate"
)

// PaymentStore keeps payments and refunds.
type PaymentStore struct{ db *DB }

var _ paygate.PaymentStore = (*PaymentStore)(nil)

// NewPaymentStore returns a store on db.
func NewPaymentStore(db *DB) *PaymentStore { return &PaymentStore{db: db} }

const paymentColumns = `id, merchant_id, status, amount, currency, amount_captured, amount_refunded, capture_requested,
	brand, first6, last4, exp_month, exp_year, fingerprint, pan_key_id, pan, card_id, confirmation_number,
	stan, rrn, transmitted_at, auth_code, response_code, decline_code, decline_reason, description, order_id,
	metadata, receipt_email, require_ack, ack_deadline, acked_at, void_reason, idempotency_key,
	created_at, updated_at, captured_at, voided_at, settled_at, version, trace`

func paymentArgs(p *paygate.Payment) ([]any, error) {
	meta := ""
	if len(p.Metadata) > 0 {
		b, err := json.Marshal(p.Metadata)
		if err != nil {
			return nil, fmt.Errorf("encode metadata: %w", err)
		}
		meta = string(b)
	}
	return []any{p.ID, p.MerchantID, string(p.Status), p.Amount, p.Currency.Code, p.AmountCaptured, p.AmountRefunded, p.CaptureRequested,
		p.Card.Brand, p.Card.First6, p.Card.Last4, p.Card.ExpMonth, p.Card.ExpYear, p.Card.Fingerprint, p.PAN.KeyID, p.PAN.Ciphertext, p.CardID, p.ConfirmationNumber,
		p.STAN, p.RRN, toTime(p.TransmittedAt), p.AuthCode, p.ResponseCode, p.DeclineCode, p.DeclineReason, p.Description, p.OrderID,
		meta, p.ReceiptEmail, p.RequireAck, toTime(p.AckDeadline), toTime(p.AckedAt), p.VoidReason, p.IdempotencyKey,
		toTime(p.CreatedAt), toTime(p.UpdatedAt), toTime(p.CapturedAt), toTime(p.VoidedAt), toTime(p.SettledAt), p.Version, encodeTrace(p.Trace)}, nil
}

// encodeTrace stores a payment's trace as JSON ("" when empty).
func encodeTrace(t []paygate.TraceEntry) string {
	if len(t) == 0 {
		return ""
	}
	b, err := json.Marshal(t)
	if err != nil {
		return ""
	}
	return string(b)
}

var paymentInsert = prepared(`INSERT INTO payments (` + paymentColumns + `) VALUES (` + strings.TrimSuffix(strings.Repeat("?, ", 41), ", ") + `)`)

// CreatePayment inserts a new payment at version 1.
func (s *PaymentStore) CreatePayment(ctx context.Context, p *paygate.Payment) error {
	p.Version = 1
	args, err := paymentArgs(p)
	if err != nil {
		return err
	}
	return s.db.writeSingle(ctx, func(tx *Tx) error {
		if _, err := tx.Exec(paymentInsert, args...); err != nil {
			if isUnique(err) {
				return fmt.Errorf("insert payment: %w", paygate.ErrDuplicate)
			}
			return fmt.Errorf("insert payment: %w", err)
		}
		return nil
	})
}

var paymentUpdate = prepared(`UPDATE payments SET status = ?, amount_captured = ?, amount_refunded = ?, auth_code = ?, response_code = ?,
	decline_code = ?, decline_reason = ?, ack_deadline = ?, acked_at = ?, void_reason = ?, updated_at = ?, captured_at = ?,
	voided_at = ?, settled_at = ?, trace = ?, version = version + 1 WHERE id = ? AND version = ?`)

func updatePayment(tx *Tx, p *paygate.Payment) error {
	res, err := tx.Exec(paymentUpdate, string(p.Status), p.AmountCaptured, p.AmountRefunded, p.AuthCode, p.ResponseCode,
		p.DeclineCode, p.DeclineReason, toTime(p.AckDeadline), toTime(p.AckedAt), p.VoidReason, toTime(p.UpdatedAt), toTime(p.CapturedAt),
		toTime(p.VoidedAt), toTime(p.SettledAt), encodeTrace(p.Trace), p.ID, p.Version)
	if err != nil {
		return fmt.Errorf("update payment: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return paygate.ErrVersionConflict
	}
	return nil
}

// UpdatePayment saves the mutable fields of p if it is still at p.Version,
// and bumps the version.
func (s *PaymentStore) UpdatePayment(ctx context.Context, p *paygate.Payment) error {
	err := s.db.writeSingle(ctx, func(tx *Tx) error { return updatePayment(tx, p) })
	if err == nil {
		p.Version++
	}
	return err
}

var refundUpsert = prepared(`INSERT INTO refunds (id, payment_id, merchant_id, amount, currency, status, reason, stan, rrn, transmitted_at, response_code, idempotency_key, created_at, updated_at)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
	ON CONFLICT (id) DO UPDATE SET status = excluded.status, response_code = excluded.response_code, updated_at = excluded.updated_at
	WHERE refunds.status = 'pending'`)

// SaveRefund upserts r and updates p in one transaction.
func (s *PaymentStore) SaveRefund(ctx context.Context, p *paygate.Payment, r *paygate.Refund) error {
	err := s.db.write(ctx, func(tx *Tx) error {
		if err := updatePayment(tx, p); err != nil {
			return err
		}
		res, err := tx.Exec(refundUpsert,
			r.ID, r.PaymentID, r.MerchantID, r.Amount, r.Currency.Code, string(r.Status), r.Reason, r.STAN, r.RRN, toTime(r.TransmittedAt),
			r.ResponseCode, r.IdempotencyKey, toTime(r.CreatedAt), toTime(r.UpdatedAt))
		if err != nil {
			return fmt.Errorf("save refund: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return paygate.ErrVersionConflict // the refund was already settled
		}
		return nil
	})
	if err == nil {
		p.Version++
	}
	return err
}

func scanPayment(row interface{ Scan(...any) error }) (*paygate.Payment, error) {
	var p paygate.Payment
	var status, currency, meta, trace string
	var transmitted, ackDeadline, ackedAt, created, updated, captured, voided, settled sql.NullInt64
	err := row.Scan(&p.ID, &p.MerchantID, &status, &p.Amount, &currency, &p.AmountCaptured, &p.AmountRefunded, &p.CaptureRequested,
		&p.Card.Brand, &p.Card.First6, &p.Card.Last4, &p.Card.ExpMonth, &p.Card.ExpYear, &p.Card.Fingerprint, &p.PAN.KeyID, &p.PAN.Ciphertext, &p.CardID, &p.ConfirmationNumber,
		&p.STAN, &p.RRN, &transmitted, &p.AuthCode, &p.ResponseCode, &p.DeclineCode, &p.DeclineReason, &p.Description, &p.OrderID,
		&meta, &p.ReceiptEmail, &p.RequireAck, &ackDeadline, &ackedAt, &p.VoidReason, &p.IdempotencyKey,
		&created, &updated, &captured, &voided, &settled, &p.Version, &trace)
	if err != nil {
		return nil, err
	}
	p.Status = paygate.PaymentStatus(status)
	p.Currency, _ = paygate.LookupCurrency(currency)
	if meta != "" {
		if err := json.Unmarshal([]byte(meta), &p.Metadata); err != nil {
			return nil, fmt.Errorf("decode metadata of %s: %w", p.ID, err)
		}
	}
	p.TransmittedAt, p.AckDeadline, p.AckedAt = fromTime(transmitted), fromTime(ackDeadline), fromTime(ackedAt)
	p.CreatedAt, p.UpdatedAt, p.CapturedAt = fromTime(created), fromTime(updated), fromTime(captured)
	p.VoidedAt, p.SettledAt = fromTime(voided), fromTime(settled)
	if trace != "" {
		if err := json.Unmarshal([]byte(trace), &p.Trace); err != nil {
			return nil, fmt.Errorf("decode trace of %s: %w", p.ID, err)
		}
	}
	return &p, nil
}

// Payment returns one of a merchant's payments with its refunds.
func (s *PaymentStore) Payment(ctx context.Context, merchantID, id string) (*paygate.Payment, error) {
	p, err := scanPayment(s.db.reader.QueryRowContext(ctx, `SELECT `+paymentColumns+` FROM payments WHERE id = ? AND merchant_id = ?`, id, merchantID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("payment", id)
	}
	if err != nil {
		return nil, fmt.Errorf("select payment: %w", err)
	}
	if err := s.loadRefunds(ctx, []*paygate.Payment{p}); err != nil {
		return nil, err
	}
	return p, nil
}

func (s *PaymentStore) queryPayments(ctx context.Context, query string, args ...any) ([]*paygate.Payment, error) {
	rows, err := s.db.reader.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("select payments: %w", err)
	}
	defer rows.Close()
	var out []*paygate.Payment
	for rows.Next() {
		p, err := scanPayment(rows)
		if err != nil {
			return nil, fmt.Errorf("scan payment: %w", err)
		}
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("select payments: %w", err)
	}
	return out, s.loadRefunds(ctx, out)
}

// loadRefunds attaches refunds to payments that have any.
func (s *PaymentStore) loadRefunds(ctx context.Context, list []*paygate.Payment) error {
	byID := map[string]*paygate.Payment{}
	var ids []any
	for _, p := range list {
		if p.AmountCaptured > 0 { // only captured payments can have refunds
			byID[p.ID] = p
			ids = append(ids, p.ID)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	rows, err := s.db.reader.QueryContext(ctx, `SELECT `+refundColumns+` FROM refunds WHERE payment_id IN (`+strings.TrimSuffix(strings.Repeat("?,", len(ids)), ",")+`) ORDER BY id`, ids...)
	if err != nil {
		return fmt.Errorf("select refunds: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		r, err := scanRefund(rows)
		if err != nil {
			return err
		}
		p := byID[r.PaymentID]
		p.Refunds = append(p.Refunds, r)
	}
	return rows.Err()
}

// Payments lists a merchant's payments, newest first, one page at a time.
func (s *PaymentStore) Payments(ctx context.Context, f paygate.PaymentFilter) ([]*paygate.Payment, bool, error) {
	where := []string{"merchant_id = ?"}
	args := []any{f.MerchantID}
	if f.Status != "" {
		where, args = append(where, "status = ?"), append(args, string(f.Status))
	}
	if f.OrderID != "" {
		where, args = append(where, "order_id = ?"), append(args, f.OrderID)
	}
	if !f.CreatedGTE.IsZero() {
		where, args = append(where, "created_at >= ?"), append(args, f.CreatedGTE.UnixMicro())
	}
	if !f.CreatedLTE.IsZero() {
		where, args = append(where, "created_at <= ?"), append(args, f.CreatedLTE.UnixMicro())
	}
	if f.StartingAfter != "" {
		where, args = append(where, "id < ?"), append(args, f.StartingAfter)
	}
	args = append(args, f.Limit+1)
	list, err := s.queryPayments(ctx, `SELECT `+paymentColumns+` FROM payments WHERE `+strings.Join(where, " AND ")+` ORDER BY id DESC LIMIT ?`, args...)
	if err != nil {
		return nil, false, err
	}
	more := len(list) > f.Limit
	if more {
		list = list[:f.Limit]
	}
	return list, more, nil
}

// InDoubt returns payments whose network exchange was left unfinished.
func (s *PaymentStore) InDoubt(ctx context.Context, before time.Time, limit int) ([]*paygate.Payment, error) {
	return s.queryPayments(ctx, `SELECT `+paymentColumns+` FROM payments WHERE
		(status IN ('pending', 'capturing', 'voiding') AND updated_at < ?)
		OR id IN (SELECT payment_id FROM refunds WHERE status = 'pending' AND updated_at < ?)
		ORDER BY updated_at LIMIT ?`, before.UnixMicro(), before.UnixMicro(), limit)
}

// AckOverdue returns approvals not acknowledged by their deadline.
func (s *PaymentStore) AckOverdue(ctx context.Context, now time.Time, limit int) ([]*paygate.Payment, error) {
	return s.queryPayments(ctx, `SELECT `+paymentColumns+` FROM payments WHERE require_ack = 1 AND acked_at IS NULL
		AND ack_deadline < ? AND status IN ('authorized', 'captured') AND settled_at IS NULL ORDER BY ack_deadline LIMIT ?`, now.UnixMicro(), limit)
}

// MarkSettled stamps a merchant's captured, unsettled payments as settled.
func (s *PaymentStore) MarkSettled(ctx context.Context, merchantID string, at time.Time) (int64, error) {
	var n int64
	err := s.db.write(ctx, func(tx *Tx) error {
		res, err := tx.Exec(`UPDATE payments SET settled_at = ?, updated_at = ?, version = version + 1
			WHERE merchant_id = ? AND settled_at IS NULL AND status IN ('captured', 'partially_refunded', 'refunded')`,
			at.UnixMicro(), at.UnixMicro(), merchantID)
		if err != nil {
			return fmt.Errorf("mark settled: %w", err)
		}
		n, _ = res.RowsAffected()
		return nil
	})
	return n, err
}

const refundColumns = `id, payment_id, merchant_id, amount, currency, status, reason, stan, rrn, transmitted_at,
	response_code, idempotency_key, created_at, updated_at`

func scanRefund(row interface{ Scan(...any) error }) (*paygate.Refund, error) {
	var r paygate.Refund
	var currency, status string
	var transmitted, created, updated sql.NullInt64
	if err := row.Scan(&r.ID, &r.PaymentID, &r.MerchantID, &r.Amount, &currency, &status, &r.Reason, &r.STAN, &r.RRN, &transmitted,
		&r.ResponseCode, &r.IdempotencyKey, &created, &updated); err != nil {
		return nil, err
	}
	r.Currency, _ = paygate.LookupCurrency(currency)
	r.Status = paygate.RefundStatus(status)
	r.TransmittedAt, r.CreatedAt, r.UpdatedAt = fromTime(transmitted), fromTime(created), fromTime(updated)
	return &r, nil
}

// PaymentByIdempotencyKey finds the newest payment created under a key.
func (s *PaymentStore) PaymentByIdempotencyKey(ctx context.Context, merchantID, key string) (*paygate.Payment, error) {
	if key == "" {
		return nil, paygate.Errorf(paygate.ENOTFOUND, "No payment was made with this idempotency key.")
	}
	list, err := s.queryPayments(ctx, `SELECT `+paymentColumns+` FROM payments WHERE merchant_id = ? AND idempotency_key = ?
		ORDER BY id DESC LIMIT 1`, merchantID, key)
	if err != nil {
		return nil, err
	}
	if len(list) == 0 {
		return nil, paygate.Errorf(paygate.ENOTFOUND, "No payment was made with this idempotency key.")
	}
	return list[0], nil
}

// RefundByIdempotencyKey finds the newest refund created under a key.
func (s *PaymentStore) RefundByIdempotencyKey(ctx context.Context, merchantID, key string) (*paygate.Refund, error) {
	if key == "" {
		return nil, paygate.Errorf(paygate.ENOTFOUND, "No refund was made with this idempotency key.")
	}
	r, err := scanRefund(s.db.reader.QueryRowContext(ctx, `SELECT `+refundColumns+` FROM refunds WHERE merchant_id = ? AND idempotency_key = ?
		ORDER BY id DESC LIMIT 1`, merchantID, key))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, paygate.Errorf(paygate.ENOTFOUND, "No refund was made with this idempotency key.")
	}
	if err != nil {
		return nil, fmt.Errorf("select refund: %w", err)
	}
	return r, nil
}

// StaleAuthorizations returns open authorizations created before a time.
func (s *PaymentStore) StaleAuthorizations(ctx context.Context, createdBefore time.Time, limit int) ([]*paygate.Payment, error) {
	return s.queryPayments(ctx, `SELECT `+paymentColumns+` FROM payments WHERE status = 'authorized' AND created_at < ?
		ORDER BY created_at LIMIT ?`, createdBefore.UnixMicro(), limit)
}
