package http_test

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/paygate/paygate"
	"github.com/paygate/paygate/internal/gatewaytest"
)

const shop = "https://shop.example.com"

// mustSetUpSessions gives the test merchant an origin, a success URL and a
// signing secret, and returns the secret.
func mustSetUpSessions(t *testing.T, g *gatewaytest.Gateway) string {
	t.Helper()
	st, body := do(t, g, "POST", "/v1/settings", g.SecretKey,
		`{"allowed_origins":["`+shop+`"],"success_url":"`+shop+`/paid","display_name":"Shop"}`)
	if st != 200 {
		t.Fatalf("POST /v1/settings: got %d %v", st, body)
	}
	st, body = do(t, g, "POST", "/v1/settings/signing_secret", g.SecretKey, "")
	secret, _ := body["signing_secret"].(string)
	if st != 200 || !strings.HasPrefix(secret, "whsec_") {
		t.Fatalf("POST /v1/settings/signing_secret: got %d %v", st, body)
	}
	return secret
}

func TestSettings(t *testing.T) { gatewaytest.Engines(t, testSettings) }

func testSettings(t *testing.T, pg string) {
	g := gatewaytest.MustOpen(t, gatewaytest.Options{Postgres: pg})
	st, body := do(t, g, "GET", "/v1/settings", g.SecretKey, "")
	if st != 200 || body["default_model"] != "redirect" || body["ack_window"] != float64(600) ||
		fmt.Sprint(body["allowed_origins"]) != "[]" || fmt.Sprint(body["signing_secrets"]) != "[]" {
		t.Fatalf("GET /v1/settings of a new merchant: got %d %v", st, body)
	}
	secret := mustSetUpSessions(t, g)
	// A POST changes only what it names.
	st, body = do(t, g, "POST", "/v1/settings", g.SecretKey, `{"default_model":"proxy","ack_window":120,"require_ack":true}`)
	if st != 200 || body["default_model"] != "proxy" || body["success_url"] != shop+"/paid" || body["display_name"] != "Shop" ||
		body["ack_window"] != float64(120) || body["require_ack"] != true {
		t.Fatalf("POST /v1/settings (some fields): got %d %v", st, body)
	}
	st, body = do(t, g, "GET", "/v1/settings", g.SecretKey, "")
	secrets, _ := body["signing_secrets"].([]any)
	if st != 200 || len(secrets) != 1 || strings.Contains(fmt.Sprint(body), secret) {
		t.Fatalf("GET /v1/settings after a secret: got %d %v, want one secret listed and never shown", st, body)
	}
	// Rotating keeps the old secret for its overlap.
	st, body = do(t, g, "POST", "/v1/settings/signing_secret", g.SecretKey, "", "Idempotency-Key", "rot-1")
	second, _ := body["signing_secret"].(string)
	if st != 200 || second == secret {
		t.Fatalf("rotate: got %d %v", st, body)
	}
	_, body = do(t, g, "GET", "/v1/settings", g.SecretKey, "")
	if secrets, _ = body["signing_secrets"].([]any); len(secrets) != 2 {
		t.Fatalf("after a rotation: got secrets %v, want 2 (the old one until its overlap ends)", body["signing_secrets"])
	}
	old, _ := secrets[1].(map[string]any)
	if old["expires_at"] == nil {
		t.Errorf("the replaced secret has no expires_at: %v", old)
	}
	// The same Idempotency-Key makes another secret: a secret is never kept to be replayed.
	_, body = do(t, g, "POST", "/v1/settings/signing_secret", g.SecretKey, "", "Idempotency-Key", "rot-1")
	if third, _ := body["signing_secret"].(string); third == "" || third == second {
		t.Errorf("rotate again with the same key: got %q, want a new secret", third)
	}
	g.Clock.Advance(paygate.SigningSecretOverlap + time.Minute)
	_, body = do(t, g, "GET", "/v1/settings", g.SecretKey, "")
	if secrets, _ = body["signing_secrets"].([]any); len(secrets) != 1 {
		t.Errorf("after the overlap: got secrets %v, want only the newest", body["signing_secrets"])
	}

	for _, c := range []struct{ name, body, param string }{
		{"http origin", `{"allowed_origins":["http://shop.example.com"]}`, "allowed_origins"},
		{"origin with a path", `{"allowed_origins":["https://shop.example.com/x"]}`, "allowed_origins"},
		{"javascript origin", `{"allowed_origins":["javascript:alert(1)"]}`, "allowed_origins"},
		{"foreign success URL", `{"success_url":"https://evil.example.net/paid"}`, "success_url"},
		{"look-alike success URL", `{"success_url":"https://shop.example.com.evil.net/paid"}`, "success_url"},
		{"protocol-relative URL", `{"success_url":"//evil.example.net/paid"}`, "success_url"},
		{"backslash URL", `{"cancel_url":"https:\\\\evil.example.net"}`, "cancel_url"},
		{"userinfo URL", `{"decline_url":"https://shop.example.com@evil.example.net/"}`, "decline_url"},
		{"dropping the origin of a URL in use", `{"allowed_origins":["https://other.example.com"]}`, "success_url"},
		{"unknown model", `{"default_model":"iframe"}`, "default_model"},
		{"negative ack window", `{"ack_window":-1}`, "ack_window"},
		{"card number in the display name", `{"display_name":"4242 4242 4242 4242"}`, "display_name"},
	} {
		st, body := do(t, g, "POST", "/v1/settings", g.SecretKey, c.body)
		checkError(t, c.name, st, body, 422, paygate.EINVALID, c.param)
	}
	st, body = do(t, g, "POST", "/v1/settings", g.SecretKey, `{"allowed_origin":["https://x.example.com"]}`)
	if st != 400 && st != 422 || errField(body, "param") != "allowed_origin" {
		t.Errorf("misspelt field: got %d %v", st, body)
	}
	// Localhost may use plain http, to develop on.
	st, body = do(t, g, "POST", "/v1/settings", g.SecretKey, `{"allowed_origins":["`+shop+`","http://localhost:8080","http://127.0.0.1:9000/"]}`)
	if list := fmt.Sprint(body["allowed_origins"]); st != 200 || list != "["+shop+" http://localhost:8080 http://127.0.0.1:9000]" {
		t.Errorf("localhost origins: got %d %v", st, body)
	}
}

