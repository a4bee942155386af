package http

import (
	"net/http"
	"time"

	"github.com/paygate/paygate"
)

// sessionRequest is StartSession's body.
type sessionRequest struct {
	Amount        *int64            `json:"amount"`
	Currency      string            `json:"currency"`
	OrderID       string            `json:"order_id"`
	Description   string            `json:"description"`
	ReturnURL     string            `json:"return_url"`
	CancelURL     string            `json:"cancel_url"`
	Model         string            `json:"model"`
	Capture       *bool             `json:"capture"`
	CustomerEmail string            `json:"customer_email"`
	Metadata      map[string]string `json:"metadata"`
}

// sessionJSON is a hosted payment session as the API shows it.
type sessionJSON struct {
	ID            string            `json:"id"`
	Object        string            `json:"object"`
	URL           string            `json:"url"`
	Status        string            `json:"status"`
	Outcome       string            `json:"outcome,omitempty"`
	Sequence      int               `json:"sequence"`
	Model         string            `json:"model"`
	Amount        int64             `json:"amount"`
	Currency      string            `json:"currency"`
	OrderID       string            `json:"order_id,omitempty"`
	Description   string            `json:"description,omitempty"`
	ReturnURL     string            `json:"return_url"`
	CancelURL     string            `json:"cancel_url,omitempty"`
	Capture       bool              `json:"capture"`
	CustomerEmail string            `json:"customer_email,omitempty"`
	Metadata      map[string]string `json:"metadata,omitempty"`
	Attempts      int               `json:"attempts"`
	Payment       *paymentJSON      `json:"payment,omitempty"`
	ExpiresAt     *time.Time        `json:"expires_at,omitempty"`
	CreatedAt     *time.Time        `json:"created_at,omitempty"`
	CompletedAt   *time.Time        `json:"completed_at,omitempty"`
	AckedAt       *time.Time        `json:"acked_at,omitempty"`
}

func (s *Server) newSessionJSON(ss *paygate.Session, p *paygate.Payment) sessionJSON {
	out := sessionJSON{
		ID: ss.ID, Object: "session", URL: s.PageURL(ss.ID), Status: string(ss.StatusAt(s.Gateway.Clock.Now())),
		Outcome: ss.Outcome, Sequence: ss.Sequence, Model: ss.Model, Amount: ss.Amount, Currency: ss.Currency.Code,
		OrderID: ss.OrderID, Description: ss.Description, ReturnURL: ss.ReturnURL, CancelURL: ss.CancelURL,
		Capture: ss.Capture, CustomerEmail: ss.CustomerEmail, Metadata: ss.Metadata, Attempts: ss.Attempts,
		ExpiresAt: timePtr(ss.ExpiresAt), CreatedAt: timePtr(ss.CreatedAt), CompletedAt: timePtr(ss.CompletedAt),
		AckedAt: timePtr(ss.AckedAt),
	}
	if p != nil {
		pj := newPaymentJSON(p)
		out.Payment = &pj
	}
	return out
}

// PageURL is the payment page of a session, as the customer's browser
// reaches it.
func (s *Server) PageURL(id string) string {
	base := s.PublicURL
	if base == "" {
		base = s.URL()
	}
	return base + "/pay/" + id
}

func (s *Server) startSession(r *http.Request, m *paygate.Merchant, body []byte) (any, error) {
	var req sessionRequest
	if err := decode(body, &req, false); err != nil {
		return nil, err
	}
	if req.Amount == nil {
		return nil, paygate.ParamErrorf(paygate.EMISSING, "amount", "Amount is required (an integer in minor units).")
	}
	// The settings as stored, not as the key cache last saw them.
	m, err := s.Merchants.Merchant(r.Context(), m.ID)
	if err != nil {
		return nil, err
	}
	ss, err := s.Gateway.StartSession(r.Context(), m, paygate.SessionRequest{
		Amount: *req.Amount, Currency: req.Currency, OrderID: req.OrderID, Description: req.Description,
		ReturnURL: req.ReturnURL, CancelURL: req.CancelURL, Model: req.Model, Capture: req.Capture,
		CustomerEmail: req.CustomerEmail, Metadata: req.Metadata,
	})
	if err != nil {
		return nil, err
	}
	return s.newSessionJSON(ss, nil), nil
}

func (s *Server) getSession(r *http.Request, m *paygate.Merchant, _ []byte) (any, error) {
	ss, p, err := s.Gateway.SessionResult(r.Context(), m, r.PathValue("id"))
	if err != nil {
		return nil, err
	}
	return s.newSessionJSON(ss, p), nil
}

func (s *Server) ackSession(r *http.Request, m *paygate.Merchant, body []byte) (any, error) {
	var req struct{}
	if err := decode(body, &req, true); err != nil {
		return nil, err
	}
	ss, p, err := s.Gateway.AckSession(r.Context(), m, r.PathValue("id"))
	if err != nil {
		return nil, err
	}
	return s.newSessionJSON(ss, p), nil
}
