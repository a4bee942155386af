package client

import (
	"context"
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
	// SigningSecrets lists the secrets in force, newest first; their
	// values are shown once, by RotateSigningSecret.
	SigningSecrets []SigningSecret `json:"signing_secrets"`
}

// SigningSecret describes one of a merchant's signing secrets.
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
