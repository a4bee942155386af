package http

import (
	"net/http"
	"strconv"
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
	TimeZone       string              `json:"time_zone"` // IANA name; "UTC" unless set
	Cutoff         string              `json:"cutoff"`    // "HH:MM" in TimeZone
	Pricing        pricingJSON         `json:"pricing"`
	NotifyEmail    string              `json:"notify_email"` // where the merchant's copies of receipts go ("": none)
	SigningSecrets []signingSecretJSON `json:"signing_secrets"`
	// AccessKeys are the transparent redirect's access keys in force
	// (never their values).
	AccessKeys []signingSecretJSON `json:"api_accesskeys"`
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
	TimeZone       *string   `json:"time_zone"`
	Cutoff         *string   `json:"cutoff"`
	NotifyEmail    *string   `json:"notify_email"`
	Pricing        *struct {
		Kind    *string `json:"kind"`
		Percent *int64  `json:"percent"`
		Fixed   *int64  `json:"fixed"`
	} `json:"pricing"`
}

// pricingJSON is a fee schedule: kind "blended" or "interchange_plus",
// percent in basis points, fixed in minor units per debit.
type pricingJSON struct {
	Kind    string `json:"kind"`
	Percent int64  `json:"percent"`
	Fixed   int64  `json:"fixed"`
}

func (s *Server) settingsJSON(r *http.Request, m *paygate.Merchant) (any, error) {
	list, err := s.Gateway.SigningSecretList(r.Context(), m.ID)
	if err != nil {
		return nil, err
	}
	keys, err := s.Gateway.AccessKeyList(r.Context(), m.ID)
	if err != nil {
		return nil, err
	}
	out := settingsJSON{
		Object: "settings", MerchantID: m.ID, AllowedOrigins: m.AllowedOrigins, SuccessURL: m.SuccessURL,
		DeclineURL: m.DeclineURL, CancelURL: m.CancelURL, DefaultModel: m.Model(), RequireAck: m.RequireAck,
		AckWindow: int64(m.EffectiveAckWindow() / time.Second), DisplayName: m.DisplayName, LogoURL: m.LogoURL,
		SigningSecrets: []signingSecretJSON{}, AccessKeys: []signingSecretJSON{},
		TimeZone: m.Location().String(), Cutoff: m.EffectiveCutoff(), NotifyEmail: m.NotifyEmail,
	}
	p := m.EffectivePricing()
	out.Pricing = pricingJSON{Kind: p.Kind, Percent: p.Percent, Fixed: p.Fixed}
	if out.AllowedOrigins == nil {
		out.AllowedOrigins = []string{}
	}
	for _, sec := range list {
		out.SigningSecrets = append(out.SigningSecrets, signingSecretJSON{ID: sec.ID, CreatedAt: timePtr(sec.CreatedAt),
			ExpiresAt: timePtr(sec.ExpiresAt)})
	}
	for _, k := range keys {
		out.AccessKeys = append(out.AccessKeys, signingSecretJSON{ID: k.ID, CreatedAt: timePtr(k.CreatedAt),
			ExpiresAt: timePtr(k.ExpiresAt)})
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
	u := paygate.SettingsUpdate{
		AllowedOrigins: req.AllowedOrigins, SuccessURL: req.SuccessURL, DeclineURL: req.DeclineURL,
		CancelURL: req.CancelURL, DefaultModel: req.DefaultModel, RequireAck: req.RequireAck,
		AckWindow: req.AckWindow, DisplayName: req.DisplayName, LogoURL: req.LogoURL,
		TimeZone: req.TimeZone, Cutoff: req.Cutoff, NotifyEmail: req.NotifyEmail,
		By: apiKeyID(r),
	}
	if rp := req.Pricing; rp != nil {
		// A pricing is given whole: its kind, percent and fixed.
		if rp.Kind == nil || rp.Percent == nil || rp.Fixed == nil {
			return nil, paygate.ParamErrorf(paygate.EINVALID, "pricing",
				"Pricing must give kind, percent (basis points) and fixed (minor units), such as {\"kind\":\"blended\",\"percent\":290,\"fixed\":30}.")
		}
		u.Pricing = &paygate.Pricing{Kind: *rp.Kind, Percent: *rp.Percent, Fixed: *rp.Fixed}
	}
	m, err := s.Gateway.UpdateSettings(r.Context(), m.ID, u)
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

// accessKeyCreatedJSON shows a new access key, the one time it is shown.
type accessKeyCreatedJSON struct {
	Object       string     `json:"object"`
	ID           string     `json:"id"`
	APIAccessKey string     `json:"api_accesskey"`
	CreatedAt    *time.Time `json:"created_at,omitempty"`
}

// rotateAccessKey serves POST /v1/settings/api_accesskey: a new access key
// for the transparent redirect's hash, shown once (never kept under an
// Idempotency-Key: see withoutIdempotency). The keys it replaces keep
// verifying for paygate.AccessKeyOverlap.
func (s *Server) rotateAccessKey(r *http.Request, m *paygate.Merchant, body []byte) (any, error) {
	var req struct{}
	if err := decode(body, &req, true); err != nil {
		return nil, err
	}
	k, text, err := s.Gateway.RotateAccessKey(r.Context(), m)
	if err != nil {
		return nil, err
	}
	return accessKeyCreatedJSON{Object: "api_accesskey", ID: k.ID, APIAccessKey: text, CreatedAt: timePtr(k.CreatedAt)}, nil
}

// urlChangeJSON is one recorded change of a global result URL.
type urlChangeJSON struct {
	Object    string     `json:"object"`
	ID        string     `json:"id"`
	Field     string     `json:"field"`
	Old       string     `json:"old"`
	New       string     `json:"new"`
	ChangedBy string     `json:"changed_by"`
	ChangedAt *time.Time `json:"changed_at,omitempty"`
}

// settingsHistory serves GET /v1/settings/history: the latest changes of
// the global success and decline URLs, newest first (limit: 1 to 100,
// default 20), each with who made it (an API key's id, or "cli").
func (s *Server) settingsHistory(r *http.Request, m *paygate.Merchant, _ []byte) (any, error) {
	limit := 20
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > paygate.MaxURLChanges {
			return nil, paygate.ParamErrorf(paygate.EMALFORMED, "limit", "Limit must be an integer between 1 and %d.", paygate.MaxURLChanges)
		}
		limit = n
	}
	list, err := s.Gateway.URLChanges(r.Context(), m.ID, limit)
	if err != nil {
		return nil, err
	}
	data := make([]urlChangeJSON, 0, len(list))
	for _, c := range list {
		data = append(data, urlChangeJSON{Object: "url_change", ID: c.ID, Field: c.Field, Old: c.Old, New: c.New,
			ChangedBy: c.By, ChangedAt: timePtr(c.At)})
	}
	return listJSON{Object: "list", Data: data}, nil
}
