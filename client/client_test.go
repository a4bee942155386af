package client_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/paygate/paygate/client"
)

// call is one request as a fake server saw it.
type call struct {
	Method, Path, RawQuery string
	Header                 http.Header
	Body                   []byte
}

// fake is an httptest server whose handler answers with respond(n, r), n
// counting calls from 0, and records every call.
type fake struct {
	*httptest.Server
	mu    sync.Mutex
	calls []call
}

func (f *fake) Calls() []call {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]call(nil), f.calls...)
}

func newFake(t *testing.T, respond func(n int, w http.ResponseWriter, r *http.Request)) *fake {
	t.Helper()
	f := &fake{}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		n := len(f.calls)
		f.calls = append(f.calls, call{r.Method, r.URL.Path, r.URL.RawQuery, r.Header.Clone(), body})
		f.mu.Unlock()
		w.Header().Set("Request-Id", fmt.Sprintf("req_%d", n))
		w.Header().Set("Content-Type", "application/json")
		respond(n, w, r)
	}))
	t.Cleanup(f.Close)
	return f
}

// mustClient returns a client of f with fast backoff.
func mustClient(tb testing.TB, f *fake, opts ...client.Option) *client.Client {
	tb.Helper()
	opts = append([]client.Option{client.WithBackoff(time.Millisecond, 5*time.Millisecond)}, opts...)
	return client.New(f.URL, "sk_test_123", opts...)
}

