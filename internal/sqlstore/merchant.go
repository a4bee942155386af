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

// merchants keeps merchants and API keys.
type merchants struct{ *store }

var _ paygate.MerchantStore = merchants{}

const merchantColumns = `id, name, email, require_ack, ack_window_ms, mcc, acquirer_id, terminal_id, created_at, rate_limit,
	allowed_origins, success_url, decline_url, cancel_url, default_model, display_name, logo_url,
	time_zone, cutoff, pricing, notify_email`

func scanMerchant(row Row) (*paygate.Merchant, error) {
	var m paygate.Merchant
	var ackMS int64
	var created sql.NullInt64
	var origins, pricing string
	if err := row.Scan(&m.ID, &m.Name, &m.Email, &m.RequireAck, &ackMS, &m.MCC, &m.AcquirerID, &m.TerminalID, &created, &m.RateLimit,
		&origins, &m.SuccessURL, &m.DeclineURL, &m.CancelURL, &m.DefaultModel, &m.DisplayName, &m.LogoURL,
		&m.TimeZone, &m.Cutoff, &pricing, &m.NotifyEmail); err != nil {
		return nil, err
	}
	if pricing != "" {
		p, err := paygate.ParsePricing(pricing)
		if err != nil {
			return nil, fmt.Errorf("decode pricing of %s: %w", m.ID, err)
		}
		m.Pricing = &p
	}
	m.AckWindow = time.Duration(ackMS) * time.Millisecond
	m.CreatedAt = fromTime(created)
	if err := json.Unmarshal([]byte(origins), &m.AllowedOrigins); err != nil {
		return nil, fmt.Errorf("decode allowed origins of %s: %w", m.ID, err)
	}
	if len(m.AllowedOrigins) == 0 {
		m.AllowedOrigins = nil
	}
	return &m, nil
}

// encodeOrigins stores a merchant's allowed origins as a JSON array ("[]"
// when none).
func encodeOrigins(origins []string) (string, error) {
	if len(origins) == 0 {
		return "[]", nil
	}
	b, err := json.Marshal(origins)
	if err != nil {
		return "", fmt.Errorf("encode allowed origins: %w", err)
	}
	return string(b), nil
}

// CreateMerchant inserts a merchant.
func (s merchants) CreateMerchant(ctx context.Context, m *paygate.Merchant) error {
	origins, err := encodeOrigins(m.AllowedOrigins)
	if err != nil {
		return err
	}
	return s.db.Write(ctx, &Write{Key: "merchants/" + m.ID, Stmts: []Stmt{s.stmt(failed("insert merchant"),
		`INSERT INTO merchants (`+merchantColumns+`) VALUES (`+placeholders(21)+`)`,
		m.ID, m.Name, m.Email, m.RequireAck, m.AckWindow.Milliseconds(), m.MCC, m.AcquirerID, m.TerminalID, toTime(m.CreatedAt), m.RateLimit,
		origins, m.SuccessURL, m.DeclineURL, m.CancelURL, m.DefaultModel, m.DisplayName, m.LogoURL,
		m.TimeZone, m.Cutoff, pricingCode(m.Pricing), m.NotifyEmail)}})
}

// UpdateMerchant saves every column of a merchant but its id and creation
// time (and its network identity: acquirer and terminal id).
func (s merchants) UpdateMerchant(ctx context.Context, m *paygate.Merchant) error {
	origins, err := encodeOrigins(m.AllowedOrigins)
	if err != nil {
		return err
	}
	return s.db.Write(ctx, &Write{Key: "merchants/" + m.ID, Stmts: []Stmt{s.stmt(changed("update merchant", notFound("merchant", m.ID)),
		`UPDATE merchants SET name = ?, email = ?, require_ack = ?, ack_window_ms = ?, mcc = ?, rate_limit = ?,
		allowed_origins = ?, success_url = ?, decline_url = ?, cancel_url = ?, default_model = ?, display_name = ?, logo_url = ?,
		time_zone = ?, cutoff = ?, pricing = ?, notify_email = ?
		WHERE id = ?`,
		m.Name, m.Email, m.RequireAck, m.AckWindow.Milliseconds(), m.MCC, m.RateLimit,
		origins, m.SuccessURL, m.DeclineURL, m.CancelURL, m.DefaultModel, m.DisplayName, m.LogoURL,
		m.TimeZone, m.Cutoff, pricingCode(m.Pricing), m.NotifyEmail, m.ID)}})
}

// UpdateSettings saves only a merchant's settings and, in the same
// transaction, records the changes of its global result URLs. It locks the
// merchant's row first, so that each change records the value the one
// before it stored as its old value.
func (s merchants) UpdateSettings(ctx context.Context, m *paygate.Merchant, by string, at time.Time) error {
	origins, err := encodeOrigins(m.AllowedOrigins)
	if err != nil {
		return err
	}
	stmts := []Stmt{s.stmt(changed("lock merchant", notFound("merchant", m.ID)),
		`UPDATE merchants SET id = id WHERE id = ?`, m.ID)}
	for _, c := range []struct{ field, value string }{{"success_url", m.SuccessURL}, {"decline_url", m.DeclineURL}} {
		// The column is named by the loop, never by input.
		stmts = append(stmts, s.stmt(failed("record "+c.field+" change"),
			`INSERT INTO url_changes (`+urlChangeColumns+`)
			SELECT CAST(? AS TEXT), id, '`+c.field+`', `+c.field+`, CAST(? AS TEXT), CAST(? AS TEXT), CAST(? AS BIGINT)
			FROM merchants WHERE id = ? AND `+c.field+` <> ?`,
			paygate.NewID("urlchg", at), c.value, by, toTime(at), m.ID, c.value))
	}
	stmts = append(stmts, s.stmt(changed("update merchant settings", notFound("merchant", m.ID)),
		`UPDATE merchants SET allowed_origins = ?, success_url = ?, decline_url = ?, cancel_url = ?, default_model = ?,
		display_name = ?, logo_url = ?, require_ack = ?, ack_window_ms = ?, time_zone = ?, cutoff = ?, pricing = ?,
		notify_email = ?
		WHERE id = ?`,
		origins, m.SuccessURL, m.DeclineURL, m.CancelURL, m.DefaultModel,
		m.DisplayName, m.LogoURL, m.RequireAck, m.AckWindow.Milliseconds(), m.TimeZone, m.Cutoff, pricingCode(m.Pricing),
		m.NotifyEmail, m.ID))
	return s.db.Write(ctx, &Write{Key: "merchants/" + m.ID, Stmts: stmts})
}

