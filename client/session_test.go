package client_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"reflect"
	"testing"
	"time"

	"github.com/paygate/paygate/client"
)

const sessionJSON = `{"object":"session","id":"cs_ABC","url":"http://127.0.0.1:8080/pay/cs_ABC","status":"complete",
"outcome":"approved","sequence":2,"model":"redirect","amount":1999,"currency":"USD","order_id":"o-1",
"description":"Two mugs","return_url":"https://shop.example.com/paid","cancel_url":"https://shop.example.com/cart",
"capture":true,"customer_email":"ada@example.com","metadata":{"k":"v"},"attempts":2,
"payment":` + paymentJSON + `,
"expires_at":"2026-03-01T12:30:00Z","created_at":"2026-03-01T12:00:00Z","completed_at":"2026-03-01T12:05:00Z",
"acked_at":"2026-03-01T12:06:00Z"}`

const openSessionJSON = `{"object":"session","id":"cs_ABC","url":"http://127.0.0.1:8080/pay/cs_ABC","status":"open",
"sequence":0,"model":"proxy","amount":500,"currency":"EUR","return_url":"https://shop.example.com/paid","capture":false,
"attempts":0,"expires_at":"2026-03-01T12:30:00Z","created_at":"2026-03-01T12:00:00Z"}`

const settingsJSON = `{"object":"settings","merchant_id":"mer_1","allowed_origins":["https://shop.example.com"],
"success_url":"https://shop.example.com/paid","decline_url":"","cancel_url":"https://shop.example.com/cart",
"default_model":"proxy","require_ack":true,"ack_window":600,"display_name":"Mug Shop","logo_url":"",
"signing_secrets":[{"id":"whsec_2","created_at":"2026-03-02T00:00:00Z"},
{"id":"whsec_1","created_at":"2026-03-01T00:00:00Z","expires_at":"2026-03-03T00:00:00Z"}]}`

func date(day, h, m int) time.Time { return time.Date(2026, 3, day, h, m, 0, 0, time.UTC) }

