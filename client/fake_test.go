package client_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
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
// 0002 is declined for insufficient funds. On its payment page (POST
// /pay/{id}, see customerPays) the customer pays with 4242 4242 4242 4242.
type fakeGateway struct {
	mu       sync.Mutex
	now      time.Time
	seq      int
	base     string // the server's URL
	payments []*client.Payment
	cards    map[string]*client.Card
	sessions map[string]*client.Session
	settings client.Settings
	secret   string            // the signing secret, once made
	replies  map[string][]byte // by Idempotency-Key
}

// fakeSecret is the signing secret the fake gateway makes.
const fakeSecret = "whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="

func newFakeGateway() *httptest.Server {
	g := &fakeGateway{
		now:      time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC),
		cards:    map[string]*client.Card{},
		sessions: map[string]*client.Session{},
		settings: client.Settings{Object: "settings", MerchantID: "mer_1", AllowedOrigins: []string{},
			DefaultModel: client.ModelRedirect, AckWindow: 1800, SigningSecrets: []client.SigningSecret{}},
		replies: map[string][]byte{},
	}
	api := http.NewServeMux()
	api.HandleFunc("POST /v1/payments", g.createPayment)
	api.HandleFunc("GET /v1/payments", g.listPayments)
	api.HandleFunc("GET /v1/payments/{id}", g.getPayment)
	api.HandleFunc("POST /v1/payments/{id}/{action}", g.paymentAction)
	api.HandleFunc("POST /v1/cards", g.createCard)
	api.HandleFunc("GET /v1/cards/{id}", g.getCard)
	api.HandleFunc("GET /v1/settings", g.getSettings)
	api.HandleFunc("POST /v1/settings", g.updateSettings)
	api.HandleFunc("POST /v1/settings/signing_secret", g.rotateSecret)
	api.HandleFunc("POST /v1/sessions", g.startSession)
	api.HandleFunc("GET /v1/sessions/{id}", g.getSession)
	api.HandleFunc("POST /v1/sessions/{id}/ack", g.ackSession)
	mux := http.NewServeMux()
	mux.Handle("/v1/", g.middleware(api))
	mux.HandleFunc("POST /pay/{id}", g.pay) // the customer's browser: no API key
	srv := httptest.NewServer(mux)
	g.base = srv.URL
	return srv
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

func (g *fakeGateway) getSettings(w http.ResponseWriter, r *http.Request) { reply(w, g.settings) }

func (g *fakeGateway) updateSettings(w http.ResponseWriter, r *http.Request) {
	var u client.SettingsUpdate
	json.NewDecoder(r.Body).Decode(&u)
	s := &g.settings
	if u.AllowedOrigins != nil {
		s.AllowedOrigins = *u.AllowedOrigins
	}
	for _, f := range []struct{ dst, src *string }{{&s.SuccessURL, u.SuccessURL}, {&s.DeclineURL, u.DeclineURL},
		{&s.CancelURL, u.CancelURL}, {&s.DefaultModel, u.DefaultModel}, {&s.DisplayName, u.DisplayName}, {&s.LogoURL, u.LogoURL}} {
		if f.src != nil {
			*f.dst = *f.src
		}
	}
	if u.RequireAck != nil {
		s.RequireAck = *u.RequireAck
	}
	if u.AckWindow != nil {
		s.AckWindow = *u.AckWindow
	}
	reply(w, s)
}

func (g *fakeGateway) rotateSecret(w http.ResponseWriter, r *http.Request) {
	g.secret = fakeSecret
	t := g.tick()
	g.settings.SigningSecrets = append([]client.SigningSecret{{ID: "whsec_1", CreatedAt: t}}, g.settings.SigningSecrets...)
	reply(w, map[string]any{"object": "signing_secret", "signing_secret": g.secret, "created_at": t})
}

