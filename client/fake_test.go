package client_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/paygate/paygate/client"
)

// fakeKey is the secret key the fake gateway accepts.
const fakeKey = "sk_test_example"

// fakeGateway is a small in-memory paygate for the examples: enough of the
// API to show the flows, none of the real rules. A card number ending in
// 0002 is declined for insufficient funds.
type fakeGateway struct {
	mu       sync.Mutex
	now      time.Time
	seq      int
	payments []*client.Payment
	cards    map[string]*client.Card
	replies  map[string][]byte // by Idempotency-Key
}

func newFakeGateway() *httptest.Server {
	g := &fakeGateway{
		now:     time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC),
		cards:   map[string]*client.Card{},
		replies: map[string][]byte{},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/payments", g.createPayment)
	mux.HandleFunc("GET /v1/payments", g.listPayments)
	mux.HandleFunc("GET /v1/payments/{id}", g.getPayment)
	mux.HandleFunc("POST /v1/payments/{id}/{action}", g.paymentAction)
	mux.HandleFunc("POST /v1/cards", g.createCard)
	mux.HandleFunc("GET /v1/cards/{id}", g.getCard)
	return httptest.NewServer(g.middleware(mux))
}

type recorder struct {
	http.ResponseWriter
	status int
	body   strings.Builder
}

func (r *recorder) WriteHeader(status int) { r.status = status; r.ResponseWriter.WriteHeader(status) }
func (r *recorder) Write(b []byte) (int, error) {
	r.body.Write(b)
	return r.ResponseWriter.Write(b)
}

func (g *fakeGateway) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g.mu.Lock()
		defer g.mu.Unlock()
		g.seq++
		w.Header().Set("Request-Id", fmt.Sprintf("req_%d", g.seq))
		w.Header().Set("Content-Type", "application/json")
		if r.Header.Get("Authorization") != "Bearer "+fakeKey {
			fail(w, 401, "authentication_error", "invalid_api_key", "Invalid API key.")
			return
		}
		key := r.Header.Get("Idempotency-Key")
		if r.Method == http.MethodPost && key != "" {
			if reply, ok := g.replies[key]; ok {
				w.Header().Set("Idempotent-Replayed", "true")
				w.Write(reply)
				return
			}
		}
		rec := &recorder{ResponseWriter: w, status: 200}
		next.ServeHTTP(rec, r)
		if r.Method == http.MethodPost && key != "" && rec.status == 200 {
			g.replies[key] = []byte(rec.body.String())
		}
	})
}

func fail(w http.ResponseWriter, status int, typ, code, msg string) {
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"error": map[string]string{"type": typ, "code": code, "message": msg}})
}

func reply(w http.ResponseWriter, v any) { json.NewEncoder(w).Encode(v) }

func (g *fakeGateway) tick() time.Time {
	g.now = g.now.Add(time.Second)
	return g.now
}

func summary(number string, expMonth, expYear int) *client.Card {
	brand := "visa"
	if strings.HasPrefix(number, "5") {
		brand = "mastercard"
	}
	return &client.Card{
		Brand: brand, First6: number[:6], Last4: number[len(number)-4:],
		ExpMonth: expMonth, ExpYear: expYear, Fingerprint: "fp_" + number[len(number)-4:],
	}
}

func (g *fakeGateway) createPayment(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Amount   int64  `json:"amount"`
		Currency string `json:"currency"`
		Card     *struct {
			Number   string `json:"number"`
			ExpMonth int    `json:"exp_month"`
			ExpYear  int    `json:"exp_year"`
		} `json:"card"`
		CardID   string            `json:"card_id"`
		Capture  *bool             `json:"capture"`
		OrderID  string            `json:"order_id"`
		Metadata map[string]string `json:"metadata"`
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil || in.Amount <= 0 {
		fail(w, 400, "invalid_request_error", "invalid_request", "The request is not valid.")
		return
	}
	var card *client.Card
	switch {
	case in.Card != nil:
		card = summary(in.Card.Number, in.Card.ExpMonth, in.Card.ExpYear)
	case g.cards[in.CardID] != nil:
		c := *g.cards[in.CardID]
		card = &client.Card{Brand: c.Brand, First6: c.First6, Last4: c.Last4, ExpMonth: c.ExpMonth, ExpYear: c.ExpYear, Fingerprint: c.Fingerprint}
	default:
		fail(w, 400, "invalid_request_error", "card_required", "A card or card_id is required.")
		return
	}
	n := len(g.payments) + 1
	p := &client.Payment{
		ID: "pay_" + strconv.Itoa(n), Object: "payment", Amount: in.Amount, Currency: in.Currency,
		Card: card, OrderID: in.OrderID, Metadata: in.Metadata, CreatedAt: g.tick(),
	}
	g.payments = append(g.payments, p)
	if card.Last4 == "0002" {
		p.Status, p.ResponseCode, p.DeclineCode = client.StatusDeclined, "51", "insufficient_funds"
		w.WriteHeader(402)
		reply(w, map[string]any{"error": map[string]string{
			"type": "card_error", "code": "card_declined", "message": "The card has insufficient funds.",
			"decline_code": "insufficient_funds", "response_code": "51", "payment_id": p.ID,
		}})
		return
	}
	p.ConfirmationNumber = fmt.Sprintf("PG-7K3M-%04d", n)
	p.AuthCode, p.ResponseCode = fmt.Sprintf("A%05d", n), "00"
	p.Status = client.StatusAuthorized
	if in.Capture == nil || *in.Capture {
		g.capture(p, p.Amount)
	}
	p.AmountRefundable = p.AmountCaptured
	reply(w, p)
}