func TestSessionAndSettingsRequests(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name       string
		do         func(*client.Client) (any, error)
		method     string
		path       string
		body       string
		response   string
		idempotent bool
		check      func(t *testing.T, got any)
	}{
		{
			name: "start session",
			do: func(c *client.Client) (any, error) {
				return c.StartSession(ctx, client.SessionParams{
					Amount: 1999, Currency: "USD", OrderID: "o-1", Description: "Two mugs",
					ReturnURL: "https://shop.example.com/paid", CancelURL: "https://shop.example.com/cart",
					Model: client.ModelRedirect, Capture: new(true), CustomerEmail: "ada@example.com",
					Metadata: map[string]string{"k": "v"}, IdempotencyKey: "order-o-1",
				})
			},
			method: "POST", path: "/v1/sessions", response: sessionJSON, idempotent: true,
			body: `{"amount":1999,"currency":"USD","order_id":"o-1","description":"Two mugs",` +
				`"return_url":"https://shop.example.com/paid","cancel_url":"https://shop.example.com/cart",` +
				`"model":"redirect","capture":true,"customer_email":"ada@example.com","metadata":{"k":"v"}}`,
			check: checkCompleteSession,
		},
		{
			name: "start session, the least",
			do: func(c *client.Client) (any, error) {
				return c.StartSession(ctx, client.SessionParams{Amount: 500, Currency: "EUR"})
			},
			method: "POST", path: "/v1/sessions", response: openSessionJSON, idempotent: true,
			body: `{"amount":500,"currency":"EUR"}`,
			check: func(t *testing.T, got any) {
				s := got.(*client.Session)
				if s.Status != client.SessionOpen || s.Outcome != "" || s.Payment != nil || s.CompletedAt != nil ||
					s.AckedAt != nil || s.Model != client.ModelProxy || s.Capture {
					t.Errorf("got %+v, want an open proxy session without payment", s)
				}
			},
		},
		{
			name:   "get session",
			do:     func(c *client.Client) (any, error) { return c.Session(ctx, "cs_ABC") },
			method: "GET", path: "/v1/sessions/cs_ABC", response: sessionJSON, check: checkCompleteSession,
		},
		{
			name:   "ack session",
			do:     func(c *client.Client) (any, error) { return c.AckSession(ctx, "cs_ABC") },
			method: "POST", path: "/v1/sessions/cs_ABC/ack", body: `{}`, response: sessionJSON, idempotent: true,
			check: checkCompleteSession,
		},
		{
			name:   "session id escaped",
			do:     func(c *client.Client) (any, error) { return c.Session(ctx, "cs_/../x") },
			method: "GET", path: "/v1/sessions/cs_/../x", response: sessionJSON, // escaped: one path segment
		},
		{
			name:   "get settings",
			do:     func(c *client.Client) (any, error) { return c.Settings(ctx) },
			method: "GET", path: "/v1/settings", response: settingsJSON,
			check: func(t *testing.T, got any) {
				want := &client.Settings{
					Object: "settings", MerchantID: "mer_1", AllowedOrigins: []string{"https://shop.example.com"},
					SuccessURL: "https://shop.example.com/paid", CancelURL: "https://shop.example.com/cart",
					DefaultModel: client.ModelProxy, RequireAck: true, AckWindow: 600, DisplayName: "Mug Shop",
					SigningSecrets: []client.SigningSecret{
						{ID: "whsec_2", CreatedAt: date(2, 0, 0)},
						{ID: "whsec_1", CreatedAt: date(1, 0, 0), ExpiresAt: new(date(3, 0, 0))},
					},
				}
				if !reflect.DeepEqual(got, want) {
					t.Errorf("got  %+v\nwant %+v", got, want)
				}
			},
		},
		{
			name: "update settings: only the named fields, zero values too",
			do: func(c *client.Client) (any, error) {
				return c.UpdateSettings(ctx, client.SettingsUpdate{
					AllowedOrigins: new([]string{"https://shop.example.com"}),
					DeclineURL:     new(""),
					RequireAck:     new(false),
					AckWindow:      new(int64(0)),
				})
			},
			method: "POST", path: "/v1/settings", response: settingsJSON, idempotent: true,
			body: `{"allowed_origins":["https://shop.example.com"],"decline_url":"","require_ack":false,"ack_window":0}`,
		},
		{
			name: "update settings: every field",
			do: func(c *client.Client) (any, error) {
				return c.UpdateSettings(ctx, client.SettingsUpdate{
					AllowedOrigins: new([]string{}), SuccessURL: new("https://a.example/s"), DeclineURL: new("https://a.example/d"),
					CancelURL: new("https://a.example/c"), DefaultModel: new(client.ModelProxy), RequireAck: new(true),
					AckWindow: new(int64(3600)), DisplayName: new("Shop"), LogoURL: new("https://a.example/logo.png"),
				})
			},
			method: "POST", path: "/v1/settings", response: settingsJSON, idempotent: true,
			body: `{"allowed_origins":[],"success_url":"https://a.example/s","decline_url":"https://a.example/d",` +
				`"cancel_url":"https://a.example/c","default_model":"proxy","require_ack":true,"ack_window":3600,` +
				`"display_name":"Shop","logo_url":"https://a.example/logo.png"}`,
		},
		{
			name:   "update settings: nothing",
			do:     func(c *client.Client) (any, error) { return c.UpdateSettings(ctx, client.SettingsUpdate{}) },
			method: "POST", path: "/v1/settings", body: `{}`, response: settingsJSON, idempotent: true,
		},
		{
			name:   "rotate signing secret",
			do:     func(c *client.Client) (any, error) { return c.RotateSigningSecret(ctx) },
			method: "POST", path: "/v1/settings/signing_secret", body: `{}`, idempotent: true,
			response: `{"object":"signing_secret","signing_secret":"whsec_AAAA","created_at":"2026-03-01T12:00:00Z"}`,
			check: func(t *testing.T, got any) {
				if got != "whsec_AAAA" {
					t.Errorf("got %q, want whsec_AAAA", got)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t, func(_ int, w http.ResponseWriter, _ *http.Request) { io.WriteString(w, tt.response) })
			got, err := tt.do(mustClient(t, f))
			if err != nil {
				t.Fatal(err)
			}
			calls := f.Calls()
			if len(calls) != 1 {
				t.Fatalf("got %d calls, want 1", len(calls))
			}
			c := calls[0]
			if c.Method != tt.method || c.Path != tt.path || c.RawQuery != "" {
				t.Errorf("got %s %s?%s, want %s %s", c.Method, c.Path, c.RawQuery, tt.method, tt.path)
			}
			if string(c.Body) != tt.body {
				t.Errorf("got body  %s\nwant body %s", c.Body, tt.body)
			}
			if k := c.Header.Get("Idempotency-Key"); (k != "") != tt.idempotent {
				t.Errorf("got Idempotency-Key %q, want one: %v", k, tt.idempotent)
			}
			if tt.name == "start session" && c.Header.Get("Idempotency-Key") != "order-o-1" {
				t.Errorf("got Idempotency-Key %q, want order-o-1", c.Header.Get("Idempotency-Key"))
			}
			if tt.check != nil {
				tt.check(t, got)
			}
		})
	}
}

