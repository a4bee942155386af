package web

import (
	"net/http"
	"net/url"

	"github.com/paygate/paygate"
)

// The audit log page (admins): newest first, filtered by user or action,
// a page at a time.

const auditPageSize = 50

type auditData struct {
	Entries []*paygate.AuditEntry
	Users   []*paygate.User
	Actor   string
	Action  string
	Next    string // the URL of the next (older) page
}

func (d *Dashboard) auditPage(w http.ResponseWriter, r *http.Request) {
	_, m := signedIn(r)
	q := r.URL.Query()
	f := paygate.AuditFilter{ActorID: q.Get("actor"), Action: q.Get("action"), Before: q.Get("before"), Limit: auditPageSize + 1}
	list, err := d.Audit.AuditLog(r.Context(), m.ID, f)
	if err != nil {
		d.internalError(w, r, err)
		return
	}
	users, err := d.Users.Users(r.Context(), m.ID)
	if err != nil {
		d.internalError(w, r, err)
		return
	}
	data := auditData{Entries: list, Users: users, Actor: f.ActorID, Action: f.Action}
	if len(list) > auditPageSize {
		data.Entries = list[:auditPageSize]
		next := url.Values{"before": {list[auditPageSize-1].ID}}
		if f.ActorID != "" {
			next.Set("actor", f.ActorID)
		}
		if f.Action != "" {
			next.Set("action", f.Action)
		}
		data.Next = "/dashboard/audit?" + next.Encode()
	}
	d.render(w, r, http.StatusOK, "audit", data)
}
