package client_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/paygate/paygate/client"
)

// webhookVector is a known-answer case of testdata/webhooks.json, computed
// by testdata/webhooks.py with Python's hmac, independently of our code;
// its first case is the Standard Webhooks reference libraries' own.
type webhookVector struct {
	Name        string   `json:"name"`
	Secret      string   `json:"secret"`       // the one the receiver holds
	OtherSecret string   `json:"other_secret"` // another that signed too (rotation)
	Signers     []string `json:"signers"`
	ID          string   `json:"id"`
	Timestamp   int64    `json:"timestamp"`
	Body        string   `json:"body"`
	Signature   string   `json:"signature"`
}

func mustWebhookVectors(tb testing.TB) []webhookVector {
	tb.Helper()
	data, err := os.ReadFile("testdata/webhooks.json")
	if err != nil {
		tb.Fatal(err)
	}
	var vs []webhookVector
	if err := json.Unmarshal(data, &vs); err != nil {
		tb.Fatal(err)
	}
	if len(vs) < 4 {
		tb.Fatalf("got %d vectors, want at least 4", len(vs))
	}
	return vs
}

func (v webhookVector) header() http.Header {
	h := http.Header{}
	h.Set("webhook-id", v.ID)
	h.Set("webhook-timestamp", strconv.FormatInt(v.Timestamp, 10))
	h.Set("webhook-signature", v.Signature)
	return h
}

func TestVerifyWebhookVectors(t *testing.T) {
	other := "whsec_" + strings.Repeat("A", 43) + "="
	for _, v := range mustWebhookVectors(t) {
		t.Run(v.Name, func(t *testing.T) {
			at := time.Unix(v.Timestamp, 0)
			for _, now := range []time.Time{at, at.Add(client.SignatureTolerance), at.Add(-client.SignatureTolerance)} {
				if _, err := client.VerifyWebhook(v.header(), []byte(v.Body), now, v.Secret); err != nil {
					t.Fatalf("at %s: %v", now.Sub(at), err)
				}
			}
			if v.OtherSecret != "" {
				if _, err := client.VerifyWebhook(v.header(), []byte(v.Body), at, v.OtherSecret); err != nil {
					t.Errorf("with the other secret: %v", err)
				}
			}
			for _, secrets := range [][]string{{other, v.Secret}, {v.Secret, other}} {
				if _, err := client.VerifyWebhook(v.header(), []byte(v.Body), at, secrets...); err != nil {
					t.Errorf("among other secrets: %v", err)
				}
			}
			if _, err := client.VerifyWebhook(v.header(), []byte(v.Body), at, other); !errors.Is(err, client.ErrBadSignature) {
				t.Errorf("with another secret: got %v, want ErrBadSignature", err)
			}
			// Signatures of schemes it does not know are skipped, not refused.
			h := v.header()
			h.Set("webhook-signature", "v1a,hnO3f9T8Ytu9HwrXslvumlUpqtNVqkhqw v2,AAAA "+v.Signature+" v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=")
			if _, err := client.VerifyWebhook(h, []byte(v.Body), at, v.Secret); err != nil {
				t.Errorf("among other signatures: %v", err)
			}
		})
	}
}

// Changing anything signed breaks the signature.
func TestVerifyWebhookTampered(t *testing.T) {
	for _, v := range mustWebhookVectors(t) {
		t.Run(v.Name, func(t *testing.T) {
			at := time.Unix(v.Timestamp, 0)
			tests := []struct {
				name   string
				change func(h http.Header, body []byte) []byte
			}{
				{"body", func(h http.Header, b []byte) []byte { return append(b[:len(b)-1:len(b)-1], ' ', b[len(b)-1]) }},
				{"body byte", func(h http.Header, b []byte) []byte { b[1] ^= 1; return b }},
				{"empty body", func(h http.Header, b []byte) []byte { return nil }},
				{"id", func(h http.Header, b []byte) []byte { h.Set("webhook-id", v.ID+"x"); return b }},
				{"timestamp", func(h http.Header, b []byte) []byte {
					h.Set("webhook-timestamp", strconv.FormatInt(v.Timestamp+1, 10))
					return b
				}},
				{"no id", func(h http.Header, b []byte) []byte { h.Del("webhook-id"); return b }},
				{"no timestamp", func(h http.Header, b []byte) []byte { h.Del("webhook-timestamp"); return b }},
				{"no signature", func(h http.Header, b []byte) []byte { h.Del("webhook-signature"); return b }},
				{"timestamp not a number", func(h http.Header, b []byte) []byte { h.Set("webhook-timestamp", "soon"); return b }},
				{"signature without v1", func(h http.Header, b []byte) []byte {
					h.Set("webhook-signature", strings.TrimPrefix(strings.Fields(v.Signature)[0], "v1,"))
					return b
				}},
				// The id moved into the timestamp: id.timestamp.body is
				// not timestamp.body with a longer timestamp.
				{"id and timestamp swapped", func(h http.Header, b []byte) []byte {
					h.Set("webhook-id", strconv.FormatInt(v.Timestamp, 10))
					h.Set("webhook-timestamp", "1")
					return b
				}},
			}
			for _, tt := range tests {
				h := v.header()
				body := tt.change(h, []byte(v.Body))
				if _, err := client.VerifyWebhook(h, body, at, v.Secret); !errors.Is(err, client.ErrBadSignature) {
					t.Errorf("%s: got %v, want ErrBadSignature", tt.name, err)
				}
			}
		})
	}
}

