package web

import (
	"bytes"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"strings"

	"github.com/paygate/paygate"
)

// The dashboard's pages: template/dash_layout.html around one
// template/dash_<name>.html each, which defines "title" and "content" and
// reads its own data as .Page. Every dash_*.html file is a page: adding
// one needs no list to change.
var dashPages = map[string]*template.Template{}

// dashFuncs are the functions the dashboard's templates may call.
var dashFuncs = template.FuncMap{}

func init() {
	layout := template.Must(template.New("dash_layout.html").Funcs(dashFuncs).ParseFS(templateFS, "template/dash_layout.html"))
	names, err := fs.Glob(templateFS, "template/dash_*.html")
	if err != nil {
		panic(err)
	}
	for _, file := range names {
		name := strings.TrimSuffix(strings.TrimPrefix(path.Base(file), "dash_"), ".html")
		if name == "layout" {
			continue
		}
		t := template.Must(layout.Clone())
		dashPages[name] = template.Must(t.ParseFS(templateFS, file))
	}
}

// dashView is what the layout gets: the page's own data is .Page.
type dashView struct {
	StyleURL  string
	User      *paygate.User
	Merchant  string // the merchant's name as shown
	Nav       []navItem
	CSRF      template.HTML // the hidden CSRF field for the page's forms
	RequestID string
	Page      any
}

type navItem struct {
	Label, URL string
	Current    bool
}

// nav is the dashboard's navigation: each entry with the permission that
// shows it.
var nav = []struct {
	label, url string
	perm       paygate.Permission
}{
	{"Overview", "/dashboard/", paygate.PermView},
	{"Payments", "/dashboard/payments", paygate.PermView},
	{"Virtual Terminal", "/dashboard/terminal", paygate.PermTerminal},
	{"Batches", "/dashboard/batches", paygate.PermView},
	{"Deposits", "/dashboard/deposits", paygate.PermView},
	{"Settings", "/dashboard/settings", paygate.PermSettings},
	{"Users", "/dashboard/users", paygate.PermUsers},
	{"Audit log", "/dashboard/audit", paygate.PermAudit},
	{"Outbox", "/dashboard/outbox", paygate.PermView},
}

func navFor(u *paygate.User, current string) []navItem {
	if u == nil {
		return nil
	}
	var items []navItem
	for _, n := range nav {
		if !u.Role.Can(n.perm) {
			continue
		}
		cur := current == n.url || (n.url != "/dashboard/" && strings.HasPrefix(current, n.url+"/"))
		items = append(items, navItem{Label: n.label, URL: n.url, Current: cur})
	}
	return items
}

// render writes page name (template/dash_<name>.html) inside the layout,
// with data as .Page. It is rendered to a buffer first, so that a template
// error becomes the error page rather than half a page.
func (d *Dashboard) render(w http.ResponseWriter, r *http.Request, status int, name string, data any) {
	t, ok := dashPages[name]
	if !ok {
		panic("web: no dashboard page " + name)
	}
	v := dashView{StyleURL: dashAssetURL("dashboard.css"), CSRF: csrfInput(d.csrfFor(w, r)), Page: data,
		RequestID: requestID(r.Context())}
	if s := signInOf(r); s != nil && s.Verified {
		v.User = s.User
		v.Nav = navFor(s.User, r.URL.Path)
	}
	if s := signInOf(r); s != nil && s.Merchant != nil {
		v.Merchant = s.Merchant.Title()
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", v); err != nil {
		d.Logger.Error("render page", paygate.LogRequestID, requestID(r.Context()), "page", name, paygate.LogError, err)
		if name == "message" {
			http.Error(w, "Something went wrong.", http.StatusInternalServerError)
			return
		}
		d.somethingWrong(w, r)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// messageData is the page that says what happened and what to do.
type messageData struct {
	Heading   string
	Text      []string
	Links     []link
	RequestID string
}

func (d *Dashboard) message(w http.ResponseWriter, r *http.Request, status int, heading string, text ...string) {
	d.render(w, r, status, "message", messageData{Heading: heading, Text: text})
}

// dashAssetURL returns the URL of an embedded file under the dashboard.
func dashAssetURL(name string) string {
	return "/dashboard" + assetURL(name)
}

// asset serves GET /dashboard/assets/{name}.
func (d *Dashboard) asset(w http.ResponseWriter, r *http.Request) {
	a, ok := assets[r.PathValue("name")]
	if !ok {
		d.notFound(w, r)
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", a.contentType)
	hd.Set("Cache-Control", "public, max-age=31536000, immutable")
	hd.Set("Cross-Origin-Resource-Policy", "same-origin")
	w.Write(a.body)
}
