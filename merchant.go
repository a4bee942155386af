package paygate

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"time"
)

// DefaultAckWindow is how long a merchant that requires receipt
// acknowledgment has to acknowledge an approval before it is voided.
const DefaultAckWindow = 10 * time.Minute

// Merchant is an account that takes payments.
type Merchant struct {
	ID         string
	Name       string
	Email      string
	RequireAck bool          // approvals must be acknowledged (Ack) or they are voided
	AckWindow  time.Duration // 0 means DefaultAckWindow
	MCC        string        // merchant category code, DE18
	AcquirerID string        // the merchant id at the acquirer, DE42 (15 characters)
	TerminalID string        // DE41 (8 characters)
	// RateLimit is how many requests per second each of the merchant's
	// API keys may send (in bursts of up to twice it); 0: the server's
	// default.
	RateLimit int

	// Settings for the browser models (settings.go): the origins the
	// merchant's pages live on (every URL below must be on one of them),
	// the global result URLs, the model a session uses when it names
	// none, and what the payment page shows.
	AllowedOrigins []string
	SuccessURL     string
	DeclineURL     string
	CancelURL      string
	DefaultModel   string // ModelRedirect or ModelProxy; "" means ModelRedirect
	DisplayName    string
	LogoURL        string

	// Settlement (batch.go, pricing.go): the daily cut-off ("15:04", in
	// TimeZone, an IANA name; defaults DefaultCutoff and UTC) and what
	// the merchant pays per transaction ("" : DefaultPricing).
	TimeZone string
	Cutoff   string
	Pricing  *Pricing

	// NotifyEmail is where the merchant's copies of receipts and its
	// notices of voids and refunds go ("": none).
	NotifyEmail string

	CreatedAt time.Time
}

// EffectiveAckWindow returns the acknowledgment window in force.
func (m *Merchant) EffectiveAckWindow() time.Duration {
	if m.AckWindow > 0 {
		return m.AckWindow
	}
	return DefaultAckWindow
}

// NewMerchant fills in a merchant's ids and network identity.
func NewMerchant(name, email string, now time.Time) (*Merchant, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		return nil, ParamErrorf(EMISSING, "name", "Merchant name is required.")
	}
	if len(name) > 100 {
		return nil, ParamErrorf(EINVALID, "name", "Merchant name must be at most 100 characters.")
	}
	now = now.Truncate(TimePrecision)
	return &Merchant{
		ID:         NewID("acct", now),
		Name:       name,
		Email:      strings.TrimSpace(email),
		MCC:        "5999",
		AcquirerID: RandomDigits(15),
		TerminalID: "PG" + RandomDigits(6),
		CreatedAt:  now,
	}, nil
}

// Key kinds. Wire names.
const (
	KeySecret      = "secret"      // sk_..., for merchant servers
	KeyPublishable = "publishable" // pk_..., for browsers
)

// APIKey is a merchant's key as stored: only its hash, never the key itself.
type APIKey struct {
	ID         string
	MerchantID string
	Kind       string
	Prefix     string // the first characters, to tell keys apart in listings
	Hash       string // hex SHA-256 of the whole key
	Name       string // what the merchant calls it ("": none given)
	CreatedAt  time.Time
	RevokedAt  time.Time // zero while active
}

// Revoked reports whether the key has been revoked.
func (k *APIKey) Revoked() bool { return !k.RevokedAt.IsZero() }

// NewAPIKey makes a new key of the given kind. The plaintext is returned once
// and never stored.
func NewAPIKey(merchantID, kind string, now time.Time) (plaintext string, key *APIKey) {
	prefix := "sk_"
	if kind == KeyPublishable {
		prefix = "pk_"
	}
	plaintext = prefix + RandomToken(32)
	now = now.Truncate(TimePrecision)
	return plaintext, &APIKey{
		ID:         NewID("key", now),
		MerchantID: merchantID,
		Kind:       kind,
		Prefix:     plaintext[:7],
		Hash:       HashAPIKey(plaintext),
		CreatedAt:  now,
	}
}

// HashAPIKey returns the stored form of a key. Keys carry 160 random bits,
// so a plain SHA-256 is enough (no password stretching needed).
func HashAPIKey(plaintext string) string {
	sum := sha256.Sum256([]byte(plaintext))
	return hex.EncodeToString(sum[:])
}

// MerchantStore keeps merchants and their keys.
type MerchantStore interface {
	CreateMerchant(ctx context.Context, m *Merchant) error
	Merchant(ctx context.Context, id string) (*Merchant, error)
	Merchants(ctx context.Context) ([]*Merchant, error)
	// UpdateMerchant saves every column of a merchant, from m.
	UpdateMerchant(ctx context.Context, m *Merchant) error
	// UpdateSettings saves only a merchant's settings (settings.go): its
	// allowed origins, result URLs, default model, display name, logo,
	// RequireAck, AckWindow, time zone, cut-off, pricing and NotifyEmail. Its other columns (RateLimit, Name, ...)
	// stay as stored, so a copy read before another write changed them
	// does not undo that write. In the same transaction it records a
	// URLChange for each global result URL (SuccessURL, DeclineURL) whose
	// stored value it changes, made by by at at.
	UpdateSettings(ctx context.Context, m *Merchant, by string, at time.Time) error
	// URLChanges returns the merchant's recorded URL changes, newest
	// first, at most limit.
	URLChanges(ctx context.Context, merchantID string, limit int) ([]*URLChange, error)
	// UpdateRateLimit saves only a merchant's RateLimit.
	UpdateRateLimit(ctx context.Context, m *Merchant) error

	CreateAPIKey(ctx context.Context, k *APIKey) error
	APIKeyByHash(ctx context.Context, hash string) (*APIKey, error)
	APIKeys(ctx context.Context, merchantID string) ([]*APIKey, error)
	RevokeAPIKey(ctx context.Context, id string, at time.Time) error
}
