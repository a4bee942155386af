package demoshop

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"net/http"
	"strings"
)

//go:embed template/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// pages are the templates, each parsed with the layout.
var pages = func() map[string]*template.Template {
	funcs := template.FuncMap{"money": money, "brand": brand}
	m := map[string]*template.Template{}
	for _, name := range []string{"home", "direct", "tr", "result", "orders", "message"} {
		m[name] = template.Must(template.New("layout.html").Funcs(funcs).
			ParseFS(templateFS, "template/layout.html", "template/"+name+".html"))
	}
	return m
}()

// view is what every page has.
type view struct {
	Title string
	// Base is the shop's base URL: links are absolute, so that they also
	// lead back to the shop from the page the gateway relays (Web Proxy).
	Base  string
	Model model  // the model the page shows, if one
	Item  string // the item and its price
	Price string
}

func (s *Shop) view(title string) view {
	return view{Title: title, Base: s.URL, Item: ItemName, Price: money(ItemPrice, ItemCurrency)}
}

// model is one way to take a card, and what it means for the merchant.
type model struct {
	Flow  string
	Name  string
	About string
	Scope string // the merchant's PCI DSS scope
	Class string // the scope's style: "scope-a", "scope-aep", "scope-d"
}

const (
	scopeA   = "PCI DSS scope: SAQ A. The card never touches this shop: it is typed on the gateway's page, so the merchant's scope is the smallest there is."
	scopeD   = "PCI DSS scope: SAQ D. The raw card number passes through this shop's server on its way to the gateway, so the merchant's whole server is in scope."
	scopeAEP = "PCI DSS scope: SAQ A-EP. The card goes from your browser straight to the gateway and never touches this shop's server, but the shop serves the page that takes it: whoever could change that page could take the card, so the shop's site is in scope."
)

var models = map[string]model{
	FlowDirect: {FlowDirect, "Direct API",
		"You type the card on this shop's own form; the shop's server sends it to the gateway (client.CreatePayment) and has the answer at once.",
		scopeD, "scope-d"},
	FlowRedirect: {FlowRedirect, "Hosted payment page, Web Redirect",
		"You type the card on the gateway's page; the gateway then sends your browser back to this shop's /return with the signed result, which the shop verifies (client.VerifyRequest) and confirms with the gateway before it fulfils the order.",
		scopeA, "scope-a"},
	FlowProxy: {FlowProxy, "Hosted payment page, Web Proxy",
		"You type the card on the gateway's page; the gateway then fetches this shop's /proxy/result itself, server to server, with the signed result, and shows you the page the shop answers. Your browser never leaves the gateway.",
		scopeA, "scope-a"},
	FlowForm: {FlowForm, "Hosted page from a signed HTML form",
		"This shop's page posts a form signed with client.SignForm straight to the gateway's /pay, with no call from the shop's server; you type the card on the gateway's page and come back here with the signed result.",
		scopeA, "scope-a"},
	FlowTR: {FlowTR, "Transparent redirect",
		"You type the card on this shop's own form, but the form posts it from your browser straight to the gateway's /tr, with hidden fields the shop hashed with its access key (client.TransparentRedirectFields); the gateway sends your browser back to the shop's success or decline page with the signed result, which the shop verifies (client.VerifyTransparentRedirect) and confirms with the gateway.",
		scopeAEP, "scope-aep"},
}

// resultView is the page of an order's outcome.
type resultView struct {
	view
	Order   Order
	Proxied bool // relayed by the gateway (Web Proxy)
}

func (s *Shop) resultView(o Order) resultView {
	title := "Thank you"
	switch o.Outcome {
	case "declined":
		title = "Payment declined"
	case "canceled":
		title = "Payment canceled"
	}
	v := resultView{view: s.view(title), Order: o, Proxied: o.Flow == FlowProxy}
	v.Model = models[o.Flow]
	return v
}

// ordersPage lists the shop's orders.
func (s *Shop) ordersPage(w http.ResponseWriter, r *http.Request) {
	s.render(w, http.StatusOK, "orders", struct {
		view
		Orders []Order
	}{s.view("Orders"), s.Orders()})
}

// fail shows a page with message (in #error) and status.
func (s *Shop) fail(w http.ResponseWriter, status int, message string) {
	s.render(w, status, "message", struct {
		view
		Message string
	}{s.view(heading(status)), message})
}

// heading is the title of a page that says something went wrong.
func heading(status int) string {
	switch status {
	case http.StatusBadRequest:
		return "Payment result refused"
	case http.StatusNotFound:
		return "Page not found"
	case http.StatusConflict:
		return "Order not fulfilled"
	case http.StatusBadGateway:
		return "The payment gateway did not answer"
	case http.StatusServiceUnavailable:
		return "Result page unavailable"
	}
	return "Something went wrong"
}

// render executes a page into a buffer first, so that a template error
// is a clean 500.
func (s *Shop) render(w http.ResponseWriter, status int, name string, data any) {
	var b bytes.Buffer
	if err := pages[name].Execute(&b, data); err != nil {
		s.Logger.Error("render page", "page", name, "error", err)
		http.Error(w, "Internal error.", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(b.Bytes())
}

// money formats minor units: "$19.99", or "19.99 EUR" for other
// currencies (the shop sells in dollars; two decimals are assumed).
func money(amount int64, currency string) string {
	sign := ""
	if amount < 0 {
		sign, amount = "-", -amount
	}
	n := fmt.Sprintf("%d.%02d", amount/100, amount%100)
	if currency == "USD" {
		return sign + "$" + n
	}
	return sign + n + " " + currency
}

// brand names a card brand as people write it.
func brand(b string) string {
	switch b {
	case "":
		return "Card"
	case "visa":
		return "Visa"
	case "mastercard":
		return "Mastercard"
	case "amex":
		return "American Express"
	case "jcb":
		return "JCB"
	case "unionpay":
		return "UnionPay"
	case "diners":
		return "Diners Club"
	}
	return strings.ToUpper(b[:1]) + b[1:]
}
