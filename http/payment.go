package http

import (
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/paygate/paygate"
)

// paymentTrace lists every message the payment exchanged with the card
// network (card numbers masked), for support.
func (s *Server) paymentTrace(r *http.Request, m *paygate.Merchant, _ []byte) (any, error) {
	p, err := s.Gateway.Payment(r.Context(), m, r.PathValue("id"))
	if err != nil {
		return nil, err
	}
	data := p.Trace
	if data == nil {
		data = []paygate.TraceEntry{}
	}
	return listJSON{Object: "list", Data: data}, nil
}

// cardRequest is a card as a merchant sends it.
type cardRequest struct {
	Number   string `json:"number"`
	ExpMonth int    `json:"exp_month"`
	ExpYear  int    `json:"exp_year"`
	CVC      string `json:"cvc"`
	Name     string `json:"name"`
}

func (c *cardRequest) card() *paygate.Card {
	if c == nil {
		return nil
	}
	return &paygate.Card{Number: c.Number, ExpMonth: c.ExpMonth, ExpYear: c.ExpYear, CVC: c.CVC, Name: c.Name}
}

type paymentRequest struct {
	Amount       *int64            `json:"amount"`
	Currency     string            `json:"currency"`
	Card         *cardRequest      `json:"card"`
	CardID       string            `json:"card_id"`
	Capture      *bool             `json:"capture"`
	Description  string            `json:"description"`
	OrderID      string            `json:"order_id"`
	Metadata     map[string]string `json:"metadata"`
	ReceiptEmail string            `json:"receipt_email"`
	RequireAck   *bool             `json:"require_ack"`
}

type cardJSON struct {
	Brand       string `json:"brand"`
	First6      string `json:"first6"`
	Last4       string `json:"last4"`
	ExpMonth    int    `json:"exp_month"`
	ExpYear     int    `json:"exp_year"`
	Fingerprint string `json:"fingerprint,omitempty"`
}

func newCardJSON(c paygate.CardSummary) cardJSON {
	return cardJSON{Brand: c.Brand, First6: c.First6, Last4: c.Last4, ExpMonth: c.ExpMonth, ExpYear: c.ExpYear, Fingerprint: c.Fingerprint}
}

type refundJSON struct {
	ID           string     `json:"id"`
	Object       string     `json:"object"`
	PaymentID    string     `json:"payment_id"`
	Amount       int64      `json:"amount"`
	Currency     string     `json:"currency"`
	Status       string     `json:"status"`
	Reason       string     `json:"reason,omitempty"`
	ResponseCode string     `json:"response_code,omitempty"`
	CreatedAt    *time.Time `json:"created_at,omitempty"`
}

func newRefundJSON(r *paygate.Refund) refundJSON {
	return refundJSON{ID: r.ID, Object: "refund", PaymentID: r.PaymentID, Amount: r.Amount, Currency: r.Currency.Code,
		Status: string(r.Status), Reason: r.Reason, ResponseCode: r.ResponseCode, CreatedAt: timePtr(r.CreatedAt)}
}

