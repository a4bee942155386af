package web

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/paygate/paygate"
)

// The payment page of one session. Its URL is all the customer holds: the
// session's SecureID. A GET shows what the session is now (the form, the
// "being processed" page, or how it ended); a POST acts and then shows the
// outcome, or sends the browser on (POST-redirect-GET) to the page that
// shows it, so that a refresh never sends the card again.
//
// Each form carries the number of attempts the session had when it was
// rendered: a form posted again (a refresh of the page that answered it,
// the back button) no longer matches and is not paid; the domain's claim
// (PaySession) stops two submits at once.

// sessionPath is the payment page of a session.
func sessionPath(id string) string { return "/pay/" + id }

// nameCookie keeps the cardholder name typed before a decline, for the
// page that shows the decline.
const nameCookie = "paygate_name"

// validSessionID checks the form of a SecureID ("cs_" and 32 base32
// characters) before it is looked up.
func validSessionID(id string) bool {
	if len(id) != 35 || !strings.HasPrefix(id, "cs_") {
		return false
	}
	for _, c := range id[3:] {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z') {
			return false
		}
	}
	return true
}

// load loads the session the path names. When it cannot, it answers (the
// "not found" page, or the error page) and returns ok false.
func (h *Handler) load(w http.ResponseWriter, r *http.Request) (s *paygate.Session, m *paygate.Merchant, p *paygate.Payment, ok bool) {
	id := r.PathValue("id")
	if !validSessionID(id) {
		h.notFound(w, r)
		return nil, nil, nil, false
	}
	s, m, p, err := h.Gateway.PageSession(r.Context(), id)
	switch {
	case paygate.ErrorCode(err) == paygate.ENOTFOUND:
		h.notFound(w, r)
		return nil, nil, nil, false
	case err != nil:
		h.internalError(w, r, err)
		return nil, nil, nil, false
	}
	return s, m, p, true
}

func (h *Handler) now() time.Time { return h.Gateway.Clock.Now() }

// page serves GET /pay/{id}.
func (h *Handler) page(w http.ResponseWriter, r *http.Request) {
	s, m, p, ok := h.load(w, r)
	if !ok {
		return
	}
	switch st := s.StatusAt(h.now()); {
	case s.Paying:
		h.processing(w, r, s, m)
	case st == paygate.SessionOpen:
		f := formState{}
		if p != nil && s.Declines > 0 && !p.Approved() {
			f.notice, f.errors = declineNotice(p.DeclineCode, p.DeclineReason, paygate.MaxSessionDeclines-s.Declines)
			f.expMonth, f.expYear = fmt.Sprintf("%02d", p.Card.ExpMonth), strconv.Itoa(p.Card.ExpYear)
			if c, err := r.Cookie(nameCookie); err == nil {
				f.name, _ = url.QueryUnescape(c.Value)
			}
		}
		h.payForm(w, r, http.StatusOK, s, m, f)
	default:
		h.ended(w, r, s, m, p, st)
	}
}