func TestVerifyWebhookExpired(t *testing.T) {
	v := mustWebhookVectors(t)[1]
	at := time.Unix(v.Timestamp, 0)
	for _, now := range []time.Time{at.Add(client.SignatureTolerance + time.Second), at.Add(-client.SignatureTolerance - time.Second), at.Add(24 * time.Hour)} {
		_, err := client.VerifyWebhook(v.header(), []byte(v.Body), now, v.Secret)
		if !errors.Is(err, client.ErrExpired) {
			t.Errorf("at %s: got %v, want ErrExpired", now.Sub(at), err)
		}
	}
	// A forged post-back is a bad signature, however old.
	_, err := client.VerifyWebhook(v.header(), []byte(v.Body+" "), at.Add(time.Hour), v.Secret)
	if !errors.Is(err, client.ErrBadSignature) {
		t.Errorf("forged and old: got %v, want ErrBadSignature", err)
	}
}

func TestVerifyWebhookEvent(t *testing.T) {
	v := mustWebhookVectors(t)[1]
	ev, err := client.VerifyWebhook(v.header(), []byte(v.Body), time.Unix(v.Timestamp, 0), v.Secret)
	if err != nil {
		t.Fatal(err)
	}
	d := ev.Data
	if ev.ID != v.ID || ev.Type != client.EventPaymentCaptured || !ev.Timestamp.Equal(time.Date(2026, 3, 1, 11, 59, 58, 123456000, time.UTC)) ||
		d.PaymentID != "pay_01jnx5z8k3m9qx2abcdefghjkm" || d.Status != client.StatusCaptured || d.Amount != 1999 ||
		d.Currency != "USD" || d.OrderID != "order-1001" || d.ConfirmationNumber != "PG-7K3M-9QX2" || d.CardLast4 != "4242" ||
		d.SessionID != "cs_7k3m9qx2abcdefghjkmnpqrstvw" || d.Sequence != 2 {
		t.Errorf("got %+v", ev)
	}
}

func TestVerifyWebhookSecrets(t *testing.T) {
	v := mustWebhookVectors(t)[1]
	at := time.Unix(v.Timestamp, 0)
	for _, secrets := range [][]string{nil, {"sk_test_123"}, {"whsec_short"}, {v.Secret, "whsec_!!"}} {
		_, err := client.VerifyWebhook(v.header(), []byte(v.Body), at, secrets...)
		if err == nil || errors.Is(err, client.ErrBadSignature) || errors.Is(err, client.ErrExpired) {
			t.Errorf("%d secrets: got %v, want a plain error", len(secrets), err)
		}
		for _, s := range secrets {
			if err != nil && strings.Contains(err.Error(), s) {
				t.Errorf("the error %q shows a secret", err)
			}
		}
	}
}