type paymentJSON struct {
	ID                 string            `json:"id"`
	Object             string            `json:"object"`
	Status             string            `json:"status"`
	Amount             int64             `json:"amount"`
	Currency           string            `json:"currency"`
	AmountCaptured     int64             `json:"amount_captured"`
	AmountRefunded     int64             `json:"amount_refunded"`
	AmountRefundable   int64             `json:"amount_refundable"`
	Capture            bool              `json:"capture"`
	Card               cardJSON          `json:"card"`
	CardID             string            `json:"card_id,omitempty"`
	ConfirmationNumber string            `json:"confirmation_number,omitempty"`
	AuthCode           string            `json:"auth_code,omitempty"`
	RRN                string            `json:"rrn,omitempty"`
	ResponseCode       string            `json:"response_code,omitempty"`
	DeclineCode        string            `json:"decline_code,omitempty"`
	DeclineReason      string            `json:"decline_reason,omitempty"`
	Description        string            `json:"description,omitempty"`
	OrderID            string            `json:"order_id,omitempty"`
	Metadata           map[string]string `json:"metadata,omitempty"`
	ReceiptEmail       string            `json:"receipt_email,omitempty"`
	RequireAck         bool              `json:"require_ack"`
	AckDeadline        *time.Time        `json:"ack_deadline,omitempty"`
	AckedAt            *time.Time        `json:"acked_at,omitempty"`
	VoidReason         string            `json:"void_reason,omitempty"`
	CreatedAt          *time.Time        `json:"created_at,omitempty"`
	CapturedAt         *time.Time        `json:"captured_at,omitempty"`
	VoidedAt           *time.Time        `json:"voided_at,omitempty"`
	SettledAt          *time.Time        `json:"settled_at,omitempty"`
	Refunds            []refundJSON      `json:"refunds"`
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func newPaymentJSON(p *paygate.Payment) paymentJSON {
	out := paymentJSON{
		ID: p.ID, Object: "payment", Status: string(p.Status), Amount: p.Amount, Currency: p.Currency.Code,
		AmountCaptured: p.AmountCaptured, AmountRefunded: p.AmountRefunded, AmountRefundable: p.Refundable(),
		Capture: p.CaptureRequested, Card: newCardJSON(p.Card), CardID: p.CardID,
		AuthCode: p.AuthCode, RRN: p.RRN, ResponseCode: p.ResponseCode, DeclineCode: p.DeclineCode, DeclineReason: p.DeclineReason,
		Description: p.Description, OrderID: p.OrderID, Metadata: p.Metadata, ReceiptEmail: p.ReceiptEmail,
		RequireAck: p.RequireAck, AckDeadline: timePtr(p.AckDeadline), AckedAt: timePtr(p.AckedAt), VoidReason: p.VoidReason,
		CreatedAt: timePtr(p.CreatedAt), CapturedAt: timePtr(p.CapturedAt), VoidedAt: timePtr(p.VoidedAt), SettledAt: timePtr(p.SettledAt),
		Refunds: []refundJSON{},
	}
	if p.Approved() {
		out.ConfirmationNumber = p.ConfirmationNumber
	}
	for _, r := range p.Refunds {
		out.Refunds = append(out.Refunds, newRefundJSON(r))
	}
	return out
}

func (s *Server) createPayment(r *http.Request, m *paygate.Merchant, body []byte) (any, error) {
	req, err := decodePaymentRequest(body)
	if err != nil {
		return nil, err
	}
	if req.Amount == nil {
		return nil, paygate.ParamErrorf(paygate.EMISSING, "amount", "Amount is required (an integer in minor units).")
	}
	create := s.Gateway.CreatePayment
	if recovered(r) {
		create = s.Gateway.ResumePayment
	}
	p, err := create(r.Context(), m, paygate.PaymentRequest{
		Amount: *req.Amount, Currency: req.Currency, Card: req.Card.card(), CardID: req.CardID,
		Capture: req.Capture == nil || *req.Capture, Description: req.Description, OrderID: req.OrderID,
		Metadata: req.Metadata, ReceiptEmail: req.ReceiptEmail, RequireAck: req.RequireAck,
		IdempotencyKey: hashedKey(r), RequestHash: requestHashOf(r),
	})
	if err != nil {
		if p != nil {
			// A decline: the payment was recorded.
			return nil, &recordedError{paymentID: p.ID, err: err}
		}
		return nil, err
	}
	return newPaymentJSON(p), nil
}

func (s *Server) getPayment(r *http.Request, m *paygate.Merchant, _ []byte) (any, error) {
	p, err := s.Gateway.Payment(r.Context(), m, r.PathValue("id"))
	if err != nil {
		return nil, err
	}
	return newPaymentJSON(p), nil
}

type listJSON struct {
	Object  string `json:"object"`
	Data    any    `json:"data"`
	HasMore bool   `json:"has_more"`
}

// listParams are the query parameters of GET /v1/payments. A bad one is a
// malformed request (400), like an unknown one: the query string is the
// request's own syntax, not a value of the resource.
var listParams = []string{"limit", "starting_after", "status", "order_id", "created_gte", "created_lte"}

func (s *Server) listPayments(r *http.Request, m *paygate.Merchant, _ []byte) (any, error) {
	q := r.URL.Query()
	for _, name := range listParams {
		if q.Has(name) && q.Get(name) == "" {
			return nil, paygate.ParamErrorf(paygate.EMALFORMED, name, "Parameter %q is empty; leave it out not to filter by it.", name)
		}
	}
	f := paygate.PaymentFilter{Status: paygate.PaymentStatus(q.Get("status")), OrderID: q.Get("order_id"), StartingAfter: q.Get("starting_after")}
	if f.Status != "" && !slices.Contains(paygate.PaymentStatuses, f.Status) {
		return nil, paygate.ParamErrorf(paygate.EMALFORMED, "status", "Status must be one of %s.", strings.Join(statusNames(), ", "))
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			return nil, paygate.ParamErrorf(paygate.EMALFORMED, "limit", "Limit must be an integer between 1 and 100.")
		}
		f.Limit = n
	}
	for _, t := range []struct {
		name string
		dst  *time.Time
	}{{"created_gte", &f.CreatedGTE}, {"created_lte", &f.CreatedLTE}} {
		if v := q.Get(t.name); v != "" {
			tm, err := parseTime(v)
			if err != nil {
				return nil, paygate.ParamErrorf(paygate.EMALFORMED, t.name, "%s must be an RFC 3339 time or Unix seconds.", t.name)
			}
			*t.dst = tm
		}
	}
	list, more, err := s.Gateway.ListPayments(r.Context(), m, f)
	if err != nil {
		return nil, err
	}
	data := make([]paymentJSON, 0, len(list))
	for _, p := range list {
		data = append(data, newPaymentJSON(p))
	}
	return paymentListJSON{Object: "list", Data: data, HasMore: more}, nil
}

