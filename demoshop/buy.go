package demoshop

import (
	"net/http"
	"net/url"

	"github.com/paygate/paygate/client"
)

// home shows the item and the four ways to pay for it. The signed form
// is signed afresh at each rendering, for an order id of its own.
func (s *Shop) home(w http.ResponseWriter, r *http.Request) {
	v := homeView{view: s.view("A " + ItemName)}
	v.FormAction = s.GatewayURL + "/pay"
	if s.MerchantID == "" || s.SigningSecret == "" {
		v.FormError = "The shop has no signing secret yet: run Setup first."
	} else {
		fields, err := client.SignForm(client.FormParams{
			MerchantID:  s.MerchantID,
			Amount:      ItemPrice,
			Currency:    ItemCurrency,
			OrderID:     newOrderID(FlowForm),
			Description: ItemName,
			ReturnURL:   s.URL + "/return",
			Model:       client.ModelRedirect,
		}, s.now(), s.SigningSecret)
		if err != nil {
			s.Logger.Error("sign the payment form", "error", err)
			v.FormError = "The shop could not sign the payment form."
		}
		v.FormFields = fields
	}
	s.render(w, http.StatusOK, "home", v)
}

// homeView is the home page.
type homeView struct {
	view
	FormAction string
	FormFields url.Values // the signed form's hidden fields
	FormError  string
}

// buy starts a hosted payment session in model for a new order and sends
// the browser to the gateway's page. The Web Redirect's result comes back
// to /return with the browser; the Web Proxy's is fetched by the gateway
// from /proxy/result (a cancel too: the session's cancel URL).
func (s *Shop) buy(model string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id := newOrderID(model)
		p := client.SessionParams{
			Amount:         ItemPrice,
			Currency:       ItemCurrency,
			OrderID:        id,
			Description:    ItemName,
			ReturnURL:      s.URL + "/return",
			Model:          model,
			IdempotencyKey: "demo-shop/" + id,
		}
		if model == client.ModelProxy {
			p.ReturnURL = s.URL + "/proxy/result"
			p.CancelURL = p.ReturnURL
		}
		sess, err := s.Client.StartSession(r.Context(), p)
		if err != nil {
			s.Logger.Error("start a payment session", "order_id", id, "model", model, "error", err)
			s.fail(w, http.StatusBadGateway, customerMessage(err))
			return
		}
		s.orderFor(sess.ID, func() Order {
			return Order{ID: id, Flow: model, SessionID: sess.ID, Amount: sess.Amount, Currency: sess.Currency, CreatedAt: s.now()}
		})
		s.Logger.Info("payment session started", "order_id", id, "session_id", sess.ID, "model", model)
		http.Redirect(w, r, sess.URL, http.StatusSeeOther)
	}
}
