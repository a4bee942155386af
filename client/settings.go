package client

import (
	"context"
	"net/url"
	"strconv"
	"time"
)

// Settings are a merchant's settings for payments made on the gateway's
// pages.
type Settings struct {
	Object     string `json:"object"` // "settings"
	MerchantID string `json:"merchant_id"`
	// AllowedOrigins are the origins (such as "https://shop.example.com")
	// your URLs must be on: the gateway sends browsers nowhere else.
	AllowedOrigins []string `json:"allowed_origins"`
	SuccessURL     string   `json:"success_url"` // the return URL of sessions that name none
	DeclineURL     string   `json:"decline_url"` // where a session's last decline goes ("": the return URL)
	CancelURL      string   `json:"cancel_url"`  // where a cancel goes ("": the return URL)
	DefaultModel   string   `json:"default_model"`
	RequireAck     bool     `json:"require_ack"`
	AckWindow      int64    `json:"ack_window"` // seconds an approval waits for an Ack (the one in force)
	DisplayName    string   `json:"display_name"`
	LogoURL        string   `json:"logo_url"`
	// TimeZone (an IANA name such as "America/New_York") is the zone of
	// Cutoff, the daily time ("HH:MM", 24-hour) your open batches close
	// and settle; Pricing is what you pay per transaction, deducted from
	// your deposits.
	TimeZone string  `json:"time_zone"`
	Cutoff   string  `json:"cutoff"`
	Pricing  Pricing `json:"pricing"`
	// NotifyEmail is where your copies of e-mail receipts and the
	// notices of voids and refunds go ("": none).
	NotifyEmail string `json:"notify_email"`
	// SigningSecrets lists the secrets in force, newest first; their
	// values are shown once, by RotateSigningSecret.
	SigningSecrets []SigningSecret `json:"signing_secrets"`
	// AccessKeys lists the transparent redirect's access keys in force,
	// newest first; their values are shown once, by RotateAccessKey.
	AccessKeys []SigningSecret `json:"api_accesskeys"`
}

// SigningSecret describes one of a merchant's signing secrets (or access
// keys).
type SigningSecret struct {
	ID        string     `json:"id"`
	CreatedAt time.Time  `json:"created_at"`
	ExpiresAt *time.Time `json:"expires_at,omitempty"` // nil for the current one; a replaced one works until then
}

// SettingsUpdate changes the settings it names: nil fields are not sent,
// and stay as they are. A pointer to "" clears a URL; a pointer to an
// empty slice clears AllowedOrigins.
type SettingsUpdate struct {
	AllowedOrigins *[]string `json:"allowed_origins,omitempty"`
	SuccessURL     *string   `json:"success_url,omitempty"`
	DeclineURL     *string   `json:"decline_url,omitempty"`
	CancelURL      *string   `json:"cancel_url,omitempty"`
	DefaultModel   *string   `json:"default_model,omitempty"`
	RequireAck     *bool     `json:"require_ack,omitempty"`
	AckWindow      *int64    `json:"ack_window,omitempty"` // seconds; 0 is the gateway's default
	DisplayName    *string   `json:"display_name,omitempty"`
	LogoURL        *string   `json:"logo_url,omitempty"`
	TimeZone       *string   `json:"time_zone,omitempty"` // "" : UTC
	Cutoff         *string   `json:"cutoff,omitempty"`    // "HH:MM"; "" : 23:59
	Pricing        *Pricing  `json:"pricing,omitempty"`
	NotifyEmail    *string   `json:"notify_email,omitempty"` // "" : no copies
}

// Pricing is a fee schedule: Kind "blended" (Percent of each sale plus
// Fixed) or "interchange_plus" (the card networks' interchange and scheme
// fees plus Percent and Fixed). Percent is in basis points (290 = 2.90 %),
// Fixed in minor units per sale; refunds are not charged.
type Pricing struct {
	Kind    string `json:"kind"`
	Percent int64  `json:"percent"`
	Fixed   int64  `json:"fixed"`
}

// Settings returns the merchant's settings.
func (c *Client) Settings(ctx context.Context) (*Settings, error) {
	s := new(Settings)
	if err := c.get(ctx, "/v1/settings", nil, s); err != nil {
		return nil, err
	}
	return s, nil
}

// UpdateSettings changes the settings u names and returns them all. The
// gateway applies all of u or, if any of it is invalid, none.
func (c *Client) UpdateSettings(ctx context.Context, u SettingsUpdate) (*Settings, error) {
	s := new(Settings)
	if err := c.post(ctx, "/v1/settings", u, "", s); err != nil {
		return nil, err
	}
	return s, nil
}

// RotateSigningSecret makes a new signing secret and returns it: this is
// the one time it is shown, so store it (as you store your API key). The
// secrets it replaces keep working for 24 hours, time to deploy the new
// one; until then verify with both (VerifyQuery takes several).
func (c *Client) RotateSigningSecret(ctx context.Context) (string, error) {
	var out struct {
		Secret string `json:"signing_secret"`
	}
	if err := c.post(ctx, "/v1/settings/signing_secret", nil, "", &out); err != nil {
		return "", err
	}
	return out.Secret, nil
}

// RotateAccessKey makes a new access key for the transparent redirect's
// hash (TransparentRedirectFields) and returns it: this is the one time it
// is shown, so store it on your server (as you store your API key) and
// never put it in a page. The keys it replaces keep verifying for 24
// hours, time to deploy the new one.
func (c *Client) RotateAccessKey(ctx context.Context) (string, error) {
	var out struct {
		Key string `json:"api_accesskey"`
	}
	if err := c.post(ctx, "/v1/settings/api_accesskey", nil, "", &out); err != nil {
		return "", err
	}
	return out.Key, nil
}

// URLChange is a recorded change of your global success or decline URL.
type URLChange struct {
	ID        string    `json:"id"`
	Field     string    `json:"field"` // "success_url" or "decline_url"
	Old       string    `json:"old"`   // "": none was set
	New       string    `json:"new"`   // "": cleared
	ChangedBy string    `json:"changed_by"`
	ChangedAt time.Time `json:"changed_at"`
}

// SettingsHistory returns the latest changes of your global success and
// decline URLs, newest first, at most limit (1 to 100; 0 means 20), each
// with who made it: the id of the API key that made it, or "cli" for the
// gateway's operator. A change you did not make loses results: look here.
func (c *Client) SettingsHistory(ctx context.Context, limit int) ([]URLChange, error) {
	q := url.Values{}
	if limit != 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	var out struct {
		Data []URLChange `json:"data"`
	}
	if err := c.get(ctx, "/v1/settings/history", q, &out); err != nil {
		return nil, err
	}
	return out.Data, nil
}
