package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/paygate/paygate"
)

// events keeps events: those no change carries (CreateEvent), and the
// listing of all of them. The payment and session stores write the events
// of their changes in the same transaction as the changes (eventStmts).
type events struct{ *store }

var _ paygate.EventStore = events{}

const eventColumns = `id, merchant_id, type, payment_id, session_id, sequence, data, created_at`

// takes is the condition that endpoint w takes events of type typ: its
// JSON array of types holds typ, quoted, or "*". Types hold no quote.
func takes(w, typ string) string {
	return `(INSTR(` + w + `.events, '"*"') > 0 OR INSTR(` + w + `.events, '"' || ` + typ + ` || '"') > 0)`
}

var (
	eventInsert = `INSERT INTO events (` + eventColumns + `) VALUES (` + placeholders(8) + `)`
	// eventFanOut writes an event's deliveries, due at once: one to each
	// endpoint of its merchant that takes its type and is not disabled.
	eventFanOut = `INSERT INTO webhook_deliveries (` + webhookDeliveryColumns + `)
	SELECT e.id || '.' || w.id, e.id, w.id, e.merchant_id, 'pending', 0, e.created_at, e.created_at, e.created_at
	FROM events e JOIN webhook_endpoints w ON w.merchant_id = e.merchant_id
	WHERE e.id = ? AND w.status <> 'disabled' AND ` + takes("w", "e.type")
)

func eventArgs(e *paygate.Event) []any {
	return []any{e.ID, e.MerchantID, e.Type, e.PaymentID, e.SessionID, e.Sequence, e.Data, toTime(e.CreatedAt)}
}

func scanEvent(row Row) (*paygate.Event, error) {
	var e paygate.Event
	var created sql.NullInt64
	if err := row.Scan(&e.ID, &e.MerchantID, &e.Type, &e.PaymentID, &e.SessionID, &e.Sequence, &e.Data, &created); err != nil {
		return nil, err
	}
	e.CreatedAt = fromTime(created)
	return &e, nil
}

// eventStmts are the statements that write events and their deliveries,
// to run in the transaction of the change they report.
func (s *store) eventStmts(list []*paygate.Event) []Stmt {
	var out []Stmt
	for _, e := range list {
		out = append(out, s.stmt(s.unique("insert event"), eventInsert, eventArgs(e)...),
			s.stmt(failed("insert event's deliveries"), eventFanOut, e.ID))
	}
	return out
}

// CreateEvent writes an event that no change carries, and its deliveries.
func (s events) CreateEvent(ctx context.Context, e *paygate.Event) error {
	return s.db.Write(ctx, &Write{Key: "events/" + e.ID, Stmts: s.eventStmts([]*paygate.Event{e})})
}

// Event returns one of a merchant's events.
func (s events) Event(ctx context.Context, merchantID, id string) (*paygate.Event, error) {
	e, err := scanEvent(s.queryRow(ctx, `SELECT `+eventColumns+` FROM events WHERE id = ? AND merchant_id = ?`, id, merchantID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("event", id)
	}
	if err != nil {
		return nil, fmt.Errorf("select event: %w", err)
	}
	return e, nil
}

// Events lists a merchant's events, newest first, one page at a time.
func (s events) Events(ctx context.Context, f paygate.EventFilter) ([]*paygate.Event, bool, error) {
	return listPage(s.store, ctx, listing{what: "events", table: "events", columns: eventColumns, merchantID: f.MerchantID,
		startingAfter: f.StartingAfter, limit: f.Limit, filters: []filter{{"type = ?", f.Type}, {"payment_id = ?", f.PaymentID}}}, scanEvent)
}
