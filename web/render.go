package web

import (
	"bytes"
	"embed"
	"html/template"
	"net/http"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/paygate/paygate"
)

//go:embed template
var templateFS embed.FS

// pages are the templates, each page parsed with the layout.
var pages = map[string]*template.Template{}

func init() {
	layout := template.Must(template.ParseFS(templateFS, "template/layout.html"))
	for _, name := range []string{"pay", "processing", "receipt", "message"} {
		t := template.Must(layout.Clone())
		pages[name] = template.Must(t.ParseFS(templateFS, "template/"+name+".html"))
	}
}

// view is what the layout of every page needs.
type view struct {
	Title     string
	Merchant  *merchantView
	Refresh   string // a URL to go to after 2 seconds (a meta refresh, not a script)
	RequestID string // shown for support on error pages
	StyleURL  string
}

func (v *view) base() *view { return v }

type viewer interface{ base() *view }

// merchantView is the merchant as a page shows it.
type merchantView struct {
	Title   string
	LogoURL string
	Initial string
}

func newMerchantView(m *paygate.Merchant) *merchantView {
	if m == nil {
		return nil
	}
	v := &merchantView{Title: m.Title()}
	if o := paygate.URLOrigin(m.LogoURL); o != "" && safeOrigin(o) { // the origin pageCSP allows
		v.LogoURL = m.LogoURL
	}
	r, _ := utf8.DecodeRuneInString(strings.TrimSpace(v.Title))
	if r != utf8.RuneError {
		v.Initial = string(unicode.ToUpper(r))
	}
	return v
}

// render writes a page for merchant m (nil: none known) with its headers.
// A page is rendered to a buffer first, so that a template error becomes
// the error page rather than half a page.
func (h *Handler) render(w http.ResponseWriter, r *http.Request, status int, m *paygate.Merchant, name string, data viewer) {
	v := data.base()
	v.StyleURL = assetURL("style.css")
	if v.Merchant == nil {
		v.Merchant = newMerchantView(m)
	}
	var buf bytes.Buffer
	if err := pages[name].ExecuteTemplate(&buf, "layout", data); err != nil {
		h.Logger.Error("render page", paygate.LogRequestID, requestID(r.Context()), "page", name, paygate.LogError, err)
		if name == "message" {
			http.Error(w, "Something went wrong.", http.StatusInternalServerError)
			return
		}
		h.message(w, r, http.StatusInternalServerError, nil, h.somethingWrong(r))
		return
	}
	pageHeaders(w, m)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// messagePage is a page that says what happened and what to do.
type messagePage struct {
	view
	Kind    string // for the style: "info", "error"
	Heading string
	Text    []string
	Links   []link
	Detail  string // for the merchant's developer, folded away
}

type link struct {
	Label, URL string
	Secondary  bool
}

func (h *Handler) message(w http.ResponseWriter, r *http.Request, status int, m *paygate.Merchant, p messagePage) {
	if p.Title == "" {
		p.Title = p.Heading
	}
	if p.Kind == "" {
		p.Kind = "info"
	}
	h.render(w, r, status, m, "message", &p)
}

// somethingWrong is the page of an error the customer cannot act on: it
// gives the request id under which the error was logged.
func (h *Handler) somethingWrong(r *http.Request) messagePage {
	return messagePage{
		view:    view{RequestID: requestID(r.Context())},
		Kind:    "error",
		Heading: "Something went wrong",
		Text: []string{"We could not complete your request. Please try again in a moment.",
			"If it keeps happening, contact the shop and give them the reference below."},
	}
}

// internalError logs err once, under the request id, and shows the
// "Something went wrong" page.
func (h *Handler) internalError(w http.ResponseWriter, r *http.Request, err error) {
	h.logError(r, err)
	h.message(w, r, http.StatusInternalServerError, nil, h.somethingWrong(r))
}

func (h *Handler) logError(r *http.Request, err error) {
	h.Logger.Error("internal error", paygate.LogRequestID, requestID(r.Context()), paygate.LogError, paygate.RedactPANs(err.Error()))
}

func (h *Handler) notFound(w http.ResponseWriter, r *http.Request) {
	h.message(w, r, http.StatusNotFound, nil, messagePage{
		Heading: "Payment page not found",
		Text: []string{"This payment link is not valid: it may be incomplete or mistyped.",
			"Nothing was charged. Go back to the shop you came from and start the payment again, or contact the shop."},
	})
}

func (h *Handler) forbidden(w http.ResponseWriter, r *http.Request) {
	h.message(w, r, http.StatusForbidden, nil, messagePage{
		Kind:    "error",
		Heading: "This request was refused",
		Text: []string{"The form was not sent from this payment page, so it was not processed. Nothing was charged.",
			"Go back to the shop you came from and open the payment page again."},
	})
}
