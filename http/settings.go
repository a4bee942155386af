package http

import (
	"net/http"
	"time"

	"github.com/paygate/paygate"
)

// settingsJSON is a merchant's settings for the browser models.
type settingsJSON struct {
	Object         string              `json:"object"`
	MerchantID     string              `json:"merchant_id"`
	AllowedOrigins []string            `json:"allowed_origins"`
	SuccessURL     string              `json:"success_url"`
	DeclineURL     string              `json:"decline_url"`
	CancelURL      string              `json:"cancel_url"`
	DefaultModel   string              `json:"default_model"`
	RequireAck     bool                `json:"require_ack"`
	AckWindow      int64               `json:"ack_window"` // seconds, the window in force
	DisplayName    string              `json:"display_name"`
	LogoURL        string              `json:"logo_url"`
	SigningSecrets []signingSecretJSON `json:"signing_secrets"`
}

// signingSecretJSON describes a signing secret without showing it.
type signingSecretJSON struct {
	ID        string     `json:"id"`
	CreatedAt *time.Time `json:"created_at,omitempty"`
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
}

// settingsRequest names the fields a POST /v1/settings may change.
type settingsRequest struct {
	AllowedOrigins *[]string `json:"allowed_origins"`
	SuccessURL     *string   `json:"success_url"`
	DeclineURL     *string   `json:"decline_url"`
	CancelURL      *string   `json:"cancel_url"`
	DefaultModel   *string   `json:"default_model"`
	RequireAck     *bool     `json:"require_ack"`
	AckWindow      *int64    `json:"ack_window"`
	DisplayName    *string   `json:"display_name"`
	LogoURL        *string   `json:"logo_url"`
}

func (s *Server) settingsJSON(r *http.Request, m *paygate.Merchant) (any, error) {
	list, err := s.Gateway.SigningSecretList(r.Context(), m.ID)
	if err != nil {
		return nil, err
	}
	out := settingsJSON{
		Object: "settings", MerchantID: m.ID, AllowedOrigins: m.AllowedOrigins, SuccessURL: m.SuccessURL,
		DeclineURL: m.DeclineURL, CancelURL: m.CancelURL, DefaultModel: m.Model(), RequireAck: m.RequireAck,
		AckWindow: int64(m.EffectiveAckWindow() / time.Second), DisplayName: m.DisplayName, LogoURL: m.LogoURL,
		SigningSecrets: []signingSecretJSON{},
	}
	if out.AllowedOrigins == nil {
		out.AllowedOrigins = []string{}
	}
	for _, sec := range list {
		out.SigningSecrets = append(out.SigningSecrets, signingSecretJSON{ID: sec.ID, CreatedAt: timePtr(sec.CreatedAt),
			ExpiresAt: timePtr(sec.ExpiresAt)})
	}
	return out, nil
}

func (s *Server) getSettings(r *http.Request, m *paygate.Merchant, _ []byte) (any, error) {
	// The merchant as stored, not as the key cache last saw it.
	m, err := s.Merchants.Merchant(r.Context(), m.ID)
	if err != nil {
		return nil, err
	}
	return s.settingsJSON(r, m)
}

func (s *Server) updateSettings(r *http.Request, m *paygate.Merchant, body []byte) (any, error) {
	var req settingsRequest
	if err := decode(body, &req, false); err != nil {
		return nil, err
	}
	m, err := s.Gateway.UpdateSettings(r.Context(), m.ID, paygate.SettingsUpdate{
		AllowedOrigins: req.AllowedOrigins, SuccessURL: req.SuccessURL, DeclineURL: req.DeclineURL,
		CancelURL: req.CancelURL, DefaultModel: req.DefaultModel, RequireAck: req.RequireAck,
		AckWindow: req.AckWindow, DisplayName: req.DisplayName, LogoURL: req.LogoURL,
	})
	if err != nil {
		return nil, err
	}
	return s.settingsJSON(r, m)
}

// signingSecretCreatedJSON shows a new signing secret, the one time it is
// shown.
type signingSecretCreatedJSON struct {
	Object        string     `json:"object"`
	SigningSecret string     `json:"signing_secret"`
	CreatedAt     *time.Time `json:"created_at,omitempty"`
}

func (s *Server) rotateSigningSecret(r *http.Request, m *paygate.Merchant, body []byte) (any, error) {
	var req struct{}
	if err := decode(body, &req, true); err != nil {
		return nil, err
	}
	secret, err := s.Gateway.RotateSigningSecret(r.Context(), m)
	if err != nil {
		return nil, err
	}
	now := time.Now().UTC().Truncate(time.Second)
	return signingSecretCreatedJSON{Object: "signing_secret", SigningSecret: secret, CreatedAt: &now}, nil
}