func TestSessionAPI(t *testing.T) { gatewaytest.Engines(t, testSessionAPI) }

func testSessionAPI(t *testing.T, pg string) {
	g := gatewaytest.MustOpen(t, gatewaytest.Options{Postgres: pg})
	st, body := do(t, g, "POST", "/v1/sessions", g.SecretKey, `{"amount":1000,"currency":"USD","return_url":"`+shop+`/paid"}`)
	checkError(t, "session before any setting", st, body, 422, paygate.EINVALID, "return_url")
	mustSetUpSessions(t, g)

	for _, c := range []struct {
		name, body string
		status     int
		code       string
		param      string
	}{
		{"no amount", `{"currency":"USD"}`, 422, paygate.EMISSING, "amount"},
		{"zero amount", `{"amount":0,"currency":"USD"}`, 422, paygate.EAMOUNT, "amount"},
		{"unknown currency", `{"amount":100,"currency":"XXX"}`, 422, paygate.ECURRENCY, "currency"},
		{"foreign return URL", `{"amount":100,"currency":"USD","return_url":"https://evil.example.net/"}`, 422, paygate.EINVALID, "return_url"},
		{"javascript return URL", `{"amount":100,"currency":"USD","return_url":"javascript:alert(1)"}`, 422, paygate.EINVALID, "return_url"},
		{"foreign cancel URL", `{"amount":100,"currency":"USD","cancel_url":"https://evil.example.net/"}`, 422, paygate.EINVALID, "cancel_url"},
		{"unknown model", `{"amount":100,"currency":"USD","model":"popup"}`, 422, paygate.EINVALID, "model"},
		{"bad e-mail", `{"amount":100,"currency":"USD","customer_email":"nobody"}`, 422, paygate.EINVALID, "customer_email"},
		{"card number in the order id", `{"amount":100,"currency":"USD","order_id":"4242424242424242"}`, 422, paygate.EINVALID, "order_id"},
		{"unknown field", `{"amount":100,"currency":"USD","card":{}}`, 422, paygate.EINVALID, "card"},
	} {
		st, body := do(t, g, "POST", "/v1/sessions", g.SecretKey, c.body)
		if c.name == "unknown field" {
			if st != 400 && st != 422 || errField(body, "param") != "card" {
				t.Errorf("%s: got %d %v", c.name, st, body)
			}
			continue
		}
		checkError(t, c.name, st, body, c.status, c.code, c.param)
	}

	st, body = do(t, g, "POST", "/v1/sessions", g.SecretKey,
		`{"amount":1999,"currency":"USD","order_id":"ord-1","description":"Blue mug","customer_email":"c@example.com"}`)
	id, _ := body["id"].(string)
	if st != 200 || !strings.HasPrefix(id, "cs_") || len(id) < 3+26 || body["status"] != "open" || body["model"] != "redirect" ||
		body["return_url"] != shop+"/paid" || body["url"] != g.URL()+"/pay/"+id || body["capture"] != true || body["payment"] != nil {
		t.Fatalf("StartSession: got %d %v", st, body)
	}
	st, body = do(t, g, "POST", "/v1/sessions/"+id+"/ack", g.SecretKey, "")
	checkError(t, "ack an open session", st, body, 409, paygate.ECONFLICT, "")
	st, body = do(t, g, "GET", "/v1/sessions/cs_nosuchsession", g.SecretKey, "")
	checkError(t, "unknown session", st, body, 404, paygate.ENOTFOUND, "")

	// Another merchant cannot see it.
	other := gatewaytest.MustCreateMerchant(t, g, "Other Store")
	st, body = do(t, g, "GET", "/v1/sessions/"+id, other, "")
	checkError(t, "another merchant's session", st, body, 404, paygate.ENOTFOUND, "")

	// Pay it (as the payment page does): declined once, then approved.
	s, p, err := g.Gateway.PaySession(ctx, id, paygate.Card{Number: "4000000000000002", ExpMonth: 12, ExpYear: time.Now().Year() + 2, CVC: "123"})
	if paygate.ErrorCode(err) != paygate.EDECLINED || p == nil || s.Status != paygate.SessionOpen {
		t.Fatalf("first attempt: got %v, %v, %v; want a decline with the session still open", s, p, err)
	}
	_, body = do(t, g, "GET", "/v1/sessions/"+id, g.SecretKey, "")
	if body["status"] != "open" || body["attempts"] != float64(1) || body["sequence"] != float64(0) {
		t.Errorf("after a decline: got %v", body)
	}
	_, p, err = g.Gateway.PaySession(ctx, id, paygate.Card{Number: "4242424242424242", ExpMonth: 12, ExpYear: time.Now().Year() + 2, CVC: "123"})
	if err != nil {
		t.Fatalf("second attempt: %v", err)
	}
	st, body = do(t, g, "GET", "/v1/sessions/"+id, g.SecretKey, "")
	pay, _ := body["payment"].(map[string]any)
	if st != 200 || body["status"] != "complete" || body["outcome"] != "approved" || body["sequence"] != float64(2) ||
		pay["id"] != p.ID || pay["status"] != "captured" || pay["confirmation_number"] != p.ConfirmationNumber ||
		pay["order_id"] != "ord-1" || pay["amount"] != float64(1999) {
		t.Fatalf("GetResult after approval: got %d %v", st, body)
	}
	// Paying again is refused, and makes no payment.
	_, _, err = g.Gateway.PaySession(ctx, id, paygate.Card{Number: "4242424242424242", ExpMonth: 12, ExpYear: time.Now().Year() + 2, CVC: "123"})
	if paygate.ErrorCode(err) != paygate.ECONFLICT {
		t.Errorf("paying a paid session: got %v, want a conflict", err)
	}
	st, body = do(t, g, "POST", "/v1/sessions/"+id+"/ack", g.SecretKey, "")
	if st != 200 || body["acked_at"] == nil || body["status"] != "complete" {
		t.Fatalf("Ack: got %d %v", st, body)
	}
	st, body = do(t, g, "POST", "/v1/sessions/"+id+"/ack", g.SecretKey, "")
	if st != 200 {
		t.Errorf("second Ack: got %d %v, want 200", st, body)
	}
	if got := countRows(t, g, "payments"); got != 2 {
		t.Errorf("payments recorded: got %d, want 2 (one decline, one approval)", got)
	}

	// Sessions expire.
	_, body = do(t, g, "POST", "/v1/sessions", g.SecretKey, `{"amount":500,"currency":"EUR"}`)
	late, _ := body["id"].(string)
	g.Clock.Advance(paygate.DefaultSessionLifetime + time.Second)
	_, body = do(t, g, "GET", "/v1/sessions/"+late, g.SecretKey, "")
	if body["status"] != "expired" {
		t.Errorf("after its lifetime: got status %v, want expired", body["status"])
	}
	_, _, err = g.Gateway.PaySession(ctx, late, paygate.Card{Number: "4242424242424242", ExpMonth: 12, ExpYear: time.Now().Year() + 2, CVC: "123"})
	if paygate.ErrorCode(err) != paygate.ECONFLICT {
		t.Errorf("paying an expired session: got %v, want a conflict", err)
	}
}