func (g *fakeGateway) capture(p *client.Payment, amount int64) {
	t := g.tick()
	p.Status, p.AmountCaptured, p.AmountRefundable, p.CapturedAt = client.StatusCaptured, amount, amount, &t
}

func (g *fakeGateway) find(id string) *client.Payment {
	for _, p := range g.payments {
		if p.ID == id {
			return p
		}
	}
	return nil
}

func (g *fakeGateway) getPayment(w http.ResponseWriter, r *http.Request) {
	p := g.find(r.PathValue("id"))
	if p == nil {
		fail(w, 404, "invalid_request_error", "resource_missing", "No such payment.")
		return
	}
	reply(w, p)
}

func (g *fakeGateway) listPayments(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit, _ := strconv.Atoi(q.Get("limit"))
	if limit <= 0 {
		limit = 10
	}
	var sel []*client.Payment
	after := q.Get("starting_after")
	for i := len(g.payments) - 1; i >= 0; i-- { // newest first
		p := g.payments[i]
		if after != "" {
			if p.ID == after {
				after = ""
			}
			continue
		}
		if s := q.Get("status"); s != "" && string(p.Status) != s {
			continue
		}
		sel = append(sel, p)
	}
	more := len(sel) > limit
	sel = sel[:min(limit, len(sel))]
	reply(w, client.PaymentList{Object: "list", Data: sel, HasMore: more})
}

func (g *fakeGateway) paymentAction(w http.ResponseWriter, r *http.Request) {
	p := g.find(r.PathValue("id"))
	if p == nil {
		fail(w, 404, "invalid_request_error", "resource_missing", "No such payment.")
		return
	}
	var in struct {
		Amount *int64 `json:"amount"`
		Reason string `json:"reason"`
	}
	json.NewDecoder(r.Body).Decode(&in)
	switch r.PathValue("action") {
	case "capture":
		if p.Status != client.StatusAuthorized {
			fail(w, 400, "invalid_request_error", "payment_not_capturable", "Only an authorized payment can be captured.")
			return
		}
		amount := p.Amount
		if in.Amount != nil {
			amount = *in.Amount
		}
		g.capture(p, amount)
		reply(w, p)
	case "void":
		t := g.tick()
		p.Status, p.VoidedAt = client.StatusVoided, &t
		reply(w, p)
	case "ack":
		t := g.tick()
		p.AckedAt = &t
		reply(w, p)
	case "refunds":
		amount := p.AmountRefundable
		if in.Amount != nil {
			amount = *in.Amount
		}
		if amount <= 0 || amount > p.AmountRefundable {
			fail(w, 400, "invalid_request_error", "amount_too_large", "The refund is larger than what is left.")
			return
		}
		re := &client.Refund{
			ID: fmt.Sprintf("re_%d", len(p.Refunds)+1), Object: "refund", PaymentID: p.ID, Amount: amount,
			Currency: p.Currency, Status: client.RefundSucceeded, Reason: in.Reason, ResponseCode: "00", CreatedAt: g.tick(),
		}
		p.Refunds = append(p.Refunds, re)
		p.AmountRefunded += amount
		p.AmountRefundable -= amount
		p.Status = client.StatusPartiallyRefunded
		if p.AmountRefundable == 0 {
			p.Status = client.StatusRefunded
		}
		reply(w, re)
	default:
		http.NotFound(w, r)
	}
}

func (g *fakeGateway) createCard(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Number   string `json:"number"`
		ExpMonth int    `json:"exp_month"`
		ExpYear  int    `json:"exp_year"`
		Name     string `json:"name"`
	}
	json.NewDecoder(r.Body).Decode(&in)
	c := summary(in.Number, in.ExpMonth, in.ExpYear)
	c.ID, c.Object, c.Name, c.CreatedAt = fmt.Sprintf("card_%d", len(g.cards)+1), "card", in.Name, g.tick()
	g.cards[c.ID] = c
	reply(w, c)
}

func (g *fakeGateway) getCard(w http.ResponseWriter, r *http.Request) {
	c := g.cards[r.PathValue("id")]
	if c == nil {
		fail(w, 404, "invalid_request_error", "resource_missing", "No such card.")
		return
	}
	reply(w, c)
}
