package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/paygate/paygate"
)

// deliveries keeps the session outcomes still to reach merchants.
type deliveries struct{ *store }

var _ paygate.DeliveryStore = deliveries{}

const deliveryColumns = `id, merchant_id, session_id, status, attempts, next_at, last_error, created_at, updated_at`

func scanDelivery(row Row) (*paygate.Delivery, error) {
	var d paygate.Delivery
	var next, created, updated sql.NullInt64
	if err := row.Scan(&d.ID, &d.MerchantID, &d.SessionID, &d.Status, &d.Attempts, &next, &d.LastError, &created, &updated); err != nil {
		return nil, err
	}
	d.NextAt, d.CreatedAt, d.UpdatedAt = fromTime(next), fromTime(created), fromTime(updated)
	return &d, nil
}

// CreateDelivery stores d; a second delivery of its session is
// ErrDuplicate.
func (s deliveries) CreateDelivery(ctx context.Context, d *paygate.Delivery) error {
	return s.db.Write(ctx, &Write{Key: "deliveries/" + d.ID, Stmts: []Stmt{s.stmt(s.unique("insert delivery"),
		`INSERT INTO deliveries (`+deliveryColumns+`) VALUES (`+placeholders(9)+`)`,
		d.ID, d.MerchantID, d.SessionID, d.Status, d.Attempts, toTime(d.NextAt), d.LastError, toTime(d.CreatedAt), toTime(d.UpdatedAt))}})
}

// ClaimDeliveries leases up to limit pending deliveries due at now, the
// longest due first, by moving their NextAt to the end of the lease, and
// returns them (oldest first).
//
// It is one statement, which picks the due rows and moves them. On
// PostgreSQL the pick locks the rows it takes and skips those another
// claim holds (FOR UPDATE SKIP LOCKED): of nodes claiming at once, each
// gets other deliveries, and a row another claim moved meanwhile is due
// no more when it is checked again. SQLite runs one write at a time. The
// write is Alone: it commits at once, without holding the rows' locks
// through a batch's other writes.
func (s deliveries) ClaimDeliveries(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]*paygate.Delivery, error) {
	if lease <= 0 {
		return nil, fmt.Errorf("claim deliveries: lease of %v: want a positive duration", lease)
	}
	if limit <= 0 {
		return nil, nil
	}
	var claimed []*paygate.Delivery
	claim := func(tx Tx) error {
		rows, err := tx.Query(s.d.SQL(`WITH due AS MATERIALIZED (
				SELECT id FROM deliveries WHERE status = 'pending' AND next_at <= ?
				ORDER BY next_at, id LIMIT ? `+s.d.SkipLocked+`)
			UPDATE deliveries SET next_at = ? WHERE id IN (SELECT id FROM due) RETURNING `+deliveryColumns),
			now.UnixMicro(), limit, now.Add(lease).UnixMicro())
		claimed, err = collectRows(rows, err, "deliveries", scanDelivery)
		if err != nil {
			claimed = nil
			return fmt.Errorf("claim deliveries: %w", err)
		}
		return nil
	}
	if err := s.db.Write(ctx, &Write{Key: "deliveries/", Then: claim, Alone: true}); err != nil {
		return nil, err
	}
	slices.SortFunc(claimed, func(a, b *paygate.Delivery) int { return cmp.Compare(a.ID, b.ID) })
	return claimed, nil
}

// UpdateDelivery saves d's status, attempts, NextAt, LastError and
// UpdatedAt.
func (s deliveries) UpdateDelivery(ctx context.Context, d *paygate.Delivery, prevNextAt time.Time) error {
	return s.db.Write(ctx, &Write{Key: "deliveries/" + d.ID, Stmts: []Stmt{s.stmt(changed("update delivery", paygate.ErrVersionConflict),
		`UPDATE deliveries SET status = ?, attempts = ?, next_at = ?, last_error = ?, updated_at = ? WHERE id = ? AND next_at = ?`,
		d.Status, d.Attempts, toTime(d.NextAt), d.LastError, toTime(d.UpdatedAt), d.ID, toTime(prevNextAt))}})
}

// SessionDelivery returns the delivery of a session.
func (s deliveries) SessionDelivery(ctx context.Context, sessionID string) (*paygate.Delivery, error) {
	d, err := scanDelivery(s.queryRow(ctx, `SELECT `+deliveryColumns+` FROM deliveries WHERE session_id = ?`, sessionID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, paygate.Errorf(paygate.ENOTFOUND, "No delivery for session %s.", shownID(sessionID))
	}
	if err != nil {
		return nil, fmt.Errorf("select delivery: %w", err)
	}
	return d, nil
}