// Unix seconds are taken over the years RFC 3339 can write, 0000 to 9999
// (beyond them a time in microseconds would overflow).
const minUnix, maxUnix = -62167219200, 253402300799

func parseTime(v string) (time.Time, error) {
	if n, err := strconv.ParseInt(v, 10, 64); err == nil || errors.Is(err, strconv.ErrRange) {
		if err != nil || n < minUnix || n > maxUnix {
			return time.Time{}, errors.New("unix time out of range")
		}
		return time.Unix(n, 0).UTC(), nil
	}
	return time.Parse(time.RFC3339Nano, v)
}

type amountRequest struct {
	Amount *int64 `json:"amount"`
	Reason string `json:"reason"`
}

func (a amountRequest) amount() (int64, error) {
	if a.Amount == nil {
		return 0, nil
	}
	if err := paygate.ValidateAmount(*a.Amount, "amount"); err != nil {
		return 0, err
	}
	return *a.Amount, nil
}

func (s *Server) capturePayment(r *http.Request, m *paygate.Merchant, body []byte) (any, error) {
	var req struct {
		Amount *int64 `json:"amount"`
	}
	if err := decode(body, &req, true); err != nil {
		return nil, err
	}
	amount, err := amountRequest{Amount: req.Amount}.amount()
	if err != nil {
		return nil, err
	}
	capture := s.Gateway.Capture
	if recovered(r) {
		capture = s.Gateway.ResumeCapture
	}
	p, err := capture(r.Context(), m, r.PathValue("id"), amount)
	if err != nil {
		return nil, err
	}
	return newPaymentJSON(p), nil
}

func (s *Server) voidPayment(r *http.Request, m *paygate.Merchant, body []byte) (any, error) {
	var req struct{}
	if err := decode(body, &req, true); err != nil {
		return nil, err
	}
	void := s.Gateway.Void
	if recovered(r) {
		void = s.Gateway.ResumeVoid
	}
	p, err := void(r.Context(), m, r.PathValue("id"))
	if err != nil {
		return nil, err
	}
	return newPaymentJSON(p), nil
}

func (s *Server) refundPayment(r *http.Request, m *paygate.Merchant, body []byte) (any, error) {
	var req amountRequest
	if err := decode(body, &req, true); err != nil {
		return nil, err
	}
	amount, err := req.amount()
	if err != nil {
		return nil, err
	}
	refund := s.Gateway.Refund
	if recovered(r) {
		refund = s.Gateway.ResumeRefund
	}
	ref, err := refund(r.Context(), m, r.PathValue("id"), amount, req.Reason, hashedKey(r))
	if err != nil {
		var e *paygate.Error
		if ref != nil && errors.As(err, &e) {
			// A failed refund: it was recorded.
			return nil, &recordedError{paymentID: ref.PaymentID, err: err}
		}
		return nil, err
	}
	return newRefundJSON(ref), nil
}

func (s *Server) ackPayment(r *http.Request, m *paygate.Merchant, body []byte) (any, error) {
	var req struct{}
	if err := decode(body, &req, true); err != nil {
		return nil, err
	}
	p, err := s.Gateway.Ack(r.Context(), m, r.PathValue("id"))
	if err != nil {
		return nil, err
	}
	return newPaymentJSON(p), nil
}

func statusNames() []string {
	out := make([]string, len(paygate.PaymentStatuses))
	for i, st := range paygate.PaymentStatuses {
		out[i] = string(st)
	}
	return out
}
