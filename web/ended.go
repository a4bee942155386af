package web

import (
	"net/http"

	"github.com/paygate/paygate"
)

// The pages of a session that can no longer be paid: expired or canceled
// (410: the page is gone), or complete (200: its receipt, paid or
// declined). Each says what happened and what the customer can do.

func (h *Handler) ended(w http.ResponseWriter, r *http.Request, s *paygate.Session, m *paygate.Merchant, p *paygate.Payment, st paygate.SessionStatus) {
	title := m.Title()
	switch {
	case s.Outcome == paygate.OutcomeApproved || s.Outcome == paygate.OutcomeDeclined:
		h.receiptPage(w, r, s, m, p)
	case st == paygate.SessionExpired:
		h.message(w, r, http.StatusGone, m, messagePage{
			Heading: "This payment page has expired",
			Text: []string{"It was not paid in time, so it was closed. Nothing was charged.",
				"Go back to " + title + " to start the payment again, or contact them if you need help."},
			Links: siteLink(m, s.ReturnURL),
		})
	case st == paygate.SessionCanceled:
		h.message(w, r, http.StatusGone, m, messagePage{
			Heading: "This payment was canceled",
			Text: []string{"You chose to go back to " + title + " without paying. Nothing was charged.",
				"To pay after all, start again from " + title + "'s site."},
			Links: siteLink(m, firstNonEmpty(s.CancelURL, m.CancelURL, s.ReturnURL)),
		})
	default:
		h.message(w, r, http.StatusGone, m, messagePage{
			Heading: "This payment has ended",
			Text:    []string{"This payment page can no longer be used. Contact " + title + " if you need help."},
			Links:   siteLink(m, s.ReturnURL),
		})
	}
}

// siteLink is a link to the merchant's site: the origin of one of its
// result URLs (always on one of its allowed origins).
func siteLink(m *paygate.Merchant, resultURL string) []link {
	o := paygate.URLOrigin(resultURL)
	if o == "" {
		return nil
	}
	return []link{{Label: "Return to " + m.Title(), URL: o + "/"}}
}

func firstNonEmpty(list ...string) string {
	for _, s := range list {
		if s != "" {
			return s
		}
	}
	return ""
}

type receiptPage struct {
	view
	Outcome              string
	Amount               money
	OrderID, Description string
	Confirmation         string
	Card                 string
	Date                 string
	Attempts             int
	// Pending: the merchant's site failed to take the outcome, which the
	// gateway keeps sending (the Web Proxy model).
	Pending bool
	Return  *link
}

// receiptPage shows a complete session: paid, with its confirmation
// number, or declined for good.
func (h *Handler) receiptPage(w http.ResponseWriter, r *http.Request, s *paygate.Session, m *paygate.Merchant, p *paygate.Payment) {
	page := &receiptPage{
		view:        view{Title: "Receipt – " + m.Title()},
		Outcome:     s.Outcome,
		Amount:      formatMoney(s.Amount, s.Currency),
		OrderID:     s.OrderID,
		Description: s.Description,
		Attempts:    s.Declines,
		Date:        s.CompletedAt.UTC().Format("2 January 2006, 15:04 UTC"),
	}
	if s.Outcome != paygate.OutcomeApproved {
		page.Title = "Payment declined – " + m.Title()
	}
	if p != nil {
		if s.Outcome == paygate.OutcomeApproved {
			page.Confirmation = p.ConfirmationNumber
		}
		if p.Card.Last4 != "" {
			page.Card = brandName(p.Card.Brand) + " ending in " + p.Card.Last4
		}
	}
	if s.Model == paygate.ModelProxy {
		page.Pending = h.deliveryPending(r, s)
		if l := siteLink(m, s.ReturnURL); l != nil {
			page.Return = &l[0]
		}
	} else {
		label := "Continue to " + m.Title()
		if s.Outcome != paygate.OutcomeApproved {
			label = "Return to " + m.Title()
		}
		page.Return = &link{Label: label, URL: sessionPath(s.ID) + "/continue"}
	}
	h.render(w, r, http.StatusOK, m, "receipt", page)
}

// deliveryPending reports whether the session's outcome is still queued
// for the merchant.
func (h *Handler) deliveryPending(r *http.Request, s *paygate.Session) bool {
	if h.Gateway.Deliveries == nil {
		return false
	}
	d, err := h.Gateway.Deliveries.SessionDelivery(r.Context(), s.ID)
	switch {
	case paygate.ErrorCode(err) == paygate.ENOTFOUND:
		return false
	case err != nil:
		h.Logger.Warn("load delivery", paygate.LogRequestID, requestID(r.Context()), "session_id", s.ID, paygate.LogError, err)
		return false
	}
	return d.Status == paygate.DeliveryPending
}

func brandName(brand string) string {
	switch brand {
	case paygate.BrandVisa:
		return "Visa"
	case paygate.BrandMastercard:
		return "Mastercard"
	case paygate.BrandAmex:
		return "American Express"
	case paygate.BrandDiscover:
		return "Discover"
	case paygate.BrandJCB:
		return "JCB"
	case paygate.BrandUnionPay:
		return "UnionPay"
	case paygate.BrandDiners:
		return "Diners Club"
	}
	return "Card"
}
