package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/paygate/paygate"
)

func runMerchant(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "usage: paygate merchant create|list|update [flags]")
		return errUsage
	}
	switch args[0] {
	case "-h", "--help", "help":
		fmt.Fprintln(stderr, "usage: paygate merchant create|list|update [flags]\n\n  create  create a merchant and its secret key\n  list    list the merchants\n  update  change a merchant's settings (rate limit, allowed origins, result URLs, model, payment page, cut-off, pricing)\n\nRun 'paygate merchant <subcommand> -h' for its flags.")
		return nil
	case "create":
		return merchantCreate(ctx, args[1:], stdout, stderr)
	case "list":
		return merchantList(ctx, args[1:], stdout, stderr)
	case "update":
		return merchantUpdate(ctx, args[1:], stdout, stderr)
	}
	fmt.Fprintf(stderr, "paygate merchant: unknown subcommand %q (want create, list or update)\n", args[0])
	return errUsage
}

type merchantJSON struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	Email      string `json:"email,omitempty"`
	RequireAck bool   `json:"require_ack"`
	AckWindow  string `json:"ack_window,omitempty"`
	RateLimit  int    `json:"rate_limit,omitempty"` // requests per second per API key; absent: the server's
	AcquirerID string `json:"acquirer_merchant_id"`
	TerminalID string `json:"terminal_id"`
	CreatedAt  string `json:"created_at"`
	SecretKey  string `json:"secret_key,omitempty"`

	AllowedOrigins []string `json:"allowed_origins,omitempty"`
	SuccessURL     string   `json:"success_url,omitempty"`
	DeclineURL     string   `json:"decline_url,omitempty"`
	CancelURL      string   `json:"cancel_url,omitempty"`
	DefaultModel   string   `json:"default_model"`
	DisplayName    string   `json:"display_name,omitempty"`
	LogoURL        string   `json:"logo_url,omitempty"`
	TimeZone       string   `json:"time_zone"` // of the cut-off
	Cutoff         string   `json:"cutoff"`    // HH:MM, when the day's batches close
	Pricing        string   `json:"pricing"`   // such as blended:290:30
	NotifyEmail    string   `json:"notify_email,omitempty"`
}

func newMerchantJSON(m *paygate.Merchant) merchantJSON {
	j := merchantJSON{ID: m.ID, Name: m.Name, Email: m.Email, RequireAck: m.RequireAck, RateLimit: m.RateLimit, AcquirerID: m.AcquirerID,
		TerminalID: m.TerminalID, CreatedAt: m.CreatedAt.Format(time.RFC3339),
		AllowedOrigins: m.AllowedOrigins, SuccessURL: m.SuccessURL, DeclineURL: m.DeclineURL, CancelURL: m.CancelURL,
		DefaultModel: m.Model(), DisplayName: m.DisplayName, LogoURL: m.LogoURL,
		TimeZone: m.Location().String(), Cutoff: m.EffectiveCutoff(), Pricing: m.EffectivePricing().Code(),
		NotifyEmail: m.NotifyEmail}
	if m.RequireAck {
		j.AckWindow = m.EffectiveAckWindow().String()
	}
	return j
}

func merchantCreate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("merchant create", stderr)
	db := dbFlag(fs)
	name := fs.String("name", "", "merchant name (required)")
	email := fs.String("email", "", "merchant e-mail address")
	requireAck := fs.Bool("require-ack", false, "approvals must be acknowledged or they are voided")
	ackWindow := fs.Duration("ack-window", paygate.DefaultAckWindow, "how long an approval waits for acknowledgment")
	rateLimit := rateLimitFlag(fs)
	asJSON := fs.Bool("json", false, "print JSON")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *ackWindow <= 0 {
		return fmt.Errorf("--ack-window must be positive")
	}
	if *rateLimit < 0 {
		return fmt.Errorf("--rate-limit must not be negative")
	}
	m, err := paygate.NewMerchant(*name, *email, time.Now().UTC())
	if err != nil {
		return fmt.Errorf("%s", paygate.ErrorMessage(err))
	}
	m.RequireAck, m.AckWindow, m.RateLimit = *requireAck, *ackWindow, *rateLimit
	st, err := openExisting(ctx, *db)
	if err != nil {
		return err
	}
	defer st.Close()
	secret, err := newMerchantWithKey(ctx, st, m)
	if err != nil {
		return err
	}
	if *asJSON {
		j := newMerchantJSON(m)
		j.SecretKey = secret
		return json.NewEncoder(stdout).Encode(j)
	}
	fmt.Fprintf(stdout, "Created merchant %s (%s).\n  secret key:      %s\nThe key is shown only this once; store it now.\n", m.ID, m.Name, secret)
	return nil
}

