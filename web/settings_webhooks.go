package web

import (
	"net/http"
	"strings"

	"github.com/paygate/paygate"
)

// The Webhooks pages (admins): the merchant's endpoints, a new one (its
// secret shown once), and each endpoint's page with its delivery log
// (status, attempts, next attempt, last answer) and a redeliver button per
// event; disabling an endpoint and rotating its secret ask to confirm.
// The rules are the JSON API's (Gateway.CreateEndpoint, DeleteEndpoint,
// RotateEndpointSecret, Redeliver).

// endpointLogSize is how many of an endpoint's latest deliveries its page
// shows.
const endpointLogSize = 50

type webhooksData struct {
	Endpoints []endpointRow
	Types     []string
	URL       string
	Chosen    map[string]bool
	Error     string
}

type endpointRow struct {
	ID, URL, Events, Status, LastError, Created string
	Failures                                    int
	Disabled                                    bool
}

func endpointRowOf(e *paygate.WebhookEndpoint, m *paygate.Merchant) endpointRow {
	events := strings.Join(e.Events, ", ")
	if events == "*" {
		events = "all events"
	}
	return endpointRow{ID: e.ID, URL: e.URL, Events: events, Status: e.Status, LastError: e.LastError,
		Created: when(e.CreatedAt, m.Location()), Failures: e.Failures, Disabled: e.Status == paygate.EndpointDisabled}
}

func (d *Dashboard) webhooksPage(w http.ResponseWriter, r *http.Request) {
	d.renderWebhooks(w, r, http.StatusOK, webhooksData{})
}

func (d *Dashboard) renderWebhooks(w http.ResponseWriter, r *http.Request, status int, data webhooksData) {
	_, m := signedIn(r)
	list, err := d.Gateway.Endpoints(r.Context(), m)
	if err != nil {
		d.internalError(w, r, err)
		return
	}
	for _, e := range list {
		data.Endpoints = append(data.Endpoints, endpointRowOf(e, m))
	}
	data.Types = paygate.EventTypes
	d.render(w, r, status, "webhooks", data)
}

func (d *Dashboard) createWebhook(w http.ResponseWriter, r *http.Request) {
	u, m := signedIn(r)
	if err := r.ParseForm(); err != nil {
		d.renderWebhooks(w, r, http.StatusBadRequest, webhooksData{Error: "The form could not be read."})
		return
	}
	events := r.PostForm["events"]
	e, secret, err := d.Gateway.CreateEndpoint(r.Context(), m, r.PostFormValue("url"), events)
	if err != nil {
		if paygate.ErrorCode(err) == paygate.EINTERNAL {
			d.internalError(w, r, err)
			return
		}
		chosen := map[string]bool{}
		for _, t := range events {
			chosen[t] = true
		}
		d.renderWebhooks(w, r, http.StatusUnprocessableEntity, webhooksData{URL: paygate.RedactPANs(r.PostFormValue("url")), Chosen: chosen,
			Error: paygate.ErrorMessage(err)})
		return
	}
	d.audit(r, d.auditEntry(r, u, "webhook.create", e.ID, e.URL))
	d.render(w, r, http.StatusOK, "secret", secretData{Heading: "New webhook endpoint", Label: "Signing secret of " + e.URL,
		Secret: secret, Text: []string{"Your endpoint checks each post-back's webhook-signature header with it (Standard Webhooks)."},
		Back: "/dashboard/settings/webhooks/" + e.ID})
}

type webhookData struct {
	E          endpointRow
	Deliveries []hookDeliveryRow
	Notice     string
	Error      string
}

type hookDeliveryRow struct {
	EventID, Status, Created, Next, Last string
	Attempts                             int
}

func (d *Dashboard) webhookPage(w http.ResponseWriter, r *http.Request) {
	data := webhookData{}
	switch r.URL.Query().Get("done") {
	case "redelivered":
		data.Notice = "The event is due again now: it is posted within seconds."
	case "disabled":
		data.Notice = "The endpoint is disabled: nothing more is posted to it."
	}
	d.renderWebhook(w, r, http.StatusOK, data)
}

func (d *Dashboard) renderWebhook(w http.ResponseWriter, r *http.Request, status int, data webhookData) {
	_, m := signedIn(r)
	e, err := d.Gateway.Endpoint(r.Context(), m, r.PathValue("id"))
	if paygate.ErrorCode(err) == paygate.ENOTFOUND {
		d.notFound(w, r)
		return
	}
	if err != nil {
		d.internalError(w, r, err)
		return
	}
	ds, attempts, err := d.Gateway.EndpointDeliveries(r.Context(), m, e.ID, endpointLogSize)
	if err != nil {
		d.internalError(w, r, err)
		return
	}
	last := map[string]*paygate.WebhookAttempt{} // attempts come oldest first
	for _, a := range attempts {
		last[a.DeliveryID] = a
	}
	loc := m.Location()
	data.E = endpointRowOf(e, m)
	for _, dl := range ds {
		row := hookDeliveryRow{EventID: dl.EventID, Status: dl.Status, Created: when(dl.CreatedAt, loc), Attempts: dl.Attempts}
		if dl.Status == paygate.WebhookPending && !data.E.Disabled {
			row.Next = when(dl.NextAt, loc)
		}
		if a := last[dl.ID]; a != nil {
			row.Last = "HTTP " + itoa(a.Status)
			if a.Status == 0 {
				row.Last = "no answer: " + a.Error
			}
		}
		data.Deliveries = append(data.Deliveries, row)
	}
	d.render(w, r, status, "webhook", data)
}