// pay serves POST /pay/{id}: the card form.
func (h *Handler) pay(w http.ResponseWriter, r *http.Request) {
	form, ok := h.postForm(w, r)
	if !ok {
		return
	}
	s, m, p, ok := h.load(w, r)
	if !ok {
		return
	}
	switch st := s.StatusAt(h.now()); {
	case s.Paying:
		h.processing(w, r, s, m)
		return
	case s.Outcome == paygate.OutcomeApproved || s.Outcome == paygate.OutcomeDeclined:
		// A second submit of a form already paid (a double click whose
		// first answer the browser dropped): the same outcome again.
		h.finish(w, r, s, m, p)
		return
	case st != paygate.SessionOpen, form.Get("attempt") != strconv.Itoa(s.Attempts):
		h.seeOther(w, r, sessionPath(s.ID))
		return
	}
	f := formState{name: form.Get("name"), expMonth: form.Get("exp_month"), expYear: form.Get("exp_year")}
	card := paygate.Card{Number: form.Get("number"), CVC: strings.TrimSpace(form.Get("cvc")), Name: strings.TrimSpace(f.name),
		ExpMonth: atoi(f.expMonth), ExpYear: atoi(f.expYear)}
	if err := card.Validate(h.now(), true); err != nil {
		h.retry(w, r, s, m, f, err)
		return
	}
	s2, p2, err := h.Gateway.PaySession(r.Context(), s.ID, atoi(form.Get("attempt")), card)
	card.Number, card.CVC = "", ""
	switch {
	case errors.Is(err, paygate.ErrStaleForm):
		h.seeOther(w, r, sessionPath(s.ID))
	case errors.Is(err, paygate.ErrSessionPaying):
		h.processing(w, r, s2, m)
	case s2 != nil && (s2.Outcome == paygate.OutcomeApproved || s2.Outcome == paygate.OutcomeDeclined):
		h.finish(w, r, s2, m, p2)
	case s2 != nil && paygate.ErrorCode(err) == paygate.EDECLINED:
		// Post, redirect, get: the decline shows on the page's own URL
		// (from the session's last payment), so that neither a refresh
		// nor the back button later meets a form to post again. The name
		// typed waits in a cookie of this page (not card data); the
		// expiry comes back from the declined payment.
		if f.name != "" {
			http.SetCookie(w, &http.Cookie{Name: nameCookie, Value: url.QueryEscape(keepName(f.name)), Path: sessionPath(s.ID),
				MaxAge: int(paygate.DefaultSessionLifetime / time.Second), HttpOnly: true, Secure: h.TLS, SameSite: http.SameSiteLaxMode})
		}
		h.seeOther(w, r, sessionPath(s.ID))
	case err == nil, paygate.ErrorCode(err) == paygate.ECONFLICT:
		h.seeOther(w, r, sessionPath(s.ID))
	case s2 != nil && paygate.ErrorCode(err) != paygate.EINTERNAL:
		h.retry(w, r, s2, m, f, err)
	default:
		// The payment may have been made and not yet recorded on the
		// session: the page will say, once recovery has settled it.
		h.logError(r, err)
		page := h.somethingWrong(r)
		page.Text = []string{"We could not confirm your payment just now. Please don't pay again before you check its status."}
		page.Links = []link{{Label: "Check the status of my payment", URL: sessionPath(s.ID)}}
		h.message(w, r, http.StatusInternalServerError, m, page)
	}
}

func declineCode(p *paygate.Payment, err error) string {
	var e *paygate.Error
	if errors.As(err, &e) && e.DeclineCode != "" {
		return e.DeclineCode
	}
	if p != nil {
		return p.DeclineCode
	}
	return ""
}

// retry shows the form again after an error that used no attempt: a field
// the customer mistyped (named next to it), or anything else.
func (h *Handler) retry(w http.ResponseWriter, r *http.Request, s *paygate.Session, m *paygate.Merchant, f formState, err error) {
	var e *paygate.Error
	if !errors.As(err, &e) {
		h.logError(r, err)
		f.notice = &notice{Kind: "error", Title: "Something went wrong",
			Text: []string{"Your card was not charged. Please try again.",
				"If it keeps happening, contact " + m.Title() + " and give them the reference " + requestID(r.Context()) + "."}}
		h.payForm(w, r, http.StatusInternalServerError, s, m, f)
		return
	}
	if field, ok := formFields[e.Param]; ok {
		f.errors = map[string]string{field: e.Message}
		f.focus = field
		h.payForm(w, r, http.StatusUnprocessableEntity, s, m, f)
		return
	}
	f.notice = &notice{Kind: "error", Title: "Your payment could not be made", Text: []string{e.Message}}
	h.payForm(w, r, http.StatusBadRequest, s, m, f)
}

// formFields maps the parameters of a card error to the form's fields.
var formFields = map[string]string{
	"card[number]":    "number",
	"card[exp_month]": "exp_month",
	"card[exp_year]":  "exp_year",
	"card[cvc]":       "cvc",
	"card[name]":      "name",
}