const urlChangeColumns = `id, merchant_id, field, old_url, new_url, changed_by, changed_at`

func scanURLChange(row Row) (*paygate.URLChange, error) {
	var c paygate.URLChange
	var at sql.NullInt64
	if err := row.Scan(&c.ID, &c.MerchantID, &c.Field, &c.Old, &c.New, &c.By, &at); err != nil {
		return nil, err
	}
	c.At = fromTime(at)
	return &c, nil
}

// URLChanges returns the merchant's URL changes, newest first (of one
// update, the success URL's first).
func (s merchants) URLChanges(ctx context.Context, merchantID string, limit int) ([]*paygate.URLChange, error) {
	return collect("url changes", scanURLChange)(s.query(ctx, `SELECT `+urlChangeColumns+` FROM url_changes
		WHERE merchant_id = ? ORDER BY changed_at DESC, field DESC, id DESC LIMIT ?`, merchantID, limit))
}

// UpdateRateLimit saves only a merchant's rate limit.
func (s merchants) UpdateRateLimit(ctx context.Context, m *paygate.Merchant) error {
	return s.db.Write(ctx, &Write{Key: "merchants/" + m.ID, Stmts: []Stmt{s.stmt(changed("update merchant rate limit", notFound("merchant", m.ID)),
		`UPDATE merchants SET rate_limit = ? WHERE id = ?`, m.RateLimit, m.ID)}})
}

// Merchant returns a merchant by id.
func (s merchants) Merchant(ctx context.Context, id string) (*paygate.Merchant, error) {
	m, err := scanMerchant(s.queryRow(ctx, `SELECT `+merchantColumns+` FROM merchants WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("merchant", id)
	}
	if err != nil {
		return nil, fmt.Errorf("select merchant: %w", err)
	}
	return m, nil
}

// Merchants lists all merchants, oldest first.
func (s merchants) Merchants(ctx context.Context) ([]*paygate.Merchant, error) {
	return collect("merchants", scanMerchant)(s.query(ctx, `SELECT `+merchantColumns+` FROM merchants ORDER BY id`))
}

const keyColumns = `id, merchant_id, kind, prefix, hash, created_at, revoked_at, name`

func scanKey(row Row) (*paygate.APIKey, error) {
	var k paygate.APIKey
	var created, revoked sql.NullInt64
	if err := row.Scan(&k.ID, &k.MerchantID, &k.Kind, &k.Prefix, &k.Hash, &created, &revoked, &k.Name); err != nil {
		return nil, err
	}
	k.CreatedAt, k.RevokedAt = fromTime(created), fromTime(revoked)
	return &k, nil
}

// CreateAPIKey inserts a key (its hash).
func (s merchants) CreateAPIKey(ctx context.Context, k *paygate.APIKey) error {
	return s.db.Write(ctx, &Write{Key: "api_keys/" + k.ID, Stmts: []Stmt{s.stmt(failed("insert api key"),
		`INSERT INTO api_keys (`+keyColumns+`) VALUES (`+placeholders(8)+`)`,
		k.ID, k.MerchantID, k.Kind, k.Prefix, k.Hash, toTime(k.CreatedAt), toTime(k.RevokedAt), text(k.Name))}})
}

// APIKeyByHash finds a key by the hash of its plaintext.
func (s merchants) APIKeyByHash(ctx context.Context, hash string) (*paygate.APIKey, error) {
	k, err := scanKey(s.queryRow(ctx, `SELECT `+keyColumns+` FROM api_keys WHERE hash = ?`, hash))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, paygate.Errorf(paygate.ENOTFOUND, "No such API key.")
	}
	if err != nil {
		return nil, fmt.Errorf("select api key: %w", err)
	}
	return k, nil
}

// APIKeys lists a merchant's keys.
func (s merchants) APIKeys(ctx context.Context, merchantID string) ([]*paygate.APIKey, error) {
	return collect("api keys", scanKey)(s.query(ctx, `SELECT `+keyColumns+` FROM api_keys WHERE merchant_id = ? ORDER BY id`, merchantID))
}

// RevokeAPIKey revokes a key; revoking twice keeps the first time.
func (s merchants) RevokeAPIKey(ctx context.Context, id string, at time.Time) error {
	return s.db.Write(ctx, &Write{Key: "api_keys/" + id, Stmts: []Stmt{s.stmt(changed("revoke api key", notFound("API key", id)),
		`UPDATE api_keys SET revoked_at = coalesce(revoked_at, ?) WHERE id = ?`, toTime(at), id)}})
}

// pricingCode is a merchant's pricing as stored: its Code, "" for the
// default.
func pricingCode(p *paygate.Pricing) string {
	if p == nil {
		return ""
	}
	return p.Code()
}
