package web

import (
	"net/http"

	"github.com/paygate/paygate"
)

// The API keys page (admins): the merchant's keys with their name, prefix,
// creation, last recorded use and status; a new key with a name, its
// secret shown once (in the answer to the POST); revocation after a
// confirmation. The rules are the domain's (Gateway.CreateAPIKey,
// RevokeAPIKey), as for `paygate key`.

type keysData struct {
	Keys   []keyRow
	Name   string
	Notice string
	Error  string
}

type keyRow struct {
	ID, Name, Prefix, Created, LastUsed, Revoked string
}

func (d *Dashboard) keysPage(w http.ResponseWriter, r *http.Request) {
	data := keysData{}
	if r.URL.Query().Get("done") == "revoked" {
		data.Notice = "The key was revoked: the API refuses it within seconds."
	}
	d.renderKeys(w, r, http.StatusOK, data)
}

func (d *Dashboard) renderKeys(w http.ResponseWriter, r *http.Request, status int, data keysData) {
	_, m := signedIn(r)
	ctx := r.Context()
	list, err := d.Gateway.Merchants.APIKeys(ctx, m.ID)
	if err != nil {
		d.internalError(w, r, err)
		return
	}
	loc := m.Location()
	for i := len(list) - 1; i >= 0; i-- { // newest first
		k := list[i]
		row := keyRow{ID: k.ID, Name: k.Name, Prefix: k.Prefix, Created: when(k.CreatedAt, loc), Revoked: when(k.RevokedAt, loc)}
		// The last change the key made, as the audit log records every
		// mutating API request (reads are not recorded).
		if d.Audit != nil {
			last, err := d.Audit.AuditLog(ctx, m.ID, paygate.AuditFilter{ActorID: k.ID, Limit: 1})
			if err != nil {
				d.internalError(w, r, err)
				return
			}
			if len(last) > 0 {
				row.LastUsed = when(last[0].CreatedAt, loc)
			}
		}
		data.Keys = append(data.Keys, row)
	}
	d.render(w, r, status, "keys", data)
}

func (d *Dashboard) createKey(w http.ResponseWriter, r *http.Request) {
	u, m := signedIn(r)
	name := r.PostFormValue("name")
	k, plain, err := d.Gateway.CreateAPIKey(r.Context(), m.ID, name)
	if err != nil {
		if msg := paygate.ErrorMessage(err); paygate.ErrorCode(err) != paygate.EINTERNAL {
			d.renderKeys(w, r, http.StatusUnprocessableEntity, keysData{Name: paygate.RedactPANs(name), Error: msg})
			return
		}
		d.internalError(w, r, err)
		return
	}
	d.audit(r, d.auditEntry(r, u, "api_key.create", k.ID, k.Name))
	title := "New API key"
	if k.Name != "" {
		title += " “" + k.Name + "”"
	}
	d.render(w, r, http.StatusOK, "secret", secretData{Heading: title, Label: "Secret key " + k.ID, Secret: plain,
		Text: []string{"Your server sends it as a bearer token: Authorization: Bearer " + k.Prefix + "…. Only its hash is kept; if you lose it, create another key and revoke this one."},
		Back: "/dashboard/settings/keys"})
}

func (d *Dashboard) revokeKeyConfirm(w http.ResponseWriter, r *http.Request) {
	_, m := signedIn(r)
	k, err := d.Gateway.APIKey(r.Context(), m.ID, r.PathValue("id"))
	if err != nil {
		d.notFound(w, r)
		return
	}
	label := k.Prefix + "…"
	if k.Name != "" {
		label = k.Name + " (" + label + ")"
	}
	d.render(w, r, http.StatusOK, "settings_confirm", confirmData{Heading: "Revoke this API key?",
		Text:   []string{"Key " + label + " stops working within seconds: every request made with it is refused from then on. This cannot be undone."},
		Action: "/dashboard/settings/keys/" + k.ID + "/revoke", Verb: "Revoke key", Danger: true, Cancel: "/dashboard/settings/keys"})
}

func (d *Dashboard) revokeKey(w http.ResponseWriter, r *http.Request) {
	u, m := signedIn(r)
	k, err := d.Gateway.RevokeAPIKey(r.Context(), m.ID, r.PathValue("id"))
	if paygate.ErrorCode(err) == paygate.ENOTFOUND {
		d.notFound(w, r)
		return
	}
	if err != nil {
		d.internalError(w, r, err)
		return
	}
	d.audit(r, d.auditEntry(r, u, "api_key.revoke", k.ID, k.Name))
	http.Redirect(w, r, "/dashboard/settings/keys?done=revoked", http.StatusSeeOther)
}