// cancel serves POST /pay/{id}/cancel: back to the merchant without paying.
func (h *Handler) cancel(w http.ResponseWriter, r *http.Request) {
	if _, ok := h.postForm(w, r); !ok {
		return
	}
	_, err := h.Gateway.CancelSession(r.Context(), r.PathValue("id"))
	switch {
	case paygate.ErrorCode(err) == paygate.ENOTFOUND:
		h.notFound(w, r)
		return
	case err != nil && !errors.Is(err, paygate.ErrSessionPaying) && paygate.ErrorCode(err) != paygate.ECONFLICT:
		h.internalError(w, r, err)
		return
	}
	s, m, p, ok := h.load(w, r)
	if !ok {
		return
	}
	switch {
	case s.Paying:
		h.processing(w, r, s, m)
	case s.Outcome == paygate.OutcomeCanceled:
		h.finish(w, r, s, m, p)
	default: // paid or expired meanwhile: the page says so
		h.seeOther(w, r, sessionPath(s.ID))
	}
}

// resume serves GET /pay/{id}/continue, where the "being processed" page
// goes: once the session has ended, the browser goes on as it would have
// from the submit whose answer it dropped.
func (h *Handler) resume(w http.ResponseWriter, r *http.Request) {
	s, m, p, ok := h.load(w, r)
	if !ok {
		return
	}
	switch {
	case s.Paying:
		h.processing(w, r, s, m)
	case s.Outcome != "":
		h.finish(w, r, s, m, p)
	default:
		h.seeOther(w, r, sessionPath(s.ID))
	}
}

// receipt serves GET /pay/{id}/receipt.
func (h *Handler) receipt(w http.ResponseWriter, r *http.Request) {
	s, m, p, ok := h.load(w, r)
	if !ok {
		return
	}
	switch st := s.StatusAt(h.now()); {
	case s.Paying:
		h.processing(w, r, s, m)
	case st == paygate.SessionOpen:
		h.seeOther(w, r, sessionPath(s.ID))
	default:
		h.ended(w, r, s, m, p, st)
	}
}

// finish sends the session's outcome on: in the redirect model, a 303 to
// the merchant's signed result URL; in the proxy model, the merchant's
// page relayed (relay.go). Without a result URL it can sign (the merchant
// removed its signing secrets) the customer gets the gateway's own page.
func (h *Handler) finish(w http.ResponseWriter, r *http.Request, s *paygate.Session, m *paygate.Merchant, p *paygate.Payment) {
	if s.Model == paygate.ModelProxy {
		if r.Method == http.MethodPost {
			// Post, redirect, get: the merchant's page is relayed on
			// the GET, so that Back or a refresh never posts the card
			// form again.
			h.seeOther(w, r, sessionPath(s.ID)+"/continue")
			return
		}
		h.relay(w, r, s, m, p)
		return
	}
	target, err := h.Gateway.ResultURL(r.Context(), m, s, p)
	if err != nil {
		h.logError(r, err)
		h.ended(w, r, s, m, p, s.StatusAt(h.now()))
		return
	}
	h.seeOther(w, r, target)
}

func (h *Handler) seeOther(w http.ResponseWriter, r *http.Request, target string) {
	w.Header().Set("Location", target)
	w.WriteHeader(http.StatusSeeOther)
}

// postForm reads a posted form (bounded) and checks its CSRF token: on a
// failure it answers (400, 403) and returns ok false.
func (h *Handler) postForm(w http.ResponseWriter, r *http.Request) (form url.Values, ok bool) {
	r.Body = http.MaxBytesReader(w, r.Body, MaxFormBytes)
	if err := r.ParseForm(); err != nil {
		h.message(w, r, http.StatusBadRequest, nil, messagePage{Kind: "error", Heading: "The form could not be read",
			Text: []string{"Nothing was charged. Go back to the payment page and try again."}})
		return nil, false
	}
	id := r.PathValue("id")
	if !validSessionID(id) {
		h.notFound(w, r)
		return nil, false
	}
	if !h.csrfValid(id, r.PostForm.Get("csrf_token")) {
		h.forbidden(w, r)
		return nil, false
	}
	return r.PostForm, true
}

func atoi(s string) int {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || n < 0 {
		return 0
	}
	return n
}

// formState is what the form shows again: what the customer typed (never
// the card number or the CVC) and what went wrong.
type formState struct {
	name, expMonth, expYear string
	errors                  map[string]string // by field name
	focus                   string
	notice                  *notice
}

type notice struct {
	Kind  string // "decline", "error"
	Title string
	Text  []string
}

