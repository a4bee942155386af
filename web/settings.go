package web

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/paygate/paygate"
)

// The Settings page (admins): the merchant's settings as the JSON API's
// POST /v1/settings changes them (Gateway.UpdateSettings: the same rules,
// and the same record of success/decline URL changes), pricing read-only,
// and the signing secret and api_accesskey with their rotation. Every
// change is written to the audit log, each changed field old → new.

type settingsData struct {
	Form       settingsForm
	Pricing    string
	Signing    []secretRow
	AccessKeys []secretRow
	Changes    []urlChangeRow
	Loc        *time.Location
	Notice     string
	Error      string
	ErrorField string
}

// settingsForm is the form's fields as text.
type settingsForm struct {
	DisplayName, LogoURL, Origins               string
	SuccessURL, DeclineURL, CancelURL, Model    string
	RequireAck                                  bool
	AckWindow, NotifyEmail, TimeZone, Cutoff    string
	DefaultAckWindow, MaxAckWindow, DefaultZone string
}

// urlChangeRow is a recorded change of a global result URL.
type urlChangeRow struct {
	At, Field, Old, New, By string
}

// secretRow is a signing secret or an access key in force, never its value.
type secretRow struct {
	ID, Created, Expires string
}

func formOf(m *paygate.Merchant) settingsForm {
	return settingsForm{
		DisplayName: m.DisplayName, LogoURL: m.LogoURL, Origins: strings.Join(m.AllowedOrigins, "\n"),
		SuccessURL: m.SuccessURL, DeclineURL: m.DeclineURL, CancelURL: m.CancelURL, Model: m.Model(),
		RequireAck: m.RequireAck, AckWindow: strconv.FormatInt(int64(m.EffectiveAckWindow()/time.Second), 10),
		NotifyEmail: m.NotifyEmail, TimeZone: m.Location().String(), Cutoff: m.EffectiveCutoff(),
	}
}

func (d *Dashboard) settingsPage(w http.ResponseWriter, r *http.Request) {
	_, m := signedIn(r)
	m, err := d.Gateway.Merchants.Merchant(r.Context(), m.ID)
	if err != nil {
		d.internalError(w, r, err)
		return
	}
	data := settingsData{Form: formOf(m)}
	switch r.URL.Query().Get("done") {
	case "saved":
		data.Notice = "Settings saved."
	}
	d.renderSettings(w, r, http.StatusOK, m, data)
}

func (d *Dashboard) renderSettings(w http.ResponseWriter, r *http.Request, status int, m *paygate.Merchant, data settingsData) {
	ctx := r.Context()
	data.Loc = m.Location()
	data.Form.DefaultAckWindow = strconv.FormatInt(int64(paygate.DefaultAckWindow/time.Second), 10)
	data.Form.MaxAckWindow = strconv.FormatInt(int64(paygate.MaxAckWindow/time.Second), 10)
	p := m.EffectivePricing()
	data.Pricing = pricingText(p)
	signing, err := d.Gateway.SigningSecretList(ctx, m.ID)
	if err != nil {
		d.internalError(w, r, err)
		return
	}
	for _, s := range signing {
		data.Signing = append(data.Signing, secretRow{ID: s.ID, Created: when(s.CreatedAt, data.Loc), Expires: when(s.ExpiresAt, data.Loc)})
	}
	keys, err := d.Gateway.AccessKeyList(ctx, m.ID)
	if err != nil {
		d.internalError(w, r, err)
		return
	}
	for _, k := range keys {
		data.AccessKeys = append(data.AccessKeys, secretRow{ID: k.ID, Created: when(k.CreatedAt, data.Loc), Expires: when(k.ExpiresAt, data.Loc)})
	}
	changes, err := d.Gateway.URLChanges(ctx, m.ID, 10)
	if err != nil {
		d.internalError(w, r, err)
		return
	}
	for _, c := range changes {
		data.Changes = append(data.Changes, urlChangeRow{At: when(c.At, data.Loc), Field: c.Field, Old: c.Old, New: c.New, By: c.By})
	}
	d.render(w, r, status, "settings", data)
}

func pricingText(p paygate.Pricing) string {
	kind := "Blended"
	if p.Kind == paygate.PricingInterchangePlus {
		kind = "Interchange plus"
	}
	return kind + ": " + strconv.FormatFloat(float64(p.Percent)/100, 'f', -1, 64) + " % + " + strconv.FormatInt(p.Fixed, 10) +
		" minor units per transaction"
}

