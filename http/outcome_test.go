package http

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/paygate/paygate"
)

// TestRespondOutcome: what a handler returns says what the request did,
// and so what becomes of its Idempotency-Key, without reading the body.
func TestRespondOutcome(t *testing.T) {
	s := &Server{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	r := httptest.NewRequest("POST", "/v1/payments", nil)
	decline := paygate.DeclineError("51")
	tests := []struct {
		name        string
		v           any
		err         error
		wantStatus  int
		want        outcome
		wantRetry   bool
		wantPayment string // payment_id in the error body
	}{
		{"success", map[string]string{"id": "pay_1"}, nil, 200, outcomeRecorded, false, ""},
		// Merchant data that reads like an error's fields changes nothing.
		{"success quoting codes", map[string]string{"code": paygate.EIDEMPOTENCYBUSY, "payment_id": "pay_1"}, nil, 200, outcomeRecorded, false, ""},
		{"recorded decline", nil, &recordedError{paymentID: "pay_1", err: decline}, 402, outcomeRecorded, false, "pay_1"},
		{"recorded decline, wrapped", nil, fmt.Errorf("resume: %w", &recordedError{paymentID: "pay_2", err: decline}), 402, outcomeRecorded, false, "pay_2"},
		{"decline not recorded", nil, decline, 402, outcomeUnchanged, false, ""},
		{"validation", nil, paygate.ParamErrorf(paygate.EINVALID, "amount", "Bad amount."), 422, outcomeUnchanged, false, ""},
		{"validation naming a payment", nil, paygate.Errorf(paygate.ECONFLICT, `Payment "payment_id":"pay_1" cannot.`), 409, outcomeUnchanged, false, ""},
		{"busy", nil, paygate.Errorf(paygate.EBUSY, "Busy."), 409, outcomeUnchanged, true, ""},
		{"earlier attempt in doubt", nil, paygate.ErrInDoubt, 409, outcomeInDoubt, true, ""},
		{"earlier attempt in doubt, wrapped", nil, fmt.Errorf("resume: %w", paygate.ErrInDoubt), 409, outcomeInDoubt, true, ""},
		{"internal", nil, errors.New("disk on fire"), 500, outcomeUnknown, false, ""},
		{"recorded but internal", nil, &recordedError{paymentID: "pay_1", err: errors.New("disk on fire")}, 500, outcomeUnknown, false, ""},
		{"unavailable", nil, paygate.Errorf(paygate.EUNAVAILABLE, "Not ready."), 503, outcomeUnknown, false, ""},
		{"unencodable", make(chan int), nil, 500, outcomeUnknown, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := func(*http.Request, *paygate.Merchant, []byte) (any, error) { return tt.v, tt.err }
			a := s.respond(r, h, &paygate.Merchant{}, nil)
			if a.status != tt.wantStatus || a.outcome != tt.want || a.retry != tt.wantRetry {
				t.Errorf("got %d, outcome %d, retry %t; want %d, outcome %d, retry %t", a.status, a.outcome, a.retry, tt.wantStatus, tt.want, tt.wantRetry)
			}
			if tt.wantStatus >= 400 {
				var body errorBody
				if err := json.Unmarshal(a.body, &body); err != nil {
					t.Fatalf("body %q: %v", a.body, err)
				}
				if body.Error.PaymentID != tt.wantPayment {
					t.Errorf("got payment_id %q, want %q", body.Error.PaymentID, tt.wantPayment)
				}
			}
		})
	}
}

// TestRoutes: every route is served, and its path asked with another
// method answers 405 with the methods it takes.
func TestRoutes(t *testing.T) {
	s := &Server{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	h := s.Handler()
	serve := func(method, path string) *httptest.ResponseRecorder {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(method, path, nil))
		return w
	}
	for _, rt := range s.routes() {
		// No API key: an API route answers 401, which shows it is there.
		if w := serve(rt.method, rt.path); w.Code == 404 || w.Code == 405 {
			t.Errorf("%s %s: got %d, want it served", rt.method, rt.path, w.Code)
		}
	}
	for path, allow := range map[string]string{
		"/v1/payments": "GET, POST", "/v1/payments/{id}": "GET", "/v1/payments/{id}/capture": "POST",
		"/v1/payments/{id}/void": "POST", "/v1/payments/{id}/refunds": "POST", "/v1/payments/{id}/ack": "POST", "/v1/payments/{id}/trace": "GET",
		"/v1/cards": "POST", "/v1/cards/{id}": "GET", "/healthz": "GET", "/readyz": "GET",
	} {
		w := serve("DELETE", path)
		var body errorBody
		json.Unmarshal(w.Body.Bytes(), &body)
		if w.Code != 405 || w.Header().Get("Allow") != allow || body.Error.Code != paygate.EMETHOD {
			t.Errorf("DELETE %s: got %d, Allow %q, code %q; want 405, Allow %q, %s", path, w.Code, w.Header().Get("Allow"), body.Error.Code, allow, paygate.EMETHOD)
		}
	}
}
