package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/paygate/paygate"
)

// mails keeps the e-mail outbox. The payment store writes the mail of its
// changes in the same transaction as the changes (mailStmts).
type mails struct{ *store }

var _ paygate.MailStore = mails{}

const mailColumns = `id, merchant_id, payment_id, refund_id, kind, recipient, to_address, merchant_name, facts,
	subject, text_body, html_body, status, attempts, next_at, last_error, sent_at, created_at, updated_at`

// mailInsert writes a mail with the merchant's name as stored; its To is
// the argument (a customer's mail) or the merchant's notify_email (a
// merchant's mail, written only when it has one).
func mailInsert(toMerchant bool) string {
	to, cond := `CAST(? AS TEXT)`, ``
	if toMerchant {
		to, cond = `notify_email`, ` AND notify_email <> ''`
	}
	return `INSERT INTO mail (` + mailColumns + `)
	SELECT CAST(? AS TEXT), id, CAST(? AS TEXT), CAST(? AS TEXT), CAST(? AS TEXT), CAST(? AS TEXT), ` + to + `,
		CASE WHEN display_name <> '' THEN display_name ELSE name END, CAST(? AS TEXT),
		'', '', '', 'queued', 0, CAST(? AS BIGINT), '', CAST(NULL AS BIGINT), CAST(? AS BIGINT), CAST(? AS BIGINT)
	FROM merchants WHERE id = ?` + cond
}

var (
	mailToCustomer = mailInsert(false)
	mailToMerchant = mailInsert(true)
)

// mailStmts are the statements that write mail, to run in the
// transaction of the change it reports.
func (s *store) mailStmts(list []*paygate.Mail) []Stmt {
	var out []Stmt
	for _, m := range list {
		facts, _ := json.Marshal(m.Facts) // plain fields: cannot fail
		args := []any{m.ID, m.PaymentID, m.RefundID, m.Kind, m.Recipient}
		query := mailToMerchant
		if m.Recipient != paygate.MailToMerchant {
			query, args = mailToCustomer, append(args, m.To)
		}
		args = append(args, string(facts), toTime(m.NextAt), toTime(m.CreatedAt), toTime(m.UpdatedAt), m.MerchantID)
		out = append(out, s.stmt(s.unique("insert mail"), query, args...))
	}
	return out
}

func scanMail(row Row) (*paygate.Mail, error) {
	var m paygate.Mail
	var facts string
	var next, sent, created, updated sql.NullInt64
	if err := row.Scan(&m.ID, &m.MerchantID, &m.PaymentID, &m.RefundID, &m.Kind, &m.Recipient, &m.To, &m.MerchantName, &facts,
		&m.Subject, &m.Text, &m.HTML, &m.Status, &m.Attempts, &next, &m.LastError, &sent, &created, &updated); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(facts), &m.Facts); err != nil {
		return nil, fmt.Errorf("decode facts of mail %s: %w", m.ID, err)
	}
	m.NextAt, m.SentAt, m.CreatedAt, m.UpdatedAt = fromTime(next), fromTime(sent), fromTime(created), fromTime(updated)
	return &m, nil
}

// ClaimMail leases up to limit queued mails due at now, the longest due
// first, by moving their NextAt to the end of the lease, and returns them
// (oldest first). One statement, as ClaimDeliveries: on PostgreSQL the
// pick skips the rows another claim holds.
func (s mails) ClaimMail(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]*paygate.Mail, error) {
	if lease <= 0 {
		return nil, fmt.Errorf("claim mail: lease of %v: want a positive duration", lease)
	}
	if limit <= 0 {
		return nil, nil
	}
	var claimed []*paygate.Mail
	claim := func(tx Tx) error {
		rows, err := tx.Query(s.d.SQL(`WITH due AS MATERIALIZED (
				SELECT id FROM mail WHERE status = 'queued' AND next_at <= ?
				ORDER BY next_at, id LIMIT ? `+s.d.SkipLocked+`)
			UPDATE mail SET next_at = ? WHERE id IN (SELECT id FROM due) AND status = 'queued' RETURNING `+mailColumns),
			now.UnixMicro(), limit, now.Add(lease).UnixMicro())
		claimed, err = collectRows(rows, err, "mail", scanMail)
		if err != nil {
			claimed = nil
			return fmt.Errorf("claim mail: %w", err)
		}
		return nil
	}
	if err := s.db.Write(ctx, &Write{Key: "mail/", Then: claim, Alone: true}); err != nil {
		return nil, err
	}
	slices.SortFunc(claimed, func(a, b *paygate.Mail) int { return cmp.Compare(a.ID, b.ID) })
	return claimed, nil
}

// RecordMail saves the outcome of an attempt, fenced on the claim. Its
// text is kept as valid UTF-8 without NUL bytes (a server's answer may be
// anything).
func (s mails) RecordMail(ctx context.Context, m *paygate.Mail, prevNextAt time.Time) error {
	return s.db.Write(ctx, &Write{Key: "mail/" + m.ID, Stmts: []Stmt{s.stmt(changed("record mail", paygate.ErrVersionConflict),
		`UPDATE mail SET subject = ?, text_body = ?, html_body = ?, status = ?, attempts = ?, next_at = ?, last_error = ?,
		sent_at = ?, updated_at = ? WHERE id = ? AND next_at = ? AND status = 'queued'`,
		text(m.Subject), text(m.Text), text(m.HTML), m.Status, m.Attempts, toTime(m.NextAt), text(m.LastError),
		toTime(m.SentAt), toTime(m.UpdatedAt), m.ID, toTime(prevNextAt))}})
}

// Mail returns one of a merchant's mails.
func (s mails) Mail(ctx context.Context, merchantID, id string) (*paygate.Mail, error) {
	m, err := scanMail(s.queryRow(ctx, `SELECT `+mailColumns+` FROM mail WHERE id = ? AND merchant_id = ?`, id, merchantID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("mail", id)
	}
	if err != nil {
		return nil, fmt.Errorf("select mail: %w", err)
	}
	return m, nil
}

// Mails lists a merchant's mail, newest first, one page at a time.
func (s mails) Mails(ctx context.Context, f paygate.MailFilter) ([]*paygate.Mail, bool, error) {
	return listPage(s.store, ctx, listing{what: "mail", table: "mail", columns: mailColumns, merchantID: f.MerchantID,
		startingAfter: f.StartingAfter, limit: f.Limit, filters: []filter{{"payment_id = ?", f.PaymentID}, {"status = ?", f.Status}}}, scanMail)
}