func merchantList(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("merchant list", stderr)
	db := dbFlag(fs)
	asJSON := fs.Bool("json", false, "print JSON")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	st, err := openExisting(ctx, *db)
	if err != nil {
		return err
	}
	defer st.Close()
	list, err := st.Merchants.Merchants(ctx)
	if err != nil {
		return err
	}
	if *asJSON {
		out := make([]merchantJSON, 0, len(list))
		for _, m := range list {
			out = append(out, newMerchantJSON(m))
		}
		return json.NewEncoder(stdout).Encode(out)
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tREQUIRE ACK\tCREATED")
	for _, m := range list {
		fmt.Fprintf(tw, "%s\t%s\t%v\t%s\n", m.ID, m.Name, m.RequireAck, m.CreatedAt.Format(time.RFC3339))
	}
	return tw.Flush()
}

func rateLimitFlag(fs *flag.FlagSet) *int {
	return fs.Int("rate-limit", 0, "requests per second each of the merchant's API keys may send, in bursts of twice it; 0: the server's --rate-limit")
}

// merchantUpdate changes a merchant's rate limit and settings: those whose
// flags are given, and nothing else (see updateMerchant).
func merchantUpdate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("merchant update", stderr)
	db := dbFlag(fs)
	id := fs.String("merchant", "", "merchant id (required)")
	rateLimit := rateLimitFlag(fs)
	origins := fs.String("allowed-origins", "", "comma-separated origins the merchant's pages live on, such as https://shop.example.com (\"\" clears them)")
	success := fs.String("success-url", "", "where the customer goes after an approval, unless a session names its own return URL")
	decline := fs.String("decline-url", "", "where the customer goes after the last decline (default: the return URL)")
	cancel := fs.String("cancel-url", "", "where the customer goes on cancel (default: the return URL)")
	model := fs.String("default-model", "", "browser model of sessions that name none: redirect or proxy")
	requireAck := fs.Bool("require-ack", false, "approvals must be acknowledged or they are voided")
	ackWindow := fs.Duration("ack-window", 0, "how long an approval waits for acknowledgment (0: the default)")
	display := fs.String("display-name", "", "the name customers see on the payment page")
	logo := fs.String("logo-url", "", "a logo shown on the payment page (on an allowed origin)")
	zone := fs.String("time-zone", "", "the merchant's IANA time zone, such as America/New_York (\"\": UTC)")
	cutoff := fs.String("cutoff", "", "daily batch cut-off HH:MM (24-hour) in the merchant's time zone (\"\": 23:59)")
	pricing := fs.String("pricing", "", "fees: blended:<basis points>:<fixed minor units> or interchange_plus:<bp>:<fixed>, such as blended:290:30")
	notify := fs.String("notify-email", "", "where the merchant's copies of e-mail receipts and its notices of voids and refunds go (\"\": none)")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	delete(given, "db")
	delete(given, "merchant")
	delete(given, "json")
	switch {
	case *id == "":
		return fmt.Errorf("--merchant is required")
	case len(given) == 0:
		return fmt.Errorf("nothing to update: give --rate-limit or a setting (see -h)")
	case *rateLimit < 0:
		return fmt.Errorf("--rate-limit must not be negative")
	}
	var u paygate.SettingsUpdate
	str := func(name string, v *string) *string {
		if given[name] {
			return v
		}
		return nil
	}
	if given["allowed-origins"] {
		list := []string{}
		for _, o := range strings.Split(*origins, ",") {
			if o = strings.TrimSpace(o); o != "" {
				list = append(list, o)
			}
		}
		u.AllowedOrigins = &list
	}
	u.SuccessURL, u.DeclineURL, u.CancelURL = str("success-url", success), str("decline-url", decline), str("cancel-url", cancel)
	u.DefaultModel, u.DisplayName, u.LogoURL = str("default-model", model), str("display-name", display), str("logo-url", logo)
	u.TimeZone, u.Cutoff = str("time-zone", zone), str("cutoff", cutoff)
	u.NotifyEmail = str("notify-email", notify)
	if given["pricing"] {
		p, err := paygate.ParsePricing(strings.TrimSpace(*pricing))
		if err != nil {
			return fmt.Errorf("--pricing: %w", err)
		}
		u.Pricing = &p
	}
	if given["require-ack"] {
		u.RequireAck = requireAck
	}
	if given["ack-window"] {
		secs := int64(*ackWindow / time.Second)
		if *ackWindow < 0 || *ackWindow%time.Second != 0 {
			return fmt.Errorf("--ack-window must be a whole number of seconds, not negative")
		}
		u.AckWindow = &secs
	}
	st, err := openExisting(ctx, *db)
	if err != nil {
		return err
	}
	defer st.Close()
	var limit *int
	if given["rate-limit"] {
		limit = rateLimit
	}
	m, err := updateMerchant(ctx, st.Merchants, *id, limit, u)
	if err != nil {
		return err
	}
	if *asJSON {
		return json.NewEncoder(stdout).Encode(newMerchantJSON(m))
	}
	shown := "the server's default"
	if m.RateLimit > 0 {
		shown = fmt.Sprintf("%d requests per second per API key, in bursts of %d", m.RateLimit, 2*m.RateLimit)
	}
	fmt.Fprintf(stdout, "Updated merchant %s (%s): rate limit %s.\n", m.ID, m.Name, shown)
	if len(m.AllowedOrigins) > 0 || m.SuccessURL != "" {
		fmt.Fprintf(stdout, "  allowed origins: %s\n  success URL:     %s\n  default model:   %s\n",
			strings.Join(m.AllowedOrigins, ", "), m.SuccessURL, m.Model())
	}
	if given["notify-email"] {
		shown := m.NotifyEmail
		if shown == "" {
			shown = "none"
		}
		fmt.Fprintf(stdout, "  notify e-mail:   %s\n", shown)
	}
	if given["time-zone"] || given["cutoff"] || given["pricing"] {
		fmt.Fprintf(stdout, "  cut-off:         %s %s\n  pricing:         %s\n", m.EffectiveCutoff(), m.Location(), m.EffectivePricing().Code())
	}
	return nil
}