func checkCompleteSession(t *testing.T, got any) {
	t.Helper()
	s := got.(*client.Session)
	p := s.Payment
	s.Payment = nil
	want := &client.Session{
		ID: "cs_ABC", Object: "session", URL: "http://127.0.0.1:8080/pay/cs_ABC", Status: client.SessionComplete,
		Outcome: client.OutcomeApproved, Sequence: 2, Model: client.ModelRedirect, Amount: 1999, Currency: "USD",
		OrderID: "o-1", Description: "Two mugs", ReturnURL: "https://shop.example.com/paid",
		CancelURL: "https://shop.example.com/cart", Capture: true, CustomerEmail: "ada@example.com",
		Metadata: map[string]string{"k": "v"}, Attempts: 2, ExpiresAt: date(1, 12, 30), CreatedAt: date(1, 12, 0),
		CompletedAt: new(date(1, 12, 5)), AckedAt: new(date(1, 12, 6)),
	}
	if !reflect.DeepEqual(s, want) {
		t.Errorf("got  %+v\nwant %+v", s, want)
	}
	if p == nil || p.ID != "pay_1" || p.Status != client.StatusCaptured || p.Card == nil || p.Card.Last4 != "4242" ||
		p.ConfirmationNumber != "PG-7K3M-9QX2" {
		t.Errorf("got payment %+v, want pay_1 captured, card 4242, PG-7K3M-9QX2", p)
	}
}

func TestSessionErrors(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name   string
		do     func(*client.Client) error
		status int
		code   string
		param  string
	}{
		{"unknown session", func(c *client.Client) error { _, err := c.Session(ctx, "cs_x"); return err },
			404, "resource_missing", ""},
		{"ack before payment", func(c *client.Client) error { _, err := c.AckSession(ctx, "cs_x"); return err },
			409, "conflict", ""},
		{"session with a bad URL", func(c *client.Client) error {
			_, err := c.StartSession(ctx, client.SessionParams{Amount: 1, Currency: "USD", ReturnURL: "https://evil.example"})
			return err
		}, 400, "invalid", "return_url"},
		{"no signing secret yet", func(c *client.Client) error {
			_, err := c.StartSession(ctx, client.SessionParams{Amount: 1, Currency: "USD"})
			return err
		}, 409, "conflict", ""},
		{"settings invalid", func(c *client.Client) error {
			_, err := c.UpdateSettings(ctx, client.SettingsUpdate{AllowedOrigins: new([]string{"ftp://x"})})
			return err
		}, 400, "invalid", "allowed_origins"},
		{"rotate with a publishable key", func(c *client.Client) error { _, err := c.RotateSigningSecret(ctx); return err },
			401, "invalid_api_key", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
				w.WriteHeader(tt.status)
				io.WriteString(w, `{"error":{"type":"invalid_request_error","code":"`+tt.code+
					`","message":"No.","param":"`+tt.param+`"}}`)
			})
			err := tt.do(mustClient(t, f))
			var e *client.Error
			if !errors.As(err, &e) {
				t.Fatalf("got %T %v, want *client.Error", err, err)
			}
			if e.Status != tt.status || e.Code != tt.code || e.Param != tt.param || e.Message != "No." {
				t.Errorf("got %+v, want status %d code %s param %q", e, tt.status, tt.code, tt.param)
			}
			if n := len(f.Calls()); n != 1 {
				t.Errorf("got %d calls, want 1: not retried", n)
			}
		})
	}
}

func TestSessionEmptyID(t *testing.T) {
	c := client.New("http://127.0.0.1:1", "sk")
	if _, err := c.Session(context.Background(), ""); err == nil {
		t.Error("Session(\"\"): got nil error")
	}
	if _, err := c.AckSession(context.Background(), ""); err == nil {
		t.Error("AckSession(\"\"): got nil error")
	}
}
