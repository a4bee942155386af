package client_test

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"

	"github.com/paygate/paygate/client"
)

// Your webhook endpoint verifies each post-back, then acts on each event
// once: the gateway delivers at least once, so the same event may come
// again (a retry after your answer was lost, a redelivery).
func ExampleVerifyWebhook() {
	// The endpoint's secret, from CreateWebhookEndpoint, kept in your
	// configuration; and your clock (time.Now in your code).
	secret := "whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
	now := func() time.Time { return time.Date(2026, 3, 1, 12, 0, 30, 0, time.UTC) }
	var mu sync.Mutex
	seen := map[string]bool{} // your database, in your code

	hooks := func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20)) // the bytes as sent: verify those
		if err != nil {
			http.Error(w, "Bad request.", http.StatusBadRequest)
			return
		}
		ev, err := client.VerifyWebhook(r.Header, body, now(), secret)
		switch {
		case errors.Is(err, client.ErrBadSignature), errors.Is(err, client.ErrExpired):
			http.Error(w, "Not from our payment gateway.", http.StatusBadRequest)
			return
		case err != nil:
			http.Error(w, "Internal error.", http.StatusInternalServerError)
			return
		}
		mu.Lock()
		defer mu.Unlock()
		if seen[ev.ID] {
			w.WriteHeader(http.StatusNoContent) // already done: say so, or it is retried
			return
		}
		seen[ev.ID] = true
		if ev.Type == client.EventPaymentCaptured {
			fmt.Printf("paid: order %s, %d %s (session %s, attempt %d)\n", ev.Data.OrderID, ev.Data.Amount,
				ev.Data.Currency, ev.Data.SessionID, ev.Data.Sequence)
		}
		w.WriteHeader(http.StatusNoContent)
	}

	body := `{"id":"evt_01jnx5z8k3m9qx2abcdefghjkm","type":"payment.captured","timestamp":"2026-03-01T11:59:58.123456Z",` +
		`"data":{"payment_id":"pay_01jnx5z8k3m9qx2abcdefghjkm","status":"captured","amount":1999,"currency":"USD",` +
		`"amount_captured":1999,"order_id":"order-1001","confirmation_number":"PG-7K3M-9QX2","auth_code":"A1B2C3",` +
		`"card_brand":"visa","card_last4":"4242","session_id":"cs_7k3m9qx2abcdefghjkmnpqrstvw","sequence":2}}`
	post := func(body string) int {
		r := httptest.NewRequest("POST", "https://shop.example.com/hooks", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set("webhook-id", "evt_01jnx5z8k3m9qx2abcdefghjkm")
		r.Header.Set("webhook-timestamp", "1772366400")
		r.Header.Set("webhook-signature", "v1,PlkcP5uZDAOKjG/teSL6PhQCxm958iI4gjk+58+CCtc=")
		w := httptest.NewRecorder()
		hooks(w, r)
		return w.Code
	}
	fmt.Println(post(body))                                  // delivered
	fmt.Println(post(body))                                  // delivered again: done once
	fmt.Println(post(strings.Replace(body, "1999", "1", 1))) // changed on the way
	// Output:
	// paid: order order-1001, 1999 USD (session cs_7k3m9qx2abcdefghjkmnpqrstvw, attempt 2)
	// 204
	// 204
	// 400
}
