package web

import (
	"errors"
	"mime"
	"net/http"
	"net/url"

	"github.com/paygate/paygate"
)

// The transparent redirect (seed 003): a merchant's own payment form posts
// the card from the customer's browser straight here (POST /tr). The form
// is cross-site by design: its hash, made with the merchant's access key,
// vouches for it, with its timestamp and its single use (no CSRF token,
// no cross-origin check). The answer is a 303 to the merchant's success or
// decline URL with the signed result (paygate.Gateway.TransparentRedirect)
// or, when the form cannot be trusted or the merchant has no URL, a page
// of the gateway's own. The card fields are read from the posted body
// only, handed to the gateway and dropped; a GET that carries them is
// refused before it gets here (withRequestID), and GET /tr is a 405.

// trPath is where a transparent redirect form posts.
const trPath = "/tr"

// trCardFields are the customer's card fields of a form.
var trCardFields = []string{"card_number", "card_expiration", "card_verification"}

// transparentRedirect serves POST /tr.
func (h *Handler) transparentRedirect(w http.ResponseWriter, r *http.Request) {
	form, ok := h.trForm(w, r)
	if !ok {
		return
	}
	res, err := h.Gateway.TransparentRedirect(r.Context(), form)
	for _, k := range trCardFields {
		delete(form, k)
	}
	var m *paygate.Merchant
	if res != nil {
		m = res.Merchant
	}
	var e *paygate.Error
	switch {
	case errors.As(err, &e):
		h.trRefused(w, r, m, e)
	case err != nil:
		h.internalError(w, r, err)
	case res.URL != "":
		h.seeOther(w, r, res.URL)
	default:
		h.trResultPage(w, r, res)
	}
}

// trForm reads the posted form: the body alone, url-encoded or multipart
// (no files), at most MaxFormBytes.
func (h *Handler) trForm(w http.ResponseWriter, r *http.Request) (url.Values, bool) {
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
	if err != nil || len(r.PostForm) == 0 {
		h.message(w, r, http.StatusBadRequest, nil, messagePage{Kind: "error", Heading: "This payment request could not be read",
			Text:   []string{"Nothing was charged. Go back to the shop and try again, or contact them."},
			Detail: "The body of POST /tr must be an HTML form (application/x-www-form-urlencoded or multipart/form-data, no files) of at most 64 KiB."})
		return nil, false
	}
	return r.PostForm, true
}

// trRefused shows why a form was refused, nothing charged: in words for
// the customer, and the gateway's message, folded away, for the
// merchant's developer. Nothing of what the form sent is shown.
func (h *Handler) trRefused(w http.ResponseWriter, r *http.Request, m *paygate.Merchant, e *paygate.Error) {
	shop := "the shop"
	if m != nil {
		shop = m.Title()
	}
	log := h.Logger.With(paygate.LogRequestID, requestID(r.Context()), "code", e.Code, "param", e.Param)
	if m != nil {
		log = log.With(paygate.LogMerchantID, m.ID)
	}
	page := messagePage{Kind: "error", Detail: e.Message}
	status := http.StatusBadRequest
	switch e.Code {
	case paygate.ESECURITY:
		log.Warn("transparent redirect: security violation")
		status = http.StatusForbidden
		page.Heading = "Security Violation"
		page.Text = []string{"This payment form was refused: it was not built the way the payment gateway requires, and sent something it must never send. Nothing was charged.",
			"Go back to " + shop + " and contact them."}
	case paygate.EFORBIDDEN:
		log.Info("transparent redirect refused")
		status = http.StatusForbidden
		page.Heading = "This payment request could not be verified"
		page.Text = []string{"It may have been changed on its way here, so it was not accepted. Nothing was charged.",
			"Go back to " + shop + " and start the payment again, or contact them."}
		if e.Param == "account_id" {
			page.Heading = "We don't know this shop"
			page.Text = []string{"This payment form names a shop that does not take payments here. Nothing was charged.",
				"Go back to the shop you came from and contact them."}
		}
	case paygate.ECONFLICT:
		log.Info("transparent redirect refused")
		status = http.StatusConflict
		page.Heading = "This shop cannot take this payment yet"
		page.Text = []string{shop + " has not finished setting up its payments. Nothing was charged.",
			"Go back to " + shop + " and contact them."}
	default:
		log.Info("transparent redirect refused")
		page.Heading = "This payment request is not valid"
		page.Text = []string{"Something in the payment form from " + shop + " is wrong. Nothing was charged.",
			"Go back to " + shop + " and try again, or contact them."}
		if e.Param == "success_url" || e.Param == "decline_url" {
			page.Text[0] = "It would send you to an address " + shop + " has not registered, so it was not accepted. Nothing was charged."
		}
	}
	if origins := merchantOrigins(m); len(origins) > 0 {
		page.Links = []link{{Label: "Return to " + shop, URL: origins[0] + "/"}}
	}
	h.message(w, r, status, m, page)
}

// trResultPage is the gateway's own page of a form's outcome, for a
// merchant with no success or decline URL at all.
func (h *Handler) trResultPage(w http.ResponseWriter, r *http.Request, res *paygate.TRResult) {
	m, p := res.Merchant, res.Payment
	var back *link
	if origins := merchantOrigins(m); len(origins) > 0 {
		back = &link{Label: "Return to " + m.Title(), URL: origins[0] + "/"}
	}
	switch {
	case res.Pending:
		page := messagePage{Heading: "Your payment is being processed",
			Text: []string{"This payment was sent a moment ago and its answer has not arrived yet. Please don't pay again: " +
				m.Title() + " will be told the result."}}
		if back != nil {
			page.Links = []link{*back}
		}
		h.message(w, r, http.StatusAccepted, m, page)
	case p != nil && (res.Err == nil || paygate.ErrorCode(res.Err) == paygate.EDECLINED):
		page := &receiptPage{
			view:    view{Title: "Receipt – " + m.Title()},
			Outcome: paygate.OutcomeApproved,
			Amount:  formatMoney(p.Amount, p.Currency), OrderID: p.OrderID, Description: p.Description,
			Date:   p.UpdatedAt.UTC().Format("2 January 2006, 15:04 UTC"),
			Return: back,
		}
		status := http.StatusOK
		if p.Card.Last4 != "" {
			page.Card = brandName(p.Card.Brand) + " ending in " + p.Card.Last4
		}
		if res.Err == nil {
			page.Confirmation = p.ConfirmationNumber
		} else {
			page.Title, page.Outcome, page.Attempts, status = "Payment declined – "+m.Title(), paygate.OutcomeDeclined, 1, http.StatusPaymentRequired
		}
		h.render(w, r, status, m, "receipt", page)
	default:
		var e *paygate.Error
		if !errors.As(res.Err, &e) {
			e = &paygate.Error{Code: paygate.EINTERNAL, Message: "The payment could not be made."}
		}
		page := messagePage{Kind: "error", Heading: "Your payment could not be made",
			Text:   []string{e.Message, "Nothing was charged. Go back to " + m.Title() + " and try again."},
			Detail: e.Message}
		if back != nil {
			page.Links = []link{*back}
		}
		h.message(w, r, http.StatusBadRequest, m, page)
	}
}