func writeError(w http.ResponseWriter, status int, typ, code string) {
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"error":{"type":%q,"code":%q,"message":"Something went wrong."}}`, typ, code)
}

const paymentJSON = `{"id":"pay_1","object":"payment","status":"captured","amount":1999,"currency":"USD",
"amount_captured":1999,"amount_refunded":0,"amount_refundable":1999,
"card":{"brand":"visa","first6":"424242","last4":"4242","exp_month":12,"exp_year":2030,"fingerprint":"fp_1"},
"confirmation_number":"PG-7K3M-9QX2","auth_code":"A1B2C3","rrn":"123456789012","response_code":"00",
"order_id":"o-1","metadata":{"k":"v"},"require_ack":true,"ack_deadline":"2026-03-01T12:30:00Z",
"created_at":"2026-03-01T12:00:00Z","captured_at":"2026-03-01T12:00:01Z","refunds":[]}`

func okPayment(_ int, w http.ResponseWriter, _ *http.Request) { io.WriteString(w, paymentJSON) }

func TestCreatePaymentRequest(t *testing.T) {
	f := newFake(t, okPayment)
	c := mustClient(t, f, client.WithUserAgent("shop/1.0"))
	pay, err := c.CreatePayment(context.Background(), client.PaymentParams{
		Amount:       1999,
		Currency:     "USD",
		Card:         &client.CardParams{Number: "4242 4242 4242 4242", ExpMonth: 12, ExpYear: 2030, CVC: "123", Name: "Ada"},
		Capture:      new(false),
		Description:  "Two mugs",
		OrderID:      "o-1",
		Metadata:     map[string]string{"k": "v"},
		ReceiptEmail: "ada@example.com",
	})
	if err != nil {
		t.Fatal(err)
	}
	calls := f.Calls()
	if len(calls) != 1 {
		t.Fatalf("got %d calls, want 1", len(calls))
	}
	got := calls[0]
	if got.Method != "POST" || got.Path != "/v1/payments" {
		t.Errorf("got %s %s, want POST /v1/payments", got.Method, got.Path)
	}
	for h, want := range map[string]string{
		"Authorization": "Bearer sk_test_123",
		"Content-Type":  "application/json",
		"User-Agent":    "shop/1.0",
	} {
		if v := got.Header.Get(h); v != want {
			t.Errorf("got %s %q, want %q", h, v, want)
		}
	}
	if k := got.Header.Get("Idempotency-Key"); len(k) != 32 {
		t.Errorf("got Idempotency-Key %q, want 32 hex characters", k)
	}

	var body map[string]any
	if err := json.Unmarshal(got.Body, &body); err != nil {
		t.Fatalf("body %s: %v", got.Body, err)
	}
	want := map[string]any{
		"amount":        1999.0,
		"currency":      "USD",
		"card":          map[string]any{"number": "4242424242424242", "exp_month": 12.0, "exp_year": 2030.0, "cvc": "123", "name": "Ada"},
		"capture":       false,
		"description":   "Two mugs",
		"order_id":      "o-1",
		"metadata":      map[string]any{"k": "v"},
		"receipt_email": "ada@example.com",
	}
	if g, w := fmt.Sprint(body), fmt.Sprint(want); g != w {
		t.Errorf("got body\n%s\nwant\n%s", g, w)
	}

	if pay.ID != "pay_1" || pay.Status != client.StatusCaptured || pay.AmountRefundable != 1999 ||
		pay.Card.Last4 != "4242" || pay.ConfirmationNumber != "PG-7K3M-9QX2" || pay.Metadata["k"] != "v" || !pay.RequireAck {
		t.Errorf("got payment %+v", pay)
	}
	if want := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC); !pay.CreatedAt.Equal(want) {
		t.Errorf("got CreatedAt %v, want %v", pay.CreatedAt, want)
	}
	if pay.AckDeadline == nil || pay.CapturedAt == nil || pay.VoidedAt != nil || pay.AckedAt != nil {
		t.Errorf("got AckDeadline %v CapturedAt %v VoidedAt %v AckedAt %v", pay.AckDeadline, pay.CapturedAt, pay.VoidedAt, pay.AckedAt)
	}
}

func TestCreatePaymentOmitsUnsetFields(t *testing.T) {
	f := newFake(t, okPayment)
	_, err := mustClient(t, f).CreatePayment(context.Background(), client.PaymentParams{Amount: 500, Currency: "EUR", CardID: "card_9"})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(f.Calls()[0].Body), `{"amount":500,"currency":"EUR","card_id":"card_9"}`; got != want {
		t.Errorf("got body %s, want %s", got, want)
	}
}

func TestRequests(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name       string
		do         func(*client.Client) error
		method     string
		path       string
		query      string
		body       string
		response   string
		idempotent bool // sends an Idempotency-Key
	}{
		{
			name:   "get payment",
			do:     func(c *client.Client) error { _, err := c.GetPayment(ctx, "pay_1"); return err },
			method: "GET", path: "/v1/payments/pay_1", response: paymentJSON,
		},
		{
			name: "capture all",
			do: func(c *client.Client) error {
				_, err := c.Capture(ctx, "pay_1", client.CaptureParams{})
				return err
			},
			method: "POST", path: "/v1/payments/pay_1/capture", body: `{}`, response: paymentJSON, idempotent: true,
		},
		{
			name: "capture part",
			do: func(c *client.Client) error {
				_, err := c.Capture(ctx, "pay_1", client.CaptureParams{Amount: new(int64(1500))})
				return err
			},
			method: "POST", path: "/v1/payments/pay_1/capture", body: `{"amount":1500}`, response: paymentJSON, idempotent: true,
		},
		{
			name:   "void",
			do:     func(c *client.Client) error { _, err := c.Void(ctx, "pay_1"); return err },
			method: "POST", path: "/v1/payments/pay_1/void", body: `{}`, response: paymentJSON, idempotent: true,
		},
		{
			name:   "ack",
			do:     func(c *client.Client) error { _, err := c.Ack(ctx, "pay_1"); return err },
			method: "POST", path: "/v1/payments/pay_1/ack", body: `{}`, response: paymentJSON, idempotent: true,
		},
		{
			name: "refund",
			do: func(c *client.Client) error {
				r, err := c.Refund(ctx, "pay_1", client.RefundParams{Amount: new(int64(100)), Reason: "damaged"})
				if err == nil && (r.ID != "re_1" || r.Amount != 100 || r.Status != client.RefundSucceeded) {
					err = fmt.Errorf("got refund %+v", r)
				}
				return err
			},
			method: "POST", path: "/v1/payments/pay_1/refunds", body: `{"amount":100,"reason":"damaged"}`, idempotent: true,
			response: `{"id":"re_1","object":"refund","payment_id":"pay_1","amount":100,"currency":"USD","status":"succeeded","created_at":"2026-03-01T12:00:00Z"}`,
		},
		{
			name: "create card",
			do: func(c *client.Client) error {
				card, err := c.CreateCard(ctx, client.CardParams{Number: "4242-4242-4242-4242", ExpMonth: 1, ExpYear: 2031, Name: "Ada"})
				if err == nil && (card.ID != "card_1" || card.Last4 != "4242") {
					err = fmt.Errorf("got card %+v", card)
				}
				return err
			},
			method: "POST", path: "/v1/cards", idempotent: true,
			body:     `{"number":"4242424242424242","exp_month":1,"exp_year":2031,"name":"Ada"}`,
			response: `{"id":"card_1","object":"card","brand":"visa","first6":"424242","last4":"4242","exp_month":1,"exp_year":2031,"name":"Ada"}`,
		},
		{
			name:   "get card",
			do:     func(c *client.Client) error { _, err := c.GetCard(ctx, "card_1"); return err },
			method: "GET", path: "/v1/cards/card_1", response: `{"id":"card_1"}`,
		},
		{
			name: "list",
			do: func(c *client.Client) error {
				_, err := c.ListPayments(ctx, client.ListParams{
					Limit: 3, StartingAfter: "pay_9", Status: client.StatusRefunded, OrderID: "o 1",
					CreatedGTE: time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("", 3600)),
					CreatedLTE: time.Date(2026, 2, 1, 0, 0, 0, 500, time.UTC),
				})
				return err
			},
			method: "GET", path: "/v1/payments", response: `{"object":"list","data":[],"has_more":false}`,
			query: url.Values{
				"limit": {"3"}, "starting_after": {"pay_9"}, "status": {"refunded"}, "order_id": {"o 1"},
				"created_gte": {"2026-01-02T03:04:05+01:00"}, "created_lte": {"2026-02-01T00:00:00.0000005Z"},
			}.Encode(),
		},
		{
			name:   "id escaped",
			do:     func(c *client.Client) error { _, err := c.GetPayment(ctx, "a/b?c"); return err },
			method: "GET", path: "/v1/payments/a/b?c", response: paymentJSON, // escaped, so not a query
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t, func(_ int, w http.ResponseWriter, _ *http.Request) { io.WriteString(w, tt.response) })
			if err := tt.do(mustClient(t, f)); err != nil {
				t.Fatal(err)
			}
			got := f.Calls()[0]
			if got.Method != tt.method || got.Path != tt.path || got.RawQuery != tt.query {
				t.Errorf("got %s %s?%s, want %s %s?%s", got.Method, got.Path, got.RawQuery, tt.method, tt.path, tt.query)
			}
			if string(got.Body) != tt.body {
				t.Errorf("got body %s, want %s", got.Body, tt.body)
			}
			if k := got.Header.Get("Idempotency-Key"); (k != "") != tt.idempotent {
				t.Errorf("got Idempotency-Key %q, want one: %v", k, tt.idempotent)
			}
			if a := got.Header.Get("Authorization"); a != "Bearer sk_test_123" {
				t.Errorf("got Authorization %q", a)
			}
		})
	}
}

func TestEmptyID(t *testing.T) {
	c := client.New("http://127.0.0.1:1", "sk")
	if _, err := c.GetPayment(context.Background(), ""); err == nil {
		t.Error("GetPayment(\"\"): got no error")
	}
	if _, err := c.Refund(context.Background(), "", client.RefundParams{}); err == nil {
		t.Error("Refund(\"\"): got no error")
	}
}

func TestIdempotencyKey(t *testing.T) {
	f := newFake(t, okPayment)
	c := mustClient(t, f)
	ctx := context.Background()
	if _, err := c.Void(ctx, "pay_1"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Void(ctx, "pay_1"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Capture(ctx, "pay_1", client.CaptureParams{IdempotencyKey: "order-7-capture"}); err != nil {
		t.Fatal(err)
	}
	calls := f.Calls()
	if k0, k1 := calls[0].Header.Get("Idempotency-Key"), calls[1].Header.Get("Idempotency-Key"); k0 == k1 {
		t.Errorf("two calls shared the generated key %q", k0)
	}
	if got := calls[2].Header.Get("Idempotency-Key"); got != "order-7-capture" {
		t.Errorf("got Idempotency-Key %q, want the caller's", got)
	}

	_, err := c.Capture(ctx, "pay_1", client.CaptureParams{IdempotencyKey: strings.Repeat("k", 256)})
	if err == nil || len(f.Calls()) != 3 {
		t.Errorf("a 256-character key: got error %v after %d calls, want an error and no call", err, len(f.Calls()))
	}
}

func TestRetry(t *testing.T) {
	tests := []struct {
		name   string
		status int
		code   string
		retry  bool
	}{
		{"503", 503, "", true},
		{"500", 500, "", true},
		{"502", 502, "", true},
		{"504", 504, "", true},
		{"429", 429, "rate_limited", true},
		{"409 in flight", 409, "idempotency_in_flight", true},
		{"409 busy", 409, "resource_busy", true},
		{"409 other", 409, "payment_not_capturable", false},
		{"400", 400, "invalid_request", false},
		{"401", 401, "invalid_api_key", false},
		{"402", 402, "card_declined", false},
		{"404", 404, "resource_missing", false},
		{"422 key reused", 422, "idempotency_key_reused", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t, func(n int, w http.ResponseWriter, r *http.Request) {
				if n < 2 {
					writeError(w, tt.status, "api_error", tt.code)
					return
				}
				okPayment(n, w, r)
			})
			pay, err := mustClient(t, f).CreatePayment(context.Background(), client.PaymentParams{Amount: 1, Currency: "USD", CardID: "card_1"})
			calls := f.Calls()
			if !tt.retry {
				var e *client.Error
				if !errors.As(err, &e) || e.Status != tt.status || e.Code != tt.code {
					t.Errorf("got error %v, want *Error with status %d and code %q", err, tt.status, tt.code)
				}
				if len(calls) != 1 {
					t.Errorf("got %d calls, want 1 (no retry)", len(calls))
				}
				return
			}
			if err != nil || pay.ID != "pay_1" {
				t.Fatalf("got %v, %v; want the payment after retries", pay, err)
			}
			if len(calls) != 3 {
				t.Fatalf("got %d calls, want 3", len(calls))
			}
			for _, c := range calls[1:] {
				if got, want := c.Header.Get("Idempotency-Key"), calls[0].Header.Get("Idempotency-Key"); got != want || got == "" {
					t.Errorf("retry sent Idempotency-Key %q, first attempt %q", got, want)
				}
				if !bytes.Equal(c.Body, calls[0].Body) {
					t.Errorf("retry sent body %s, first attempt %s", c.Body, calls[0].Body)
				}
			}
		})
	}
}

func TestRetryGivesUp(t *testing.T) {
	f := newFake(t, func(_ int, w http.ResponseWriter, _ *http.Request) { writeError(w, 503, "api_error", "unavailable") })
	_, err := mustClient(t, f, client.WithMaxRetries(4)).GetPayment(context.Background(), "pay_1")
	var e *client.Error
	if !errors.As(err, &e) || e.Status != 503 || e.RequestID != "req_4" {
		t.Errorf("got %v, want the last attempt's 503", err)
	}
	if n := len(f.Calls()); n != 5 {
		t.Errorf("got %d calls, want 5", n)
	}
	if f.Calls()[0].Header.Get("Idempotency-Key") != "" {
		t.Error("a GET sent an Idempotency-Key")
	}
}

func TestNoRetries(t *testing.T) {
	f := newFake(t, func(_ int, w http.ResponseWriter, _ *http.Request) { writeError(w, 503, "api_error", "unavailable") })
	_, err := mustClient(t, f, client.WithMaxRetries(0)).GetPayment(context.Background(), "pay_1")
	if err == nil || len(f.Calls()) != 1 {
		t.Errorf("got %v after %d calls, want an error after 1", err, len(f.Calls()))
	}
}

func TestRetryAfter(t *testing.T) {
	t.Parallel()
	f := newFake(t, func(n int, w http.ResponseWriter, r *http.Request) {
		if n == 0 {
			w.Header().Set("Retry-After", "1")
			writeError(w, 429, "rate_limit_error", "rate_limited")
			return
		}
		okPayment(n, w, r)
	})
	start := time.Now()
	if _, err := mustClient(t, f).GetPayment(context.Background(), "pay_1"); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < time.Second {
		t.Errorf("retried after %v, want at least the 1s of Retry-After", d)
	}
}

func TestRetryAfterTooLong(t *testing.T) {
	for _, tt := range []struct {
		name       string
		retryAfter string
		timeout    time.Duration
	}{
		{"beyond the limit", "3600", time.Minute},
		{"beyond the deadline", "5", time.Second},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Retry-After", tt.retryAfter)
				writeError(w, 503, "api_error", "unavailable")
			})
			ctx, cancel := context.WithTimeout(context.Background(), tt.timeout)
			defer cancel()
			start := time.Now()
			_, err := mustClient(t, f).GetPayment(ctx, "pay_1")
			var e *client.Error
			if !errors.As(err, &e) || e.Status != 503 {
				t.Errorf("got %v, want the 503", err)
			}
			if n := len(f.Calls()); n != 1 || time.Since(start) > 500*time.Millisecond {
				t.Errorf("got %d calls in %v, want 1 at once", n, time.Since(start))
			}
		})
	}
}

func TestDecline(t *testing.T) {
	f := newFake(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(402)
		io.WriteString(w, `{"error":{"type":"card_error","code":"card_declined","message":"The card has insufficient funds.",
			"decline_code":"insufficient_funds","response_code":"51","payment_id":"pay_7","request_id":"req_body"}}`)
	})
	_, err := mustClient(t, f).CreatePayment(context.Background(), client.PaymentParams{Amount: 1, Currency: "USD", CardID: "card_1"})
	if n := len(f.Calls()); n != 1 {
		t.Errorf("got %d calls, want 1: a decline is final", n)
	}
	if !client.IsDeclined(err) {
		t.Errorf("IsDeclined(%v) = false", err)
	}
	var e *client.Error
	if !errors.As(err, &e) {
		t.Fatalf("got %T %v, want *client.Error", err, err)
	}
	want := client.Error{
		Status: 402, Type: "card_error", Code: "card_declined", Message: "The card has insufficient funds.",
		DeclineCode: "insufficient_funds", ResponseCode: "51", PaymentID: "pay_7", RequestID: "req_body",
	}
	if *e != want {
		t.Errorf("got %+v\nwant %+v", *e, want)
	}
	msg := err.Error()
	for _, s := range []string{"card_declined", "insufficient funds", "402", "insufficient_funds", "51", "pay_7", "req_body"} {
		if !strings.Contains(msg, s) {
			t.Errorf("Error() = %q, lacks %q", msg, s)
		}
	}
}

func TestErrorRequestIDFromHeader(t *testing.T) {
	f := newFake(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
		writeError(w, 404, "invalid_request_error", "resource_missing")
	})
	_, err := mustClient(t, f).GetPayment(context.Background(), "pay_x")
	var e *client.Error
	if !errors.As(err, &e) || e.RequestID != "req_0" || e.Type != client.TypeInvalidRequest {
		t.Errorf("got %#v, want request id req_0 from the header", err)
	}
	if client.IsDeclined(err) {
		t.Error("IsDeclined(404) = true")
	}
	if client.IsDeclined(errors.New("x")) || client.IsDeclined(nil) {
		t.Error("IsDeclined of a plain error = true")
	}
	// A mistyped number is a card_error too, but nothing went to the
	// issuer: no decline.
	if mistyped := (&client.Error{Type: client.TypeCard, Code: "incorrect_number"}); client.IsDeclined(mistyped) {
		t.Error("IsDeclined(incorrect_number) = true")
	}
}

func TestNonJSONError(t *testing.T) {
	f := newFake(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(502)
		io.WriteString(w, "<html><body>Bad Gateway</body></html>")
	})
	_, err := mustClient(t, f, client.WithMaxRetries(0)).GetPayment(context.Background(), "pay_1")
	var e *client.Error
	if !errors.As(err, &e) {
		t.Fatalf("got %T %v, want *client.Error", err, err)
	}
	if e.Status != 502 || e.Message == "" || e.Code != "" || e.RequestID != "req_0" {
		t.Errorf("got %+v", e)
	}
}

func TestBadSuccessBody(t *testing.T) {
	f := newFake(t, func(_ int, w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "not json") })
	_, err := mustClient(t, f).GetPayment(context.Background(), "pay_1")
	var e *client.Error
	if err == nil || errors.As(err, &e) || len(f.Calls()) != 1 {
		t.Errorf("got %v after %d calls, want a decode error at once", err, len(f.Calls()))
	}
}

func TestRetryAfterDroppedConnection(t *testing.T) {
	f := newFake(t, func(n int, w http.ResponseWriter, r *http.Request) {
		if n == 0 { // hang up without answering
			conn, _, err := w.(http.Hijacker).Hijack()
			if err != nil {
				t.Error(err)
				return
			}
			conn.Close()
			return
		}
		okPayment(n, w, r)
	})
	// okPayment's JSON decodes into a Refund well enough; what matters is
	// that the second attempt succeeded.
	if _, err := mustClient(t, f).Refund(context.Background(), "pay_1", client.RefundParams{}); err != nil {
		t.Fatal(err)
	}
	calls := f.Calls()
	if len(calls) != 2 {
		t.Fatalf("got %d calls, want 2", len(calls))
	}
	if k0, k1 := calls[0].Header.Get("Idempotency-Key"), calls[1].Header.Get("Idempotency-Key"); k0 != k1 {
		t.Errorf("retry changed Idempotency-Key from %q to %q", k0, k1)
	}
}

func TestRetryTimeout(t *testing.T) {
	f := newFake(t, func(n int, w http.ResponseWriter, r *http.Request) {
		if n == 0 {
			time.Sleep(300 * time.Millisecond)
		}
		okPayment(n, w, r)
	})
	c := mustClient(t, f, client.WithHTTPClient(&http.Client{Timeout: 100 * time.Millisecond}))
	if _, err := c.GetPayment(context.Background(), "pay_1"); err != nil {
		t.Fatal(err)
	}
	if n := len(f.Calls()); n != 2 {
		t.Errorf("got %d calls, want 2", n)
	}
}

func TestConnectionRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	c := client.New("http://"+addr, "sk_test_secret", client.WithBackoff(time.Millisecond, time.Millisecond))
	_, err = c.GetPayment(context.Background(), "pay_1")
	var e *client.Error
	if err == nil || errors.As(err, &e) {
		t.Errorf("got %v, want a network error", err)
	}
	if strings.Contains(err.Error(), "sk_test_secret") {
		t.Errorf("error %q shows the secret key", err)
	}
}

func TestCancelStopsRetries(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	f := newFake(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
		writeError(w, 503, "api_error", "unavailable")
		// The caller gives up while the client waits (1s) to retry.
		time.AfterFunc(50*time.Millisecond, cancel)
	})
	c := mustClient(t, f, client.WithBackoff(time.Second, time.Second), client.WithMaxRetries(5))
	start := time.Now()
	_, err := c.CreatePayment(ctx, client.PaymentParams{Amount: 1, Currency: "USD", CardID: "card_1"})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("got %v, want context.Canceled", err)
	}
	var e *client.Error
	if !errors.As(err, &e) || e.Status != 503 {
		t.Errorf("got %v, want it to carry the last 503 too", err)
	}
	if n := len(f.Calls()); n != 1 {
		t.Errorf("got %d calls, want 1", n)
	}
	if d := time.Since(start); d > 500*time.Millisecond {
		t.Errorf("took %v, want the cancel to cut the backoff short", d)
	}

	// Cancelled before the call: nothing is sent.
	if _, err := c.GetPayment(ctx, "pay_1"); !errors.Is(err, context.Canceled) || len(f.Calls()) != 1 {
		t.Errorf("got %v after %d calls, want context.Canceled and no call", err, len(f.Calls()))
	}
}

func TestPaymentsIterator(t *testing.T) {
	pages := map[string]string{ // by starting_after
		"":      `{"object":"list","data":[{"id":"pay_9"},{"id":"pay_8"}],"has_more":true}`,
		"pay_8": `{"object":"list","data":[{"id":"pay_7"},{"id":"pay_6"}],"has_more":true}`,
		"pay_6": `{"object":"list","data":[{"id":"pay_5"}],"has_more":false}`,
	}
	f := newFake(t, func(_ int, w http.ResponseWriter, r *http.Request) {
		page, ok := pages[r.URL.Query().Get("starting_after")]
		if !ok {
			writeError(w, 400, "invalid_request_error", "bad_cursor")
			return
		}
		io.WriteString(w, page)
	})
	c := mustClient(t, f)
	var ids []string
	for pay, err := range c.Payments(context.Background(), client.ListParams{Limit: 2, Status: client.StatusCaptured}) {
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, pay.ID)
	}
	if got, want := strings.Join(ids, " "), "pay_9 pay_8 pay_7 pay_6 pay_5"; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
	calls := f.Calls()
	if len(calls) != 3 {
		t.Fatalf("got %d pages fetched, want 3", len(calls))
	}
	for i, after := range []string{"", "pay_8", "pay_6"} {
		q, _ := url.ParseQuery(calls[i].RawQuery)
		if q.Get("starting_after") != after || q.Get("limit") != "2" || q.Get("status") != "captured" {
			t.Errorf("page %d: got query %s, want starting_after=%q limit=2 status=captured", i, calls[i].RawQuery, after)
		}
	}

	// Stopping early fetches no more pages.
	for pay := range c.Payments(context.Background(), client.ListParams{}) {
		if pay.ID == "pay_9" {
			break
		}
	}
	if n := len(f.Calls()); n != 4 {
		t.Errorf("after an early break: got %d fetches in all, want 4", n)
	}
}

func TestPaymentsIteratorError(t *testing.T) {
	f := newFake(t, func(n int, w http.ResponseWriter, _ *http.Request) {
		if n == 0 {
			io.WriteString(w, `{"object":"list","data":[{"id":"pay_2"}],"has_more":true}`)
			return
		}
		writeError(w, 401, "authentication_error", "invalid_api_key")
	})
	var ids []string
	var errs []error
	for pay, err := range mustClient(t, f).Payments(context.Background(), client.ListParams{}) {
		if err != nil {
			errs = append(errs, err)
			continue
		}
		ids = append(ids, pay.ID)
	}
	if len(ids) != 1 || len(errs) != 1 {
		t.Errorf("got ids %v and errors %v, want one of each", ids, errs)
	}
}

func TestCardParamsMasked(t *testing.T) {
	card := client.CardParams{Number: "4111 1111 1111 1111", ExpMonth: 4, ExpYear: 2029, CVC: "987", Name: "Ada"}
	params := client.PaymentParams{Amount: 1, Currency: "USD", Card: &card}

	var logged bytes.Buffer
	// Without the time: its digits could hold the CVC's by chance.
	opts := &slog.HandlerOptions{ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
		if a.Key == slog.TimeKey {
			return slog.Attr{}
		}
		return a
	}}
	slog.New(slog.NewJSONHandler(&logged, opts)).Info("pay", "params", params, "card", card)
	slog.New(slog.NewTextHandler(&logged, opts)).Info("pay", "params", params, "card", card)
	js, err := json.Marshal(params)
	if err != nil {
		t.Fatal(err)
	}

	outputs := map[string]string{"slog": logged.String(), "json": string(js)}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%d", "%x", "%X", "%10v"} {
		outputs[verb+" card"] = fmt.Sprintf(verb, card)
		outputs[verb+" &card"] = fmt.Sprintf(verb, &card)
		outputs[verb+" params"] = fmt.Sprintf(verb, params)
		outputs[verb+" &params"] = fmt.Sprintf(verb, &params)
	}
	for name, out := range outputs {
		for _, secret := range []string{"4111111111111111", "4111 1111 1111 1111", "1111 1111", "987"} {
			if strings.Contains(out, secret) {
				t.Errorf("%s: %q shows %q", name, out, secret)
			}
		}
	}
	if got, want := card.String(), "{Number:411111******1111 ExpMonth:4 ExpYear:2029 CVC:*** Name:Ada}"; got != want {
		t.Errorf("got String() %s, want %s", got, want)
	}
	if got := fmt.Sprintf("%#v", card); !strings.HasPrefix(got, `client.CardParams{Number:"411111******1111"`) {
		t.Errorf("got %%#v %s", got)
	}
	if got := (client.CardParams{Number: "12345"}).String(); strings.Contains(got, "12345") {
		t.Errorf("a short number shows: %s", got)
	}
}

func TestClientHidesKey(t *testing.T) {
	c := client.New("http://127.0.0.1:1", "sk_live_topsecret")
	for _, verb := range []string{"%v", "%+v", "%#v"} {
		if s := fmt.Sprintf(verb, c); strings.Contains(s, "topsecret") {
			t.Errorf("%s of a Client shows the key: %s", verb, s)
		}
	}
}

func TestNoRetryOfReplayedError(t *testing.T) {
	calls := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls++
		w.Header().Set("Idempotent-Replayed", "true")
		w.WriteHeader(500)
		w.Write([]byte(`{"error":{"type":"api_error","code":"internal_error","message":"Internal error."}}`))
	}))
	defer srv.Close()
	c := client.New(srv.URL, "sk_test", client.WithBackoff(time.Millisecond, time.Millisecond))
	_, err := c.CreatePayment(context.Background(), client.PaymentParams{Amount: 1, Currency: "USD", CardID: "card_x"})
	if err == nil || calls != 1 {
		t.Errorf("got %v after %d calls, want the stored 500 once", err, calls)
	}
}