// saveSettings serves POST /dashboard/settings: every field of the form
// at once, checked together by Gateway.UpdateSettings.
func (d *Dashboard) saveSettings(w http.ResponseWriter, r *http.Request) {
	u, m := signedIn(r)
	ctx := r.Context()
	before, err := d.Gateway.Merchants.Merchant(ctx, m.ID)
	if err != nil {
		d.internalError(w, r, err)
		return
	}
	f := settingsForm{
		DisplayName: r.PostFormValue("display_name"), LogoURL: r.PostFormValue("logo_url"),
		Origins: r.PostFormValue("allowed_origins"), SuccessURL: r.PostFormValue("success_url"),
		DeclineURL: r.PostFormValue("decline_url"), CancelURL: r.PostFormValue("cancel_url"),
		Model: r.PostFormValue("default_model"), RequireAck: r.PostFormValue("require_ack") == "1",
		AckWindow: strings.TrimSpace(r.PostFormValue("ack_window")), NotifyEmail: r.PostFormValue("notify_email"),
		TimeZone: r.PostFormValue("time_zone"), Cutoff: r.PostFormValue("cutoff"),
	}
	fail := func(msg, field string) {
		// What was typed is shown again, with any card number masked.
		for _, p := range []*string{&f.DisplayName, &f.LogoURL, &f.Origins, &f.SuccessURL, &f.DeclineURL, &f.CancelURL,
			&f.AckWindow, &f.NotifyEmail, &f.TimeZone, &f.Cutoff} {
			*p = paygate.RedactPANs(*p)
		}
		d.renderSettings(w, r, http.StatusUnprocessableEntity, before, settingsData{Form: f, Error: msg, ErrorField: field})
	}
	var origins []string
	for _, line := range strings.FieldsFunc(f.Origins, func(c rune) bool { return c == '\n' || c == '\r' || c == ',' }) {
		if line = strings.TrimSpace(line); line != "" {
			origins = append(origins, line)
		}
	}
	window, err := strconv.ParseInt(f.AckWindow, 10, 64)
	if f.AckWindow == "" {
		window, err = 0, nil
	}
	if err != nil {
		fail("Ack window must be a whole number of seconds.", "ack_window")
		return
	}
	if window == int64(paygate.DefaultAckWindow/time.Second) && before.AckWindow == 0 {
		window = 0 // the default, as shown: keep following it
	}
	zone := f.TimeZone
	if zone == "UTC" && before.TimeZone == "" {
		zone = ""
	}
	cut := f.Cutoff
	if cut == paygate.DefaultCutoff && before.Cutoff == "" {
		cut = ""
	}
	upd := paygate.SettingsUpdate{
		AllowedOrigins: &origins, SuccessURL: &f.SuccessURL, DeclineURL: &f.DeclineURL, CancelURL: &f.CancelURL,
		DefaultModel: &f.Model, RequireAck: &f.RequireAck, AckWindow: &window, DisplayName: &f.DisplayName,
		LogoURL: &f.LogoURL, TimeZone: &zone, Cutoff: &cut, NotifyEmail: &f.NotifyEmail, By: u.ID,
	}
	after, err := d.Gateway.UpdateSettings(ctx, m.ID, upd)
	if err != nil {
		var perr *paygate.Error
		if errors.As(err, &perr) {
			fail(perr.Message, perr.Param)
			return
		}
		d.internalError(w, r, err)
		return
	}
	if changes := settingsChanges(before, after); changes != "" {
		d.audit(r, d.auditEntry(r, u, "settings.update", m.ID, changes))
	}
	http.Redirect(w, r, "/dashboard/settings?done=saved", http.StatusSeeOther)
}

// settingsChanges describes what changed between two versions of a
// merchant's settings: "success_url: old → new; …" ("" if nothing did).
func settingsChanges(a, b *paygate.Merchant) string {
	var out []string
	add := func(name, old, cur string) {
		if old != cur {
			if old == "" {
				old = "(none)"
			}
			if cur == "" {
				cur = "(none)"
			}
			out = append(out, name+": "+old+" → "+cur)
		}
	}
	add("success_url", a.SuccessURL, b.SuccessURL)
	add("decline_url", a.DeclineURL, b.DeclineURL)
	add("cancel_url", a.CancelURL, b.CancelURL)
	add("allowed_origins", strings.Join(a.AllowedOrigins, " "), strings.Join(b.AllowedOrigins, " "))
	add("display_name", a.DisplayName, b.DisplayName)
	add("logo_url", a.LogoURL, b.LogoURL)
	add("default_model", a.Model(), b.Model())
	add("require_ack", strconv.FormatBool(a.RequireAck), strconv.FormatBool(b.RequireAck))
	add("ack_window", a.EffectiveAckWindow().String(), b.EffectiveAckWindow().String())
	add("notify_email", a.NotifyEmail, b.NotifyEmail)
	add("time_zone", a.Location().String(), b.Location().String())
	add("cutoff", a.EffectiveCutoff(), b.EffectiveCutoff())
	return strings.Join(out, "; ")
}

// audit appends an entry to the audit log; a failure is logged (the
// change it records is made already).
func (d *Dashboard) audit(r *http.Request, a *paygate.AuditEntry) {
	if d.Audit == nil {
		return
	}
	if err := d.Audit.AppendAudit(r.Context(), a); err != nil {
		d.Logger.Error("audit", paygate.LogRequestID, requestID(r.Context()), paygate.LogError, err)
	}
}