func (g *fakeGateway) startSession(w http.ResponseWriter, r *http.Request) {
	var p client.SessionParams
	json.NewDecoder(r.Body).Decode(&p)
	if g.secret == "" {
		fail(w, 409, "invalid_request_error", "conflict", "The merchant has no signing secret: create one first.")
		return
	}
	if p.ReturnURL == "" {
		p.ReturnURL = g.settings.SuccessURL
	}
	if p.Model == "" {
		p.Model = g.settings.DefaultModel
	}
	id := fmt.Sprintf("cs_%d", len(g.sessions)+1)
	t := g.tick()
	s := &client.Session{
		ID: id, Object: "session", URL: g.base + "/pay/" + id, Status: client.SessionOpen, Model: p.Model,
		Amount: p.Amount, Currency: p.Currency, OrderID: p.OrderID, Description: p.Description, ReturnURL: p.ReturnURL,
		CancelURL: p.CancelURL, Capture: p.Capture == nil || *p.Capture, CustomerEmail: p.CustomerEmail,
		Metadata: p.Metadata, ExpiresAt: t.Add(30 * time.Minute), CreatedAt: t,
	}
	g.sessions[id] = s
	reply(w, s)
}

func (g *fakeGateway) getSession(w http.ResponseWriter, r *http.Request) {
	s := g.sessions[r.PathValue("id")]
	if s == nil {
		fail(w, 404, "invalid_request_error", "resource_missing", "No such session.")
		return
	}
	reply(w, s)
}

func (g *fakeGateway) ackSession(w http.ResponseWriter, r *http.Request) {
	s := g.sessions[r.PathValue("id")]
	if s == nil {
		fail(w, 404, "invalid_request_error", "resource_missing", "No such session.")
		return
	}
	if s.Outcome != client.OutcomeApproved {
		fail(w, 409, "invalid_request_error", "conflict", "The session has no approved payment to acknowledge.")
		return
	}
	if s.AckedAt == nil {
		t := g.tick()
		s.AckedAt, s.Payment.AckedAt = &t, &t
	}
	reply(w, s)
}

// pay is the payment page's submit: the customer pays with a test card,
// and the browser is sent back to the return URL with the signed result.
func (g *fakeGateway) pay(w http.ResponseWriter, r *http.Request) {
	g.mu.Lock()
	defer g.mu.Unlock()
	s := g.sessions[r.PathValue("id")]
	if s == nil || s.Status != client.SessionOpen {
		http.Error(w, "This payment session has ended.", http.StatusConflict)
		return
	}
	n := len(g.payments) + 1
	p := &client.Payment{
		ID: "pay_" + strconv.Itoa(n), Object: "payment", Status: client.StatusAuthorized, Amount: s.Amount,
		Currency: s.Currency, Card: summary("4242424242424242", 12, 2030), ConfirmationNumber: fmt.Sprintf("PG-7K3M-%04d", n),
		AuthCode: fmt.Sprintf("A%05d", n), ResponseCode: "00", OrderID: s.OrderID, CreatedAt: g.tick(),
	}
	if s.Capture {
		g.capture(p, p.Amount)
	}
	g.payments = append(g.payments, p)
	t := g.tick()
	s.Attempts++
	s.Status, s.Outcome, s.Sequence, s.Payment, s.CompletedAt = client.SessionComplete, client.OutcomeApproved, s.Attempts, p, &t

	u, _ := url.Parse(s.ReturnURL)
	q := u.Query()
	for k, v := range map[string]string{
		"session_id": s.ID, "result": string(s.Outcome), "amount": strconv.FormatInt(s.Amount, 10), "currency": s.Currency,
		"order_id": s.OrderID, "sequence": strconv.Itoa(s.Sequence), "payment_id": p.ID, "status": string(p.Status),
		"card_brand": p.Card.Brand, "card_last4": p.Card.Last4, "confirmation_number": p.ConfirmationNumber,
	} {
		if v != "" {
			q.Set(k, v)
		}
	}
	// Signed as the gateway signs (see signing.go), at the real time: the
	// merchant checks it against its own clock.
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	q.Set("timestamp", ts)
	key, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(g.secret, "whsec_"))
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(ts + "." + q.Encode()))
	q.Set("signature", "v1,"+base64.StdEncoding.EncodeToString(mac.Sum(nil)))
	u.RawQuery = q.Encode()
	http.Redirect(w, r, u.String(), http.StatusSeeOther)
}

// customerPays stands in for the customer's browser: it pays on the
// session's page at payURL and returns the request the browser then makes
// to the merchant's return URL, as the merchant's handler receives it.
func customerPays(payURL string) *http.Request {
	browser := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := browser.PostForm(payURL, url.Values{"number": {"4242424242424242"}})
	if err != nil {
		panic(err)
	}
	resp.Body.Close()
	return httptest.NewRequest("GET", resp.Header.Get("Location"), nil)
}
