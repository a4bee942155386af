package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/paygate/paygate"
)

// webhooks keeps webhook endpoints, the deliveries of events to them and
// the deliveries' attempts.
type webhooks struct{ *store }

var _ paygate.WebhookStore = webhooks{}

const webhookEndpointColumns = `id, merchant_id, url, events, secret_key_id, secret, prev_secret_key_id, prev_secret,
	prev_expires_at, status, failures, last_error, created_at, updated_at`

// encodeTypes stores the types an endpoint takes as a JSON array ("[]"
// for none), which the fan-out of events searches (takes).
func encodeTypes(types []string) (string, error) {
	if len(types) == 0 {
		return "[]", nil
	}
	for _, t := range types {
		if strings.ContainsAny(t, `"\`) { // would be escaped: no search would find it
			return "", fmt.Errorf("encode event types: %q is no event type", t)
		}
	}
	b, err := json.Marshal(types)
	if err != nil {
		return "", fmt.Errorf("encode event types: %w", err)
	}
	return string(b), nil
}

// text is s as both engines store text: valid UTF-8 without NUL bytes
// (PostgreSQL refuses them). What a merchant's server answered may be
// anything.
func text(s string) string {
	return strings.ToValidUTF8(strings.ReplaceAll(s, "\x00", ""), "\uFFFD")
}

// nullString is s, NULL if empty.
func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func scanWebhookEndpoint(row Row) (*paygate.WebhookEndpoint, error) {
	var e paygate.WebhookEndpoint
	var types string
	var prevKeyID sql.NullString
	var prevExpires, created, updated sql.NullInt64
	if err := row.Scan(&e.ID, &e.MerchantID, &e.URL, &types, &e.Secret.KeyID, &e.Secret.Ciphertext, &prevKeyID, &e.PrevSecret.Ciphertext,
		&prevExpires, &e.Status, &e.Failures, &e.LastError, &created, &updated); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(types), &e.Events); err != nil {
		return nil, fmt.Errorf("decode event types of %s: %w", e.ID, err)
	}
	e.PrevSecret.KeyID = prevKeyID.String
	e.PrevExpiresAt, e.CreatedAt, e.UpdatedAt = fromTime(prevExpires), fromTime(created), fromTime(updated)
	return &e, nil
}

// CreateEndpoint stores a new endpoint; a taken id is ErrDuplicate.
func (s webhooks) CreateEndpoint(ctx context.Context, e *paygate.WebhookEndpoint) error {
	types, err := encodeTypes(e.Events)
	if err != nil {
		return err
	}
	return s.db.Write(ctx, &Write{Key: "webhook_endpoints/" + e.ID, Stmts: []Stmt{s.stmt(s.unique("insert webhook endpoint"),
		`INSERT INTO webhook_endpoints (`+webhookEndpointColumns+`) VALUES (`+placeholders(14)+`)`,
		e.ID, e.MerchantID, e.URL, types, e.Secret.KeyID, e.Secret.Ciphertext, nullString(e.PrevSecret.KeyID), e.PrevSecret.Ciphertext,
		toTime(e.PrevExpiresAt), e.Status, e.Failures, text(e.LastError), toTime(e.CreatedAt), toTime(e.UpdatedAt))}})
}

// Endpoint returns one of a merchant's endpoints.
func (s webhooks) Endpoint(ctx context.Context, merchantID, id string) (*paygate.WebhookEndpoint, error) {
	e, err := scanWebhookEndpoint(s.queryRow(ctx, `SELECT `+webhookEndpointColumns+` FROM webhook_endpoints WHERE id = ? AND merchant_id = ?`,
		id, merchantID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("webhook endpoint", id)
	}
	if err != nil {
		return nil, fmt.Errorf("select webhook endpoint: %w", err)
	}
	return e, nil
}

// Endpoints lists a merchant's endpoints, disabled ones included, oldest
// first.
func (s webhooks) Endpoints(ctx context.Context, merchantID string) ([]*paygate.WebhookEndpoint, error) {
	return collect("webhook endpoints", scanWebhookEndpoint)(s.query(ctx,
		`SELECT `+webhookEndpointColumns+` FROM webhook_endpoints WHERE merchant_id = ? ORDER BY id`, merchantID))
}

// UpdateEndpoint saves an endpoint's events, secrets, status, failures,
// last error and UpdatedAt. An endpoint disabled gives up its pending
// deliveries (failed), in the same transaction.
func (s webhooks) UpdateEndpoint(ctx context.Context, e *paygate.WebhookEndpoint) error {
	types, err := encodeTypes(e.Events)
	if err != nil {
		return err
	}
	stmts := []Stmt{s.stmt(changed("update webhook endpoint", notFound("webhook endpoint", e.ID)),
		`UPDATE webhook_endpoints SET events = ?, secret_key_id = ?, secret = ?, prev_secret_key_id = ?, prev_secret = ?,
		prev_expires_at = ?, status = ?, failures = ?, last_error = ?, updated_at = ? WHERE id = ? AND merchant_id = ?`,
		types, e.Secret.KeyID, e.Secret.Ciphertext, nullString(e.PrevSecret.KeyID), e.PrevSecret.Ciphertext,
		toTime(e.PrevExpiresAt), e.Status, e.Failures, text(e.LastError), toTime(e.UpdatedAt), e.ID, e.MerchantID)}
	if e.Status == paygate.EndpointDisabled {
		stmts = append(stmts, s.stmt(failed("fail webhook deliveries"),
			`UPDATE webhook_deliveries SET status = 'failed', updated_at = ? WHERE endpoint_id = ? AND status = 'pending'`,
			toTime(e.UpdatedAt), e.ID))
	}
	return s.db.Write(ctx, &Write{Key: "webhook_endpoints/" + e.ID, Stmts: stmts})
}

// RecordEndpointHealth saves an endpoint's status, failures, last error and
// UpdatedAt while it is not disabled (a no-op once it is); disabling it
// gives up its pending deliveries, in the same transaction.
func (s webhooks) RecordEndpointHealth(ctx context.Context, e *paygate.WebhookEndpoint) error {
	stmts := []Stmt{s.stmt(failed("record webhook endpoint health"),
		`UPDATE webhook_endpoints SET status = ?, failures = ?, last_error = ?, updated_at = ?
		WHERE id = ? AND merchant_id = ? AND status <> 'disabled'`,
		e.Status, e.Failures, text(e.LastError), toTime(e.UpdatedAt), e.ID, e.MerchantID)}
	if e.Status == paygate.EndpointDisabled {
		stmts = append(stmts, s.stmt(failed("fail webhook deliveries"),
			`UPDATE webhook_deliveries SET status = 'failed', updated_at = ? WHERE endpoint_id = ? AND status = 'pending'`,
			toTime(e.UpdatedAt), e.ID))
	}
	return s.db.Write(ctx, &Write{Key: "webhook_endpoints/" + e.ID, Stmts: stmts})
}

const webhookDeliveryColumns = `id, event_id, endpoint_id, merchant_id, status, attempts, next_at, created_at, updated_at`

func scanWebhookDelivery(row Row) (*paygate.WebhookDelivery, error) {
	var d paygate.WebhookDelivery
	var next, created, updated sql.NullInt64
	if err := row.Scan(&d.ID, &d.EventID, &d.EndpointID, &d.MerchantID, &d.Status, &d.Attempts, &next, &created, &updated); err != nil {
		return nil, err
	}
	d.NextAt, d.CreatedAt, d.UpdatedAt = fromTime(next), fromTime(created), fromTime(updated)
	return &d, nil
}

const webhookAttemptColumns = `delivery_id, event_id, endpoint_id, at, status, millis, error, response`

func scanWebhookAttempt(row Row) (*paygate.WebhookAttempt, error) {
	var a paygate.WebhookAttempt
	var at sql.NullInt64
	if err := row.Scan(&a.DeliveryID, &a.EventID, &a.EndpointID, &at, &a.Status, &a.Millis, &a.Error, &a.Response); err != nil {
		return nil, err
	}
	a.At = fromTime(at)
	return &a, nil
}

// ClaimWebhookDeliveries leases up to limit pending deliveries due at now,
// of endpoints not disabled, the longest due first, by moving their NextAt
// to the end of the lease, and returns them (by id).
//
// It is one statement, as ClaimDeliveries is: on PostgreSQL the pick locks
// the deliveries it takes (not their endpoints) and skips those another
// claim holds; SQLite runs one write at a time.
func (s webhooks) ClaimWebhookDeliveries(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]*paygate.WebhookDelivery, error) {
	if lease <= 0 {
		return nil, fmt.Errorf("claim webhook deliveries: lease of %v: want a positive duration", lease)
	}
	if limit <= 0 {
		return nil, nil
	}
	var claimed []*paygate.WebhookDelivery
	claim := func(tx Tx) error {
		rows, err := tx.Query(s.d.SQL(`WITH due AS MATERIALIZED (
				SELECT id FROM webhook_deliveries d WHERE status = 'pending' AND next_at <= ?
				AND EXISTS (SELECT 1 FROM webhook_endpoints w WHERE w.id = d.endpoint_id AND w.status <> 'disabled')
				ORDER BY next_at, id LIMIT ? `+s.d.SkipLocked+`)
			UPDATE webhook_deliveries SET next_at = ? WHERE id IN (SELECT id FROM due) RETURNING `+webhookDeliveryColumns),
			now.UnixMicro(), limit, now.Add(lease).UnixMicro())
		claimed, err = collectRows(rows, err, "webhook deliveries", scanWebhookDelivery)
		if err != nil {
			claimed = nil
			return fmt.Errorf("claim webhook deliveries: %w", err)
		}
		return nil
	}
	if err := s.db.Write(ctx, &Write{Key: "webhook_deliveries/", Then: claim, Alone: true}); err != nil {
		return nil, err
	}
	slices.SortFunc(claimed, func(a, b *paygate.WebhookDelivery) int { return cmp.Compare(a.ID, b.ID) })
	return claimed, nil
}

// RecordWebhookAttempt saves d's status, attempts, NextAt and UpdatedAt
// and adds a to its attempts, in one transaction, if d's NextAt is still
// prevNextAt; else ErrVersionConflict and nothing is saved.
func (s webhooks) RecordWebhookAttempt(ctx context.Context, d *paygate.WebhookDelivery, prevNextAt time.Time, a *paygate.WebhookAttempt) error {
	return s.db.Write(ctx, &Write{Key: "webhook_deliveries/" + d.ID, Stmts: []Stmt{
		s.stmt(changed("update webhook delivery", paygate.ErrVersionConflict),
			`UPDATE webhook_deliveries SET status = ?, attempts = ?, next_at = ?, updated_at = ? WHERE id = ? AND next_at = ?`,
			d.Status, d.Attempts, toTime(d.NextAt), toTime(d.UpdatedAt), d.ID, toTime(prevNextAt)),
		s.stmt(failed("insert webhook attempt"), `INSERT INTO webhook_attempts (`+webhookAttemptColumns+`) VALUES (`+placeholders(8)+`)`,
			d.ID, a.EventID, a.EndpointID, toTime(a.At), a.Status, a.Millis, text(a.Error), text(a.Response)),
	}})
}

// WebhookDeliveries returns an event's deliveries and all their attempts,
// oldest first; none if the merchant has no such event.
func (s webhooks) WebhookDeliveries(ctx context.Context, merchantID, eventID string) ([]*paygate.WebhookDelivery, []*paygate.WebhookAttempt, error) {
	list, err := collect("webhook deliveries", scanWebhookDelivery)(s.query(ctx, `SELECT `+webhookDeliveryColumns+`
		FROM webhook_deliveries WHERE event_id = ? AND merchant_id = ? ORDER BY created_at, id`, eventID, merchantID))
	if err != nil || len(list) == 0 {
		return nil, nil, err
	}
	attempts, err := collect("webhook attempts", scanWebhookAttempt)(s.query(ctx, `SELECT `+webhookAttemptColumns+`
		FROM webhook_attempts WHERE event_id = ? AND delivery_id IN (SELECT id FROM webhook_deliveries WHERE event_id = ? AND merchant_id = ?)
		ORDER BY at, delivery_id`, eventID, eventID, merchantID))
	if err != nil {
		return nil, nil, err
	}
	return list, attempts, nil
}

// EndpointDeliveries returns an endpoint's latest deliveries, newest
// first, at most limit, and all their attempts, oldest first; none if the
// merchant has no such endpoint. The attempts are looked up by event (an
// index) and endpoint.
func (s webhooks) EndpointDeliveries(ctx context.Context, merchantID, endpointID string, limit int) ([]*paygate.WebhookDelivery, []*paygate.WebhookAttempt, error) {
	if limit <= 0 {
		return nil, nil, nil
	}
	list, err := collect("webhook deliveries", scanWebhookDelivery)(s.query(ctx, `SELECT `+webhookDeliveryColumns+`
		FROM webhook_deliveries WHERE endpoint_id = ? AND merchant_id = ? ORDER BY created_at DESC, id DESC LIMIT ?`,
		endpointID, merchantID, limit))
	if err != nil || len(list) == 0 {
		return nil, nil, err
	}
	var attempts []*paygate.WebhookAttempt
	for chunk := range slices.Chunk(list, 100) {
		args := make([]any, 0, len(chunk)+1)
		for _, d := range chunk {
			args = append(args, d.EventID)
		}
		args = append(args, endpointID)
		got, err := collect("webhook attempts", scanWebhookAttempt)(s.query(ctx, `SELECT `+webhookAttemptColumns+`
			FROM webhook_attempts WHERE event_id IN (`+placeholders(len(chunk))+`) AND endpoint_id = ?`, args...))
		if err != nil {
			return nil, nil, err
		}
		attempts = append(attempts, got...)
	}
	slices.SortFunc(attempts, func(a, b *paygate.WebhookAttempt) int {
		return cmp.Or(a.At.Compare(b.At), cmp.Compare(a.DeliveryID, b.DeliveryID))
	})
	return list, attempts, nil
}

// Redeliver makes the event due again at now for each of the merchant's
// endpoints that takes it and is not disabled: a delivery it had is
// pending again (its attempts kept), one it had not is new. It returns
// those deliveries, by id.
func (s webhooks) Redeliver(ctx context.Context, merchantID, eventID string, now time.Time) ([]*paygate.WebhookDelivery, error) {
	e, err := events{s.store}.Event(ctx, merchantID, eventID)
	if err != nil {
		return nil, err
	}
	var list []*paygate.WebhookDelivery
	redeliver := func(tx Tx) error {
		at := now.UnixMicro()
		rows, err := tx.Query(s.d.SQL(`INSERT INTO webhook_deliveries (`+webhookDeliveryColumns+`)
			SELECT e.id || '.' || w.id, e.id, w.id, e.merchant_id, 'pending', 0, CAST(? AS BIGINT), CAST(? AS BIGINT), CAST(? AS BIGINT)
			FROM events e JOIN webhook_endpoints w ON w.merchant_id = e.merchant_id
			WHERE e.id = ? AND e.merchant_id = ? AND w.status <> 'disabled' AND `+takes("w", "e.type")+`
			ON CONFLICT (id) DO UPDATE SET status = 'pending', attempts = 0, next_at = excluded.next_at, updated_at = excluded.updated_at
			RETURNING `+webhookDeliveryColumns), at, at, at, e.ID, merchantID)
		list, err = collectRows(rows, err, "webhook deliveries", scanWebhookDelivery)
		if err != nil {
			list = nil
			return fmt.Errorf("redeliver event: %w", err)
		}
		return nil
	}
	if err := s.db.Write(ctx, &Write{Key: "webhook_deliveries/" + eventID, Then: redeliver}); err != nil {
		return nil, err
	}
	slices.SortFunc(list, func(a, b *paygate.WebhookDelivery) int { return cmp.Compare(a.ID, b.ID) })
	return list, nil
}
