package paygate

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"
)

// Browser integration models: where the customer's browser goes after it
// pays on the gateway's page. Wire names.
const (
	ModelRedirect = "redirect" // Web Redirect: a 303 to the merchant's return URL with the signed result
	ModelProxy    = "proxy"    // Web Proxy: the gateway GETs the merchant's response URL and relays its page
)

// MaxAllowedOrigins bounds a merchant's list of origins.
const MaxAllowedOrigins = 20

// MaxAckWindow is the longest acknowledgment window a merchant may set.
const MaxAckWindow = 7 * 24 * time.Hour

// SettingsUpdate changes a merchant's settings: only the fields that are not
// nil. AckWindow is in seconds (0: the default).
type SettingsUpdate struct {
	AllowedOrigins *[]string
	SuccessURL     *string
	DeclineURL     *string
	CancelURL      *string
	DefaultModel   *string
	RequireAck     *bool
	AckWindow      *int64
	DisplayName    *string
	LogoURL        *string
	// TimeZone is an IANA zone name ("" : UTC), Cutoff the daily close
	// "HH:MM" in it ("" : DefaultCutoff), Pricing the fee schedule.
	TimeZone *string
	Cutoff   *string
	Pricing  *Pricing
	// NotifyEmail is where the merchant's copies of receipts and its
	// notices go ("": none).
	NotifyEmail *string

	// By says who makes the change (an API key's id, or "cli"): a change
	// of the global result URLs is recorded with it (URLChange).
	By string
}

// ApplySettings validates u and applies it to m. Nothing changes unless the
// whole update is valid: every URL the merchant keeps must belong to the
// origins it keeps.
func (m *Merchant) ApplySettings(u SettingsUpdate) error {
	next := *m
	if u.AllowedOrigins != nil {
		if len(*u.AllowedOrigins) > MaxAllowedOrigins {
			return ParamErrorf(EINVALID, "allowed_origins", "At most %d allowed origins may be given.", MaxAllowedOrigins)
		}
		next.AllowedOrigins = nil
		for _, o := range *u.AllowedOrigins {
			origin, err := ParseOrigin(o)
			if err != nil {
				return err
			}
			if !containsString(next.AllowedOrigins, origin) {
				next.AllowedOrigins = append(next.AllowedOrigins, origin)
			}
		}
	}
	set := func(dst *string, src *string) {
		if src != nil {
			*dst = strings.TrimSpace(*src)
		}
	}
	set(&next.SuccessURL, u.SuccessURL)
	set(&next.DeclineURL, u.DeclineURL)
	set(&next.CancelURL, u.CancelURL)
	set(&next.DefaultModel, u.DefaultModel)
	set(&next.DisplayName, u.DisplayName)
	set(&next.LogoURL, u.LogoURL)
	if u.RequireAck != nil {
		next.RequireAck = *u.RequireAck
	}
	if u.NotifyEmail != nil {
		e := strings.TrimSpace(*u.NotifyEmail)
		if len(e) > 254 || (e != "" && !validEmail(e)) {
			return ParamErrorf(EINVALID, "notify_email", "Notify e-mail must be an e-mail address such as orders@example.com, or empty for none.")
		}
		next.NotifyEmail = e
	}
	if u.TimeZone != nil {
		zone, err := checkTimeZone(*u.TimeZone)
		if err != nil {
			return err
		}
		next.TimeZone = zone
	}
	if u.Cutoff != nil {
		cut, err := checkCutoff(*u.Cutoff)
		if err != nil {
			return err
		}
		next.Cutoff = cut
	}
	if u.Pricing != nil {
		if err := u.Pricing.check(); err != nil {
			return err
		}
		p := *u.Pricing
		next.Pricing = &p
	}
	if u.AckWindow != nil {
		w := time.Duration(*u.AckWindow) * time.Second
		if *u.AckWindow < 0 || w > MaxAckWindow || *u.AckWindow > int64(MaxAckWindow/time.Second) {
			return ParamErrorf(EINVALID, "ack_window", "Ack window must be between 0 (the default, %d seconds) and %d seconds.",
				int64(DefaultAckWindow/time.Second), int64(MaxAckWindow/time.Second))
		}
		next.AckWindow = w
	}
	switch next.DefaultModel {
	case "", ModelRedirect, ModelProxy:
	default:
		return ParamErrorf(EINVALID, "default_model", "Default model must be %q or %q.", ModelRedirect, ModelProxy)
	}
	if len(next.DisplayName) > 100 {
		return ParamErrorf(EINVALID, "display_name", "Display name must be at most 100 characters.")
	}
	if err := CheckFreeText("display_name", next.DisplayName); err != nil {
		return err
	}
	for _, f := range []struct{ param, value string }{
		{"success_url", next.SuccessURL}, {"decline_url", next.DeclineURL}, {"cancel_url", next.CancelURL},
		{"logo_url", next.LogoURL},
	} {
		if f.value == "" {
			continue
		}
		if err := next.CheckURL(f.param, f.value); err != nil {
			return err
		}
	}
	*m = next
	return nil
}