// TestSessionAckRequired: with Ack required, an approval that is not
// acknowledged within the window is voided by the sweeper; an acknowledged
// one stays.
func TestSessionAckRequired(t *testing.T) { gatewaytest.Engines(t, testSessionAckRequired) }

func testSessionAckRequired(t *testing.T, pg string) {
	g := gatewaytest.MustOpen(t, gatewaytest.Options{Postgres: pg})
	mustSetUpSessions(t, g)
	do(t, g, "POST", "/v1/settings", g.SecretKey, `{"require_ack":true,"ack_window":60}`)
	pay := func() string {
		_, body := do(t, g, "POST", "/v1/sessions", g.SecretKey, `{"amount":700,"currency":"USD"}`)
		id, _ := body["id"].(string)
		if _, _, err := g.Gateway.PaySession(ctx, id, paygate.Card{Number: "4242424242424242", ExpMonth: 12,
			ExpYear: time.Now().Year() + 2, CVC: "123"}); err != nil {
			t.Fatalf("pay: %v", err)
		}
		return id
	}
	acked, forgotten := pay(), pay()
	if st, body := do(t, g, "POST", "/v1/sessions/"+acked+"/ack", g.SecretKey, ""); st != 200 {
		t.Fatalf("ack: %d %v", st, body)
	}
	g.Clock.Advance(61 * time.Second)
	if n, err := g.Gateway.ExpireUnacknowledged(ctx); err != nil || n != 1 {
		t.Fatalf("ExpireUnacknowledged: got %d, %v; want 1", n, err)
	}
	for id, want := range map[string]string{acked: "captured", forgotten: "voided"} {
		_, body := do(t, g, "GET", "/v1/sessions/"+id, g.SecretKey, "")
		p, _ := body["payment"].(map[string]any)
		if p["status"] != want {
			t.Errorf("session %s: payment %v, want %s", id, p["status"], want)
		}
	}
	st, body := do(t, g, "POST", "/v1/sessions/"+forgotten+"/ack", g.SecretKey, "")
	checkError(t, "ack after the window", st, body, 409, paygate.ECONFLICT, "")
}

