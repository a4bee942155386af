package web

import (
	"errors"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/paygate/paygate"
)

// form serves GET and POST /pay: a merchant's page sends the customer here
// with a signed form (paygate.FormFields), which opens a session; the
// browser goes on to its payment page. The form comes from the merchant's
// site (it is cross-site by design): its signature, not a CSRF token,
// vouches for it. Whatever is wrong with it, no session is opened and the
// page says so twice: in words for the customer, and in the gateway's
// error message, folded away, for the merchant's developer.
func (h *Handler) form(w http.ResponseWriter, r *http.Request) {
	form, ok := h.signedForm(w, r)
	if !ok {
		return
	}
	if len(form) == 0 {
		h.notFound(w, r)
		return
	}
	s, m, err := h.Gateway.StartFormSession(r.Context(), form)
	var e *paygate.Error
	switch {
	case errors.As(err, &e):
		h.formError(w, r, form, m, e)
	case err != nil:
		h.internalError(w, r, err)
	default:
		h.seeOther(w, r, sessionPath(s.ID))
	}
}

// signedForm reads the form: a GET's query, or a POST's body alone
// (url-encoded or multipart).
func (h *Handler) signedForm(w http.ResponseWriter, r *http.Request) (url.Values, bool) {
	if r.Method != http.MethodPost {
		return r.URL.Query(), true
	}
	r.Body = http.MaxBytesReader(w, r.Body, MaxFormBytes)
	var err error
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt == "multipart/form-data" {
		err = r.ParseMultipartForm(MaxFormBytes)
		if err == nil && r.MultipartForm != nil && len(r.MultipartForm.File) > 0 {
			err = errors.New("files in the payment form")
		}
	} else {
		err = r.ParseForm()
	}
	if err != nil {
		h.message(w, r, http.StatusBadRequest, nil, messagePage{Kind: "error", Heading: "This payment request could not be read",
			Text:   []string{"Nothing was charged. Go back to the shop and try again, or contact them."},
			Detail: "The body of POST /pay must be an HTML form (application/x-www-form-urlencoded or multipart/form-data, no files) of at most 64 KiB."})
		return nil, false
	}
	return r.PostForm, true
}

// formError shows what is wrong with a signed form.
func (h *Handler) formError(w http.ResponseWriter, r *http.Request, form url.Values, m *paygate.Merchant, e *paygate.Error) {
	shop := "the shop"
	if m != nil {
		shop = m.Title()
	}
	page := messagePage{Kind: "error", Detail: e.Message}
	param := e.Param
	if ts, err := strconv.ParseInt(form.Get("timestamp"), 10, 64); param == "timestamp" && err == nil && time.Unix(ts, 0).After(h.now()) {
		param = "" // signed in the future: the merchant's clock, not the customer's delay
	}
	switch param {
	case "timestamp":
		page.Heading = "This payment link has expired"
		page.Text = []string{"Payment requests are valid for a limited time. Nothing was charged.",
			"Go back to " + shop + " and start the payment again."}
	case "signature":
		page.Heading = "This payment request could not be verified"
		page.Text = []string{"It may have been changed on its way here, so it was not accepted. Nothing was charged.",
			"Go back to " + shop + " and start the payment again, or contact them."}
	case "merchant_id":
		page.Heading = "We don't know this shop"
		page.Text = []string{"This payment request names a shop that does not take payments here. Nothing was charged.",
			"Go back to the shop you came from and contact them."}
	case "return_url", "cancel_url":
		page.Heading = "This payment request is not valid"
		page.Text = []string{"It would send you back to an address " + shop + " has not registered, so it was not accepted. Nothing was charged.",
			"Go back to " + shop + " and contact them."}
	default:
		page.Heading = "This payment request is not valid"
		page.Text = []string{"Something in the payment request from " + shop + " is missing or wrong. Nothing was charged.",
			"Go back to " + shop + " and try again, or contact them."}
	}
	if m != nil {
		site := ""
		if ret := form.Get("return_url"); m.CheckURL("return_url", ret) == nil {
			site = paygate.URLOrigin(ret)
		} else if origins := merchantOrigins(m); len(origins) > 0 {
			site = origins[0]
		}
		if site != "" {
			page.Links = []link{{Label: "Return to " + shop, URL: site + "/"}}
		}
	}
	h.message(w, r, http.StatusBadRequest, m, page)
}

// cardFieldNames are names a card's number, CVC or expiry goes by in a form.
var cardFieldNames = []string{"number", "cvc", "cvv", "csc", "exp_month", "exp_year", "pan", "card_number",
	"cardnumber", "cc-number", "cc-csc", "cc-exp", "card_expiration", "card_verification", "card[number]", "card[cvc]", "card[exp_month]", "card[exp_year]"}

// cardInURL reports whether a URL's query carries card data: a card
// field's name, or a value that holds a card number.
func cardInURL(u *url.URL) bool {
	if u.RawQuery == "" {
		return false
	}
	q, _ := url.ParseQuery(u.RawQuery)
	for k, vs := range q {
		for _, name := range cardFieldNames {
			if strings.EqualFold(k, name) {
				return true
			}
		}
		for _, v := range append(vs, k) {
			if paygate.CheckFreeText("q", v) != nil {
				return true
			}
		}
	}
	return false
}

// refuseCardInURL answers a GET that carries card data in its URL: the
// card form only ever posts. Neither the URL nor its query is logged.
func (h *Handler) refuseCardInURL(w http.ResponseWriter, r *http.Request) {
	h.message(w, r, http.StatusBadRequest, nil, messagePage{Kind: "error",
		Heading: "Card details don't belong in a web address",
		Text: []string{"This request carried card details in its address, so it was refused. Nothing was charged.",
			"Go back to the shop you came from, open the payment page again and type your card details in its form."},
		Detail: "Card numbers, CVCs and expiry dates are accepted only in the body of a POST from the payment page's own form, never in a URL."})
}