// checkTimeZone checks an IANA time zone name ("" is UTC).
func checkTimeZone(zone string) (string, error) {
	zone = strings.TrimSpace(zone)
	if zone == "" {
		return "", nil
	}
	if len(zone) > 64 || zone == "Local" || strings.ContainsAny(zone, "\\\x00") || strings.HasPrefix(zone, "/") || strings.Contains(zone, "..") {
		return "", ParamErrorf(EINVALID, "time_zone", "Time zone must be an IANA time zone name such as America/New_York or Europe/Paris.")
	}
	if _, err := time.LoadLocation(zone); err != nil {
		return "", ParamErrorf(EINVALID, "time_zone", "Time zone %q is not a known IANA time zone name (such as America/New_York or Europe/Paris).",
			sanitize(zone, 64))
	}
	return zone, nil
}

// checkCutoff checks a daily cut-off "HH:MM", 24-hour ("" is DefaultCutoff).
func checkCutoff(cut string) (string, error) {
	cut = strings.TrimSpace(cut)
	if cut == "" {
		return "", nil
	}
	bad := ParamErrorf(EINVALID, "cutoff", "Cut-off must be a time of day HH:MM on the 24-hour clock, such as 17:30.")
	if len(cut) != 5 || cut[2] != ':' {
		return "", bad
	}
	for _, i := range []int{0, 1, 3, 4} {
		if cut[i] < '0' || cut[i] > '9' {
			return "", bad
		}
	}
	if h, m := int(cut[0]-'0')*10+int(cut[1]-'0'), int(cut[3]-'0')*10+int(cut[4]-'0'); h > 23 || m > 59 {
		return "", bad
	}
	return cut, nil
}

// MaxPricingFixed bounds the fixed part of a fee schedule (minor units).
const MaxPricingFixed = 100_000

// check checks a fee schedule a merchant sets.
func (p Pricing) check() error {
	switch {
	case p.Kind != PricingBlended && p.Kind != PricingInterchangePlus:
		return ParamErrorf(EINVALID, "pricing", "Pricing kind must be %q or %q.", PricingBlended, PricingInterchangePlus)
	case p.Percent < 0 || p.Percent > 10_000:
		return ParamErrorf(EINVALID, "pricing", "Pricing percent must be in basis points, between 0 and 10000 (100 %%).")
	case p.Fixed < 0 || p.Fixed > MaxPricingFixed:
		return ParamErrorf(EINVALID, "pricing", "Pricing fixed must be in minor units, between 0 and %d.", MaxPricingFixed)
	}
	return nil
}

// EffectivePricing is the merchant's fee schedule in force.
func (m *Merchant) EffectivePricing() Pricing { return m.pricing() }

// EffectiveCutoff is the merchant's daily cut-off in force ("HH:MM").
func (m *Merchant) EffectiveCutoff() string {
	if m.Cutoff == "" {
		return DefaultCutoff
	}
	return m.Cutoff
}

// Model returns the model a session uses when it names none.
func (m *Merchant) Model() string {
	if m.DefaultModel == "" {
		return ModelRedirect
	}
	return m.DefaultModel
}

// Title is the name a customer sees on the payment page.
func (m *Merchant) Title() string {
	if m.DisplayName != "" {
		return m.DisplayName
	}
	return m.Name
}

// CheckURL checks that raw is an absolute http(s) URL on one of the
// merchant's allowed origins, so that the gateway never sends a browser (or
// itself) anywhere else: no open redirect.
func (m *Merchant) CheckURL(param, raw string) error {
	if len(raw) > 2000 {
		return ParamErrorf(EINVALID, param, "%s must be at most 2000 characters.", paramTitle(param))
	}
	origin, err := urlOrigin(raw)
	if err != nil {
		return ParamErrorf(EINVALID, param, "%s must be an absolute http or https URL such as https://shop.example.com/paid.", paramTitle(param))
	}
	if err := CheckFreeText(param, raw); err != nil {
		return err
	}
	if !containsString(m.AllowedOrigins, origin) {
		if len(m.AllowedOrigins) == 0 {
			return ParamErrorf(EINVALID, param, "%s is on %s, but no allowed origins are set; add it to allowed_origins in the settings first.",
				paramTitle(param), origin)
		}
		return ParamErrorf(EINVALID, param, "%s is on %s, which is not one of the allowed origins (%s).",
			paramTitle(param), origin, strings.Join(m.AllowedOrigins, ", "))
	}
	return nil
}

// paramTitle turns success_url into "Success URL".
func paramTitle(param string) string {
	words := strings.Split(param, "_")
	for i, w := range words {
		switch w {
		case "url", "id":
			words[i] = strings.ToUpper(w)
		default:
			if i == 0 && w != "" {
				words[i] = strings.ToUpper(w[:1]) + w[1:]
			}
		}
	}
	return strings.Join(words, " ")
}