// TestSessionAcrossNodes: a session started on one node is paid and read on
// another.
func TestSessionAcrossNodes(t *testing.T) { gatewaytest.Engines(t, testSessionAcrossNodes) }

func testSessionAcrossNodes(t *testing.T, pg string) {
	nodes := gatewaytest.MustOpenNodes(t, 2, gatewaytest.Options{Postgres: pg})
	a, b := nodes[0], nodes[1]
	mustSetUpSessions(t, a)
	_, body := do(t, a, "POST", "/v1/sessions", a.SecretKey, `{"amount":1234,"currency":"USD"}`)
	id, _ := body["id"].(string)
	if _, _, err := b.Gateway.PaySession(ctx, id, paygate.Card{Number: "4242424242424242", ExpMonth: 12,
		ExpYear: time.Now().Year() + 2, CVC: "123"}); err != nil {
		t.Fatalf("pay on the other node: %v", err)
	}
	_, body = do(t, a, "GET", "/v1/sessions/"+id, a.SecretKey, "")
	if body["outcome"] != "approved" {
		t.Fatalf("result on the first node: %v", body)
	}
	u, err := a.Gateway.ResultURL(ctx, a.Merchant, mustSession(t, a, id), nil)
	if err != nil {
		t.Fatal(err)
	}
	q := mustQuery(t, u)
	if q.Get("sequence") != "1" || q.Get("session_id") != id || q.Get("signature") == "" {
		t.Errorf("result URL: %s", u)
	}
}

func mustSession(t *testing.T, g *gatewaytest.Gateway, id string) *paygate.Session {
	t.Helper()
	s, _, err := g.Gateway.SessionResult(ctx, g.Merchant, id)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func mustQuery(t *testing.T, raw string) url.Values {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u.Query()
}