// webhookAction is "disable" or "rotate" (asked to confirm first), or on
// a POST "redeliver", from the path.
func webhookAction(r *http.Request) string {
	switch a := r.PathValue("action"); a {
	case "disable", "rotate":
		return a
	case "redeliver":
		if r.Method == http.MethodPost {
			return a
		}
	}
	return ""
}

func (d *Dashboard) webhookConfirm(w http.ResponseWriter, r *http.Request) {
	_, m := signedIn(r)
	action := webhookAction(r)
	e, err := d.Gateway.Endpoint(r.Context(), m, r.PathValue("id"))
	if action == "" || err != nil {
		d.notFound(w, r)
		return
	}
	data := confirmData{Action: "/dashboard/settings/webhooks/" + e.ID + "/" + action, Danger: true,
		Cancel: "/dashboard/settings/webhooks/" + e.ID}
	switch action {
	case "disable":
		data.Heading, data.Verb = "Disable this endpoint?", "Disable endpoint"
		data.Text = []string{"Nothing more is posted to " + e.URL + ", and its pending deliveries stop. It stays listed with its delivery log. This cannot be undone: add the URL again to receive events."}
	case "rotate":
		data.Heading, data.Verb = "Rotate this endpoint's secret?", "Rotate secret"
		data.Text = []string{"Post-backs to " + e.URL + " get a new signing secret, shown once on the next page.",
			overlapText("secret", int(paygate.WebhookSecretOverlap.Hours())) + " Meanwhile each post-back carries a signature with each."}
	}
	d.render(w, r, http.StatusOK, "settings_confirm", data)
}

func (d *Dashboard) webhookDo(w http.ResponseWriter, r *http.Request) {
	u, m := signedIn(r)
	action := webhookAction(r)
	id := r.PathValue("id")
	if action == "" {
		d.notFound(w, r)
		return
	}
	if action == "redeliver" {
		d.redeliver(w, r)
		return
	}
	fail := func(err error) {
		switch paygate.ErrorCode(err) {
		case paygate.ENOTFOUND:
			d.notFound(w, r)
		case paygate.EINTERNAL:
			d.internalError(w, r, err)
		default:
			d.renderWebhook(w, r, http.StatusConflict, webhookData{Error: paygate.ErrorMessage(err)})
		}
	}
	switch action {
	case "disable":
		e, err := d.Gateway.DeleteEndpoint(r.Context(), m, id)
		if err != nil {
			fail(err)
			return
		}
		d.audit(r, d.auditEntry(r, u, "webhook.disable", e.ID, e.URL))
		http.Redirect(w, r, "/dashboard/settings/webhooks/"+e.ID+"?done=disabled", http.StatusSeeOther)
	case "rotate":
		e, secret, err := d.Gateway.RotateEndpointSecret(r.Context(), m, id)
		if err != nil {
			fail(err)
			return
		}
		d.audit(r, d.auditEntry(r, u, "webhook.rotate_secret", e.ID, e.URL))
		d.render(w, r, http.StatusOK, "secret", secretData{Heading: "New endpoint secret", Label: "Signing secret of " + e.URL,
			Secret: secret, Text: []string{overlapText("secret", int(paygate.WebhookSecretOverlap.Hours()))},
			Back: "/dashboard/settings/webhooks/" + e.ID})
	}
}

// redeliver serves POST /dashboard/settings/webhooks/{id}/redeliver (by
// way of webhookDo: one pattern for the endpoint's actions): the
// event (form field "event") is posted again, now, on a fresh schedule, to
// each endpoint that takes it and is not disabled (Gateway.Redeliver, as
// the API's POST /v1/events/{id}/redeliver).
func (d *Dashboard) redeliver(w http.ResponseWriter, r *http.Request) {
	u, m := signedIn(r)
	id := r.PathValue("id")
	eventID := r.PostFormValue("event")
	if _, err := d.Gateway.Endpoint(r.Context(), m, id); err != nil {
		d.notFound(w, r)
		return
	}
	if _, err := d.Gateway.Redeliver(r.Context(), m, eventID); err != nil {
		if paygate.ErrorCode(err) == paygate.EINTERNAL {
			d.internalError(w, r, err)
			return
		}
		d.renderWebhook(w, r, http.StatusConflict, webhookData{Error: paygate.ErrorMessage(err)})
		return
	}
	d.audit(r, d.auditEntry(r, u, "webhook.redeliver", eventID, id))
	http.Redirect(w, r, "/dashboard/settings/webhooks/"+id+"?done=redelivered", http.StatusSeeOther)
}
