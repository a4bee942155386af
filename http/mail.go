package http

import (
	"net/http"
	"strconv"
	"time"

	"github.com/paygate/paygate"
)

// mailJSON is an e-mail confirmation as the API shows it: whom it went
// (or goes) to, what it says, and where its sending stands. Nothing of
// the card beyond its last four digits is in it.
type mailJSON struct {
	ID         string     `json:"id"`
	Object     string     `json:"object"`
	Kind       string     `json:"kind"`      // receipt, refund_notice, void_notice, merchant_copy
	Recipient  string     `json:"recipient"` // customer or merchant
	To         string     `json:"to"`
	PaymentID  string     `json:"payment_id"`
	RefundID   string     `json:"refund_id,omitempty"`
	Subject    string     `json:"subject"`
	Text       string     `json:"text"`
	HTML       string     `json:"html"`
	Status     string     `json:"status"` // queued, sent, failed, kept
	Attempts   int        `json:"attempts"`
	NextAt     *time.Time `json:"next_at,omitempty"` // while queued: when it is tried next
	LastError  string     `json:"last_error,omitempty"`
	SentAt     *time.Time `json:"sent_at,omitempty"`
	CreatedAt  time.Time  `json:"created_at"`
	MerchantID string     `json:"merchant_id"`
}

func newMailJSON(m *paygate.Mail) mailJSON {
	j := mailJSON{ID: m.ID, Object: "mail", Kind: m.Kind, Recipient: m.Recipient, To: m.To, PaymentID: m.PaymentID,
		RefundID: m.RefundID, Subject: m.Subject, Text: m.Text, HTML: m.HTML, Status: m.Status, Attempts: m.Attempts,
		LastError: m.LastError, SentAt: timePtr(m.SentAt), CreatedAt: m.CreatedAt, MerchantID: m.MerchantID}
	if m.Status == paygate.MailQueued {
		j.NextAt = timePtr(m.NextAt)
	}
	return j
}

// mailListParams are the query parameters of GET /v1/mail.
var mailListParams = []string{"limit", "starting_after", "status", "payment_id"}

// listMail answers GET /v1/mail: the merchant's e-mail confirmations,
// newest first (mail kept because no SMTP server is configured included).
func (s *Server) listMail(r *http.Request, m *paygate.Merchant, _ []byte) (any, error) {
	q := r.URL.Query()
	for _, name := range mailListParams {
		if q.Has(name) && q.Get(name) == "" {
			return nil, paygate.ParamErrorf(paygate.EMALFORMED, name, "Parameter %q is empty; leave it out not to filter by it.", name)
		}
	}
	f := paygate.MailFilter{Status: q.Get("status"), PaymentID: q.Get("payment_id"), StartingAfter: q.Get("starting_after")}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			return nil, paygate.ParamErrorf(paygate.EMALFORMED, "limit", "Limit must be an integer between 1 and 100.")
		}
		f.Limit = n
	}
	list, more, err := s.Gateway.ListMail(r.Context(), m, f)
	if err != nil {
		return nil, err
	}
	data := make([]mailJSON, 0, len(list))
	for _, x := range list {
		data = append(data, newMailJSON(x))
	}
	return listJSON{Object: "list", Data: data, HasMore: more}, nil
}

func (s *Server) getMail(r *http.Request, m *paygate.Merchant, _ []byte) (any, error) {
	x, err := s.Gateway.MailOf(r.Context(), m, r.PathValue("id"))
	if err != nil {
		return nil, err
	}
	return newMailJSON(x), nil
}