// ParseOrigin checks and normalizes an origin: scheme, host and port only,
// https (or http for localhost, 127.0.0.1 and [::1], to develop on), the
// default port left out.
func ParseOrigin(s string) (string, error) {
	bad := func() (string, error) {
		return "", ParamErrorf(EINVALID, "allowed_origins",
			"Allowed origin %q must be a scheme, host and port only, such as https://shop.example.com or http://localhost:8080.", sanitize(s, 100))
	}
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil || u.Opaque != "" || u.User != nil || u.Host == "" || (u.Path != "" && u.Path != "/") ||
		u.RawQuery != "" || u.Fragment != "" || u.ForceQuery || strings.ContainsAny(s, "\\ \t\r\n") {
		return bad()
	}
	origin, err := urlOrigin(u.String())
	if err != nil {
		return bad()
	}
	return origin, nil
}

// urlOrigin returns the normalized origin of an absolute http(s) URL.
func urlOrigin(raw string) (string, error) {
	if strings.ContainsAny(raw, "\\\x00\r\n\t ") {
		return "", Errorf(EINVALID, "bad URL")
	}
	u, err := url.Parse(raw)
	if err != nil || u.Opaque != "" || u.User != nil || u.Host == "" {
		return "", Errorf(EINVALID, "bad URL")
	}
	scheme := strings.ToLower(u.Scheme)
	host := strings.ToLower(u.Hostname())
	port := u.Port()
	if host == "" || strings.ContainsAny(host, "%/") {
		return "", Errorf(EINVALID, "bad URL")
	}
	switch scheme {
	case "https":
		if port == "443" {
			port = ""
		}
	case "http":
		if !IsLocalHost(host) {
			return "", Errorf(EINVALID, "http only for localhost")
		}
		if port == "80" {
			port = ""
		}
	default:
		return "", Errorf(EINVALID, "bad scheme")
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if port != "" {
		host += ":" + port
	}
	return scheme + "://" + host, nil
}

// URLOrigin returns the normalized origin (scheme://host[:port]) of an
// absolute http(s) URL, or "" if it is not one.
func URLOrigin(raw string) string {
	o, err := urlOrigin(raw)
	if err != nil {
		return ""
	}
	return o
}

// IsLocalHost reports whether host names this machine: localhost, or a
// loopback address. Such origins may use plain http.
func IsLocalHost(host string) bool {
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func containsString(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// UpdateSettings applies u to the merchant as stored and saves its
// settings, and only them (MerchantStore.UpdateSettings): a write to its
// other columns meanwhile, such as an operator's rate limit, stays.
// Merchants carry no version, so of two settings updates at once the later
// write wins for all the settings, not only those it names: the settings
// are checked together (every URL on an allowed origin), so they are saved
// together, and what is stored is always one whole, valid set. A change of
// the success or decline URL is recorded (who: u.By; when; old; new).
func (g *Gateway) UpdateSettings(ctx context.Context, merchantID string, u SettingsUpdate) (*Merchant, error) {
	m, err := g.Merchants.Merchant(ctx, merchantID)
	if err != nil {
		return nil, err
	}
	before := m.NextCutoff(g.now())
	if err := m.ApplySettings(u); err != nil {
		return nil, err
	}
	by := u.By
	if by == "" {
		by = "unknown"
	}
	if err := g.Merchants.UpdateSettings(ctx, m, by, g.now()); err != nil {
		return nil, fmt.Errorf("save settings: %w", err)
	}
	if m.NextCutoff(g.now()) != before {
		if err := g.moveCutoffs(ctx, m); err != nil {
			return m, err
		}
	}
	return m, nil
}

// moveCutoffs sets the merchant's open batches to close at its next
// cut-off as its settings now say (a new time or time zone applies to the
// batches already open, not only to the next ones).
func (g *Gateway) moveCutoffs(ctx context.Context, m *Merchant) error {
	if g.Batches == nil {
		return nil
	}
	open, _, err := g.Batches.Batches(ctx, BatchFilter{MerchantID: m.ID, Status: BatchOpen, Limit: 100})
	if err != nil {
		return fmt.Errorf("list open batches: %w", err)
	}
	for _, b := range open {
		for {
			b.CutoffAt, b.UpdatedAt = m.NextCutoff(g.now()), g.now()
			err := g.Batches.UpdateBatch(ctx, b)
			if err == nil || !errors.Is(err, ErrVersionConflict) {
				if err != nil {
					return fmt.Errorf("move the cut-off of batch %s: %w", b.ID, err)
				}
				break
			}
			if b, err = g.Batches.Batch(ctx, m.ID, b.ID); err != nil {
				return err
			}
			if b.Status != BatchOpen {
				break
			}
		}
	}
	return nil
}

// SigningSecretList returns the merchant's signing secrets in force (sealed:
// only their ids and times are for showing).
func (g *Gateway) SigningSecretList(ctx context.Context, merchantID string) ([]*SigningSecret, error) {
	if g.SigningSecrets == nil {
		return nil, nil
	}
	return g.SigningSecrets.SigningSecrets(ctx, merchantID, g.now())
}