func TestWebhookRequests(t *testing.T) {
	ctx := context.Background()
	const endpoint = `{"id":"we_1","object":"webhook_endpoint","url":"https://shop.example.com/hooks","events":["*"],"status":"enabled","failures":0,"created_at":"2026-03-01T12:00:00Z","updated_at":"2026-03-01T12:00:00Z"}`
	const deliveries = `{"object":"list","data":[{"id":"evt_1.we_1","object":"webhook_delivery","event_id":"evt_1","endpoint_id":"we_1","status":"pending","next_at":"2026-03-01T12:00:05Z","attempts":[{"at":"2026-03-01T12:00:00Z","status":500,"ms":12,"error":"the endpoint answered HTTP 500","response":"oops"}]}]}`
	tests := []struct {
		name       string
		do         func(*client.Client) error
		method     string
		path       string
		query      string
		body       string
		response   string
		idempotent bool
	}{
		{
			name: "create endpoint",
			do: func(c *client.Client) error {
				e, err := c.CreateWebhookEndpoint(ctx, client.WebhookEndpointParams{URL: "https://shop.example.com/hooks",
					Events: []string{client.EventPaymentCaptured}})
				if err == nil && (e.ID != "we_1" || e.Secret != "whsec_x") {
					err = errors.New("got " + e.ID + " " + e.Secret)
				}
				return err
			},
			method: "POST", path: "/v1/webhook_endpoints", idempotent: true,
			body:     `{"url":"https://shop.example.com/hooks","events":["payment.captured"]}`,
			response: strings.TrimSuffix(endpoint, "}") + `,"secret":"whsec_x"}`,
		},
		{
			name: "list endpoints",
			do: func(c *client.Client) error {
				list, err := c.WebhookEndpoints(ctx)
				if err == nil && (len(list) != 1 || list[0].URL != "https://shop.example.com/hooks") {
					err = errors.New("got the wrong list")
				}
				return err
			},
			method: "GET", path: "/v1/webhook_endpoints", response: `{"object":"list","data":[` + endpoint + `]}`,
		},
		{
			name:   "get endpoint",
			do:     func(c *client.Client) error { _, err := c.WebhookEndpoint(ctx, "we_1"); return err },
			method: "GET", path: "/v1/webhook_endpoints/we_1", response: endpoint,
		},
		{
			name:   "delete endpoint",
			do:     func(c *client.Client) error { _, err := c.DeleteWebhookEndpoint(ctx, "we_1"); return err },
			method: "DELETE", path: "/v1/webhook_endpoints/we_1", response: endpoint,
		},
		{
			name: "rotate",
			do: func(c *client.Client) error {
				e, err := c.RotateWebhookEndpointSecret(ctx, "we_1")
				if err == nil && e.Secret != "whsec_y" {
					err = errors.New("got no secret")
				}
				return err
			},
			method: "POST", path: "/v1/webhook_endpoints/we_1/secret", body: `{}`, idempotent: true,
			response: strings.TrimSuffix(endpoint, "}") + `,"secret":"whsec_y"}`,
		},
		{
			name: "list events",
			do: func(c *client.Client) error {
				_, err := c.ListEvents(ctx, client.EventListParams{Limit: 5, StartingAfter: "evt_9", Type: client.EventPaymentRefunded, PaymentID: "pay_1"})
				return err
			},
			method: "GET", path: "/v1/events", response: `{"object":"list","data":[],"has_more":false}`,
			query: "limit=5&payment_id=pay_1&starting_after=evt_9&type=payment.refunded",
		},
		{
			name: "get event",
			do: func(c *client.Client) error {
				e, err := c.Event(ctx, "evt_1")
				if err == nil && (e.Type != client.EventPaymentVoided || e.Data.PaymentID != "pay_1") {
					err = errors.New("got the wrong event")
				}
				return err
			},
			method: "GET", path: "/v1/events/evt_1",
			response: `{"id":"evt_1","object":"event","type":"payment.voided","timestamp":"2026-03-01T12:00:00Z","data":{"payment_id":"pay_1","status":"voided"}}`,
		},
		{
			name: "deliveries",
			do: func(c *client.Client) error {
				ds, err := c.EventDeliveries(ctx, "evt_1")
				if err == nil && (len(ds) != 1 || len(ds[0].Attempts) != 1 || ds[0].Attempts[0].Millis != 12 || ds[0].Attempts[0].Response != "oops") {
					err = errors.New("got the wrong deliveries")
				}
				return err
			},
			method: "GET", path: "/v1/events/evt_1/deliveries", response: deliveries,
		},
		{
			name:   "redeliver",
			do:     func(c *client.Client) error { _, err := c.RedeliverEvent(ctx, "evt_1"); return err },
			method: "POST", path: "/v1/events/evt_1/redeliver", body: `{}`, idempotent: true, response: deliveries,
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
		})
	}
	c := client.New("http://127.0.0.1:1", "sk")
	if _, err := c.DeleteWebhookEndpoint(ctx, ""); err == nil {
		t.Error("DeleteWebhookEndpoint(\"\"): got no error")
	}
	if _, err := c.RedeliverEvent(ctx, ""); err == nil {
		t.Error("RedeliverEvent(\"\"): got no error")
	}
}

func TestEventsIterator(t *testing.T) {
	pages := []string{
		`{"object":"list","data":[{"id":"evt_3","type":"payment.captured"},{"id":"evt_2","type":"payment.captured"}],"has_more":true}`,
		`{"object":"list","data":[{"id":"evt_1","type":"payment.captured"}],"has_more":false}`,
	}
	f := newFake(t, func(n int, w http.ResponseWriter, _ *http.Request) { io.WriteString(w, pages[n]) })
	var ids []string
	for e, err := range mustClient(t, f).Events(context.Background(), client.EventListParams{Limit: 2, Type: client.EventPaymentCaptured}) {
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, e.ID)
	}
	if strings.Join(ids, ",") != "evt_3,evt_2,evt_1" {
		t.Errorf("got %v, want evt_3, evt_2, evt_1", ids)
	}
	calls := f.Calls()
	if len(calls) != 2 || calls[1].RawQuery != "limit=2&starting_after=evt_2&type=payment.captured" {
		t.Errorf("got %d calls, the second %q", len(calls), calls[len(calls)-1].RawQuery)
	}
}