// updateMerchant sets a merchant's rate limit (unless rateLimit is nil) and
// applies u to its settings (unless it names none). Each is written alone
// (MerchantStore.UpdateRateLimit, UpdateSettings), so neither undoes a
// write of the merchant's other columns since it was read: the merchant's
// own POST /v1/settings, or another operator's command.
func updateMerchant(ctx context.Context, ms paygate.MerchantStore, id string, rateLimit *int, u paygate.SettingsUpdate) (*paygate.Merchant, error) {
	m, err := ms.Merchant(ctx, id)
	if paygate.ErrorCode(err) == paygate.ENOTFOUND {
		return nil, fmt.Errorf("%s", paygate.ErrorMessage(err))
	} else if err != nil {
		return nil, err
	}
	if err := m.ApplySettings(u); err != nil {
		return nil, fmt.Errorf("%s", paygate.ErrorMessage(err))
	}
	if rateLimit != nil {
		m.RateLimit = *rateLimit
		if err := ms.UpdateRateLimit(ctx, m); err != nil {
			return nil, err
		}
	}
	if u != (paygate.SettingsUpdate{}) {
		// A change of the global result URLs is recorded as made by "cli".
		if err := ms.UpdateSettings(ctx, m, "cli", time.Now().UTC()); err != nil {
			return nil, err
		}
	}
	return m, nil
}
