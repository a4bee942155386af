package http_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/paygate/paygate/client"
	"github.com/paygate/paygate/internal/gatewaytest"
)

// TestMailAPI: the notify address in settings, and GET /v1/mail listing
// the mail a sale queued — kept, composed, since no SMTP server is
// configured — with nothing of the card beyond its last 4.
func TestMailAPI(t *testing.T) { gatewaytest.Engines(t, testMailAPI) }

func testMailAPI(t *testing.T, pg string) {
	g := gatewaytest.MustOpen(t, gatewaytest.Options{Postgres: pg, Quiet: true})
	st, body := do(t, g, "GET", "/v1/settings", g.SecretKey, "")
	if st != 200 || body["notify_email"] != "" {
		t.Fatalf("GET /v1/settings: got %d, notify_email %v; want \"\"", st, body["notify_email"])
	}
	st, body = do(t, g, "POST", "/v1/settings", g.SecretKey, `{"notify_email":"not-an-address"}`)
	if st != 422 || errField(body, "param") != "notify_email" {
		t.Errorf("POST /v1/settings with a bad notify_email: got %d %v, want 422 notify_email", st, body)
	}
	st, body = do(t, g, "POST", "/v1/settings", g.SecretKey, `{"notify_email":"orders@shop.example"}`)
	if st != 200 || body["notify_email"] != "orders@shop.example" {
		t.Fatalf("POST /v1/settings notify_email: got %d %v", st, body)
	}

	p := mustPay(t, g.Client(), client.PaymentParams{Amount: 4200, Currency: "USD", Card: card("4242424242424242", "123"),
		ReceiptEmail: "buyer@example.com"})
	st, body = do(t, g, "GET", "/v1/mail?payment_id="+p.ID, g.SecretKey, "")
	if st != 200 || len(body["data"].([]any)) != 2 {
		t.Fatalf("GET /v1/mail: got %d %v, want 2 mails", st, body)
	}
	for _, x := range body["data"].([]any) {
		m := x.(map[string]any)
		if m["status"] != "queued" || !strings.Contains(fmt.Sprint(m["text"]), p.ConfirmationNumber) || m["next_at"] == nil {
			t.Errorf("a queued mail: %v; want queued, composed for the listing, with next_at", m)
		}
	}
	if n, err := g.Gateway.SendMail(t.Context()); err != nil || n != 2 {
		t.Fatalf("SendMail: %d, %v; want 2", n, err)
	}
	st, body = do(t, g, "GET", "/v1/mail?status=kept&limit=1", g.SecretKey, "")
	data, _ := body["data"].([]any)
	if st != 200 || len(data) != 1 || body["has_more"] != true {
		t.Fatalf("GET /v1/mail?status=kept&limit=1: got %d %v", st, body)
	}
	first := data[0].(map[string]any)
	st, one := do(t, g, "GET", "/v1/mail/"+fmt.Sprint(first["id"]), g.SecretKey, "")
	if st != 200 || one["object"] != "mail" || one["status"] != "kept" || one["payment_id"] != p.ID ||
		!strings.Contains(fmt.Sprint(one["html"]), "4242") || one["next_at"] != nil {
		t.Errorf("GET /v1/mail/{id}: got %d %v", st, one)
	}
	st, body = do(t, g, "GET", "/v1/mail?starting_after="+fmt.Sprint(first["id"]), g.SecretKey, "")
	if data, _ := body["data"].([]any); st != 200 || len(data) != 1 || body["has_more"] != false {
		t.Errorf("GET /v1/mail?starting_after: got %d %v, want the other one", st, body)
	}
	for _, path := range []string{"/v1/mail?status=lost", "/v1/mail?limit=0", "/v1/mail?starting_after=mail_nope", "/v1/mail?status="} {
		if st, body := do(t, g, "GET", path, g.SecretKey, ""); st != 400 && st != 422 {
			t.Errorf("GET %s: got %d %v, want a refusal", path, st, body)
		}
	}
	// Another merchant sees none of it.
	other := gatewaytest.MustCreateMerchant(t, g, "Other")
	if st, body := do(t, g, "GET", "/v1/mail", other, ""); st != 200 || len(body["data"].([]any)) != 0 {
		t.Errorf("GET /v1/mail as another merchant: got %d %v, want none", st, body)
	}
	if st, _ := do(t, g, "GET", "/v1/mail/"+fmt.Sprint(first["id"]), other, ""); st != 404 {
		t.Errorf("GET /v1/mail/{id} as another merchant: got %d, want 404", st)
	}
	_, raw := do(t, g, "GET", "/v1/mail", g.SecretKey, "")
	if strings.Contains(fmt.Sprint(raw), "4242424242424242") || strings.Contains(fmt.Sprint(raw), "424242") {
		t.Errorf("GET /v1/mail shows more of the card than its last 4")
	}
}