type payPage struct {
	view
	Amount               money
	OrderID, Description string
	Action, CancelAction string
	CSRF                 string
	Attempt              int
	Name, ExpMonth       string
	ExpYear              string
	Errors               map[string]string
	Focus                string
	Notice               *notice
	TriesLeft            int  // after a decline
	ShowTries            bool // in the fine print, unless the decline's notice says it
	MinutesLeft          int
}

// payForm renders the card form.
func (h *Handler) payForm(w http.ResponseWriter, r *http.Request, status int, s *paygate.Session, m *paygate.Merchant, f formState) {
	left := int(math.Ceil(s.ExpiresAt.Sub(h.now()).Minutes()))
	page := &payPage{
		view:         view{Title: "Pay " + m.Title()},
		Amount:       formatMoney(s.Amount, s.Currency),
		OrderID:      s.OrderID,
		Description:  s.Description,
		Action:       sessionPath(s.ID),
		CancelAction: sessionPath(s.ID) + "/cancel",
		CSRF:         h.csrfToken(s.ID),
		Attempt:      s.Attempts,
		Name:         keepName(f.name),
		ExpMonth:     keepDigits(f.expMonth, 2),
		ExpYear:      keepDigits(f.expYear, 4),
		Errors:       f.errors,
		Focus:        f.focus,
		Notice:       f.notice,
		MinutesLeft:  max(left, 1),
	}
	if s.Declines > 0 {
		page.TriesLeft = paygate.MaxSessionDeclines - s.Declines
		page.ShowTries = f.notice == nil || f.notice.Kind != "decline"
	}
	if page.Focus == "" {
		for _, field := range []string{"number", "exp_month", "exp_year", "cvc", "name"} {
			if f.errors[field] != "" {
				page.Focus = field
				break
			}
		}
	}
	if f.notice != nil {
		page.Title = "Payment not completed – " + page.Title
	}
	h.render(w, r, status, m, "pay", page)
}

// keepName returns the name typed, unless it may hold a card number (a
// number typed in the wrong field is never shown back).
func keepName(s string) string {
	if len(s) > 100 || paygate.RedactPANs(s) != s || paygate.CheckFreeText("name", s) != nil {
		return ""
	}
	return s
}

// keepDigits returns s if it is at most n digits.
func keepDigits(s string, n int) string {
	s = strings.TrimSpace(s)
	if len(s) > n || strings.Trim(s, "0123456789") != "" {
		return ""
	}
	return s
}

// declineNotice says that the card was declined and how many tries are
// left; a decline about one field (the CVC, the number, the expiry) is
// named next to it as well. Reasons a fraudster would learn from (lost,
// stolen, fraud) are told as a plain decline.
func declineNotice(code, reason string, triesLeft int) (*notice, map[string]string) {
	var errs map[string]string
	switch code {
	case "incorrect_cvc":
		errs = map[string]string{"cvc": reason}
	case "invalid_number":
		errs = map[string]string{"number": reason}
	case "expired_card":
		errs = map[string]string{"exp_year": reason}
	case "lost_card", "stolen_card", "pickup_card", "suspected_fraud", "restricted_card", "call_issuer", "":
		reason = "Your bank did not approve the payment. Contact your bank, or use another card."
	}
	n := &notice{Kind: "decline", Title: "Your card was declined", Text: []string{reason}}
	switch {
	case triesLeft == 1:
		n.Text = append(n.Text, "Your card was not charged. You can try once more, with this card or another.")
	case triesLeft > 1:
		n.Text = append(n.Text, "Your card was not charged. You can try again, with this card or another: "+
			strconv.Itoa(triesLeft)+" tries left.")
	}
	return n, errs
}

// processing is the page of a session whose payment is on its way: it
// looks again every 2 seconds (a meta refresh) and then goes on.
func (h *Handler) processing(w http.ResponseWriter, r *http.Request, s *paygate.Session, m *paygate.Merchant) {
	h.render(w, r, http.StatusOK, m, "processing", &struct {
		view
		Amount               money
		OrderID, Description string
	}{
		view:   view{Title: "Processing your payment – " + m.Title(), Refresh: sessionPath(s.ID) + "/continue"},
		Amount: formatMoney(s.Amount, s.Currency), OrderID: s.OrderID, Description: s.Description,
	})
}
