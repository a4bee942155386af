package http_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/paygate/paygate"
	"github.com/paygate/paygate/client"
	"github.com/paygate/paygate/internal/gatewaytest"
	"github.com/paygate/paygate/webhook"
)

func TestWebhookEndpointsAPI(t *testing.T) { gatewaytest.Engines(t, testWebhookEndpointsAPI) }

func testWebhookEndpointsAPI(t *testing.T, pg string) {
	g := gatewaytest.MustOpen(t, gatewaytest.Options{Postgres: pg})
	st, body := do(t, g, "POST", "/v1/webhook_endpoints", g.SecretKey,
		`{"url":"https://shop.example.com/hooks","events":["payment.captured","payment.refunded"]}`)
	id, _ := body["id"].(string)
	secret, _ := body["secret"].(string)
	if st != 200 || !strings.HasPrefix(id, "we_") || body["object"] != "webhook_endpoint" || body["url"] != "https://shop.example.com/hooks" ||
		fmt.Sprint(body["events"]) != "[payment.captured payment.refunded]" || body["status"] != "enabled" || body["failures"] != float64(0) {
		t.Fatalf("create: got %d %v", st, body)
	}
	if _, err := paygate.SigningKey(secret); err != nil {
		t.Fatalf("create: got secret %q: %v", secret, err)
	}
	// The secret is shown once: never by a GET, a list or a delete.
	st, body = do(t, g, "GET", "/v1/webhook_endpoints/"+id, g.SecretKey, "")
	if st != 200 || body["id"] != id || body["secret"] != nil || strings.Contains(fmt.Sprint(body), secret) {
		t.Errorf("get: got %d %v, want the endpoint without its secret", st, body)
	}
	st, body = do(t, g, "GET", "/v1/webhook_endpoints", g.SecretKey, "")
	if list, _ := body["data"].([]any); st != 200 || len(list) != 1 || strings.Contains(fmt.Sprint(body), secret) {
		t.Errorf("list: got %d %v, want one endpoint without its secret", st, body)
	}

	// Neither a creation nor a rotation is kept under an Idempotency-Key:
	// the same key makes another secret (and another endpoint).
	c := g.Client()
	ep2, err := c.CreateWebhookEndpoint(ctx, client.WebhookEndpointParams{URL: "https://shop.example.com/other"})
	if err != nil || len(ep2.Events) != 1 || ep2.Events[0] != "*" || ep2.Secret == "" {
		t.Fatalf("create with the client: %+v, %v; want events [*] and a secret", ep2, err)
	}
	_, first := do(t, g, "POST", "/v1/webhook_endpoints", g.SecretKey, `{"url":"https://shop.example.com/again"}`, "Idempotency-Key", "we-1")
	_, second := do(t, g, "POST", "/v1/webhook_endpoints", g.SecretKey, `{"url":"https://shop.example.com/again"}`, "Idempotency-Key", "we-1")
	if first["secret"] == nil || first["secret"] == second["secret"] || first["id"] == second["id"] {
		t.Errorf("create twice under one Idempotency-Key: got %v and %v, want two endpoints with their own secrets", first["id"], second["id"])
	}
	_, r1 := do(t, g, "POST", "/v1/webhook_endpoints/"+id+"/secret", g.SecretKey, "", "Idempotency-Key", "rot-1")
	_, r2 := do(t, g, "POST", "/v1/webhook_endpoints/"+id+"/secret", g.SecretKey, "", "Idempotency-Key", "rot-1")
	s1, _ := r1["secret"].(string)
	s2, _ := r2["secret"].(string)
	if s1 == "" || s1 == secret || s2 == "" || s2 == s1 {
		t.Errorf("rotate twice under one Idempotency-Key: got %q and %q, want two new secrets", s1, s2)
	}
	if r2["previous_secret_expires_at"] == nil || r2["id"] != id {
		t.Errorf("rotate: got %v, want previous_secret_expires_at", r2)
	}
	rotated, err := c.RotateWebhookEndpointSecret(ctx, ep2.ID)
	if err != nil || rotated.Secret == "" || rotated.Secret == ep2.Secret || rotated.PreviousSecretExpiresAt == nil {
		t.Errorf("rotate with the client: %+v, %v", rotated, err)
	}

	// Delete disables; the endpoint stays listed.
	del, err := c.DeleteWebhookEndpoint(ctx, ep2.ID)
	if err != nil || del.Status != client.EndpointDisabled || del.Secret != "" {
		t.Fatalf("delete: got %+v, %v; want disabled, no secret", del, err)
	}
	// Listed by id: ids made in the same millisecond sort at random.
	list, err := c.WebhookEndpoints(ctx)
	status := map[string]string{}
	for _, e := range list {
		status[e.ID] = e.Status
	}
	if err != nil || len(list) != 4 || status[id] != client.EndpointEnabled || status[ep2.ID] != client.EndpointDisabled {
		t.Errorf("list after a delete: got %d endpoints (%v), %v; want 4, %s enabled and %s disabled", len(list), status, err, id, ep2.ID)
	}
	st, body = do(t, g, "POST", "/v1/webhook_endpoints/"+ep2.ID+"/secret", g.SecretKey, "")
	checkError(t, "rotate a disabled endpoint", st, body, 409, paygate.ECONFLICT, "")

	for _, tc := range []struct{ name, body, code, param string }{
		{"no URL", `{}`, paygate.EMISSING, "url"},
		{"http URL", `{"url":"http://shop.example.com/hooks"}`, paygate.EINVALID, "url"},
		{"user in URL", `{"url":"https://a:b@shop.example.com/hooks"}`, paygate.EINVALID, "url"},
		{"relative URL", `{"url":"/hooks"}`, paygate.EINVALID, "url"},
		{"unknown event", `{"url":"https://shop.example.com/hooks","events":["payment.created"]}`, paygate.EINVALID, "events"},
		{"star and more", `{"url":"https://shop.example.com/hooks","events":["*","payment.captured"]}`, paygate.EINVALID, "events"},
	} {
		st, body := do(t, g, "POST", "/v1/webhook_endpoints", g.SecretKey, tc.body)
		checkError(t, tc.name, st, body, 422, tc.code, tc.param)
	}
	st, body = do(t, g, "POST", "/v1/webhook_endpoints", g.SecretKey, `{"url":"https://shop.example.com/hooks","secret":"whsec_mine"}`)
	if st != 400 && st != 422 || errField(body, "param") != "secret" {
		t.Errorf("a secret of one's own: got %d %v, want it refused", st, body)
	}

	other := gatewaytest.MustCreateMerchant(t, g, "Other Store")
	for _, r := range []struct{ method, path string }{
		{"GET", "/v1/webhook_endpoints/" + id}, {"DELETE", "/v1/webhook_endpoints/" + id}, {"POST", "/v1/webhook_endpoints/" + id + "/secret"},
	} {
		st, body := do(t, g, r.method, r.path, other, "")
		checkError(t, "another merchant's endpoint: "+r.method+" "+r.path, st, body, 404, paygate.ENOTFOUND, "")
	}
	if st, body := do(t, g, "GET", "/v1/webhook_endpoints", other, ""); fmt.Sprint(body["data"]) != "[]" {
		t.Errorf("another merchant's list: got %d %v, want []", st, body)
	}
	st, body = do(t, g, "PUT", "/v1/webhook_endpoints/"+id, g.SecretKey, "")
	checkError(t, "PUT an endpoint", st, body, 405, paygate.EMETHOD, "")
}

// Unless private targets are allowed, an endpoint on this machine or a
// private network is refused when it is registered.
func TestWebhookEndpointPrivateHost(t *testing.T) {
	g := gatewaytest.MustOpen(t, gatewaytest.Options{Setup: func(g *paygate.Gateway) { g.CheckTarget = webhook.CheckHost }})
	for _, u := range []string{"http://127.0.0.1:8080/hooks", "http://localhost/hooks", "https://10.1.2.3/hooks", "https://169.254.169.254/latest",
		"https://[fd00::1]/hooks"} {
		st, body := do(t, g, "POST", "/v1/webhook_endpoints", g.SecretKey, `{"url":"`+u+`"}`)
		checkError(t, u, st, body, 422, paygate.EINVALID, "url")
		if msg := errField(body, "message"); !strings.Contains(msg, "refused: ") {
			t.Errorf("%s: got %q, want it to say why", u, msg)
		}
	}
}

func TestEventsAPI(t *testing.T) { gatewaytest.Engines(t, testEventsAPI) }

func testEventsAPI(t *testing.T, pg string) {
	g := gatewaytest.MustOpen(t, gatewaytest.Options{Postgres: pg})
	rc := newReceiver(t, g)
	c := g.Client()
	ep, err := c.CreateWebhookEndpoint(ctx, client.WebhookEndpointParams{URL: rc.URL + "/hooks"})
	if err != nil {
		t.Fatal(err)
	}
	rc.setSecrets(ep.Secret)
	auth := mustPay(t, c, client.PaymentParams{Amount: 2500, Currency: "USD", Card: card("4242424242424242", "123"), Capture: new(false)})
	if _, err := c.Capture(ctx, auth.ID, client.CaptureParams{}); err != nil {
		t.Fatal(err)
	}
	sale := mustPay(t, c, client.PaymentParams{Amount: 700, Currency: "USD", Card: card("4242424242424242", "123")})

	list, err := c.ListEvents(ctx, client.EventListParams{})
	if err != nil || len(list.Data) != 3 || list.HasMore {
		t.Fatalf("list: got %+v, %v; want 3 events", list, err)
	}
	// Newest first.
	want := []struct{ typ, payment string }{{client.EventPaymentCaptured, sale.ID}, {client.EventPaymentCaptured, auth.ID},
		{client.EventPaymentAuthorized, auth.ID}}
	for i, e := range list.Data {
		if e.Type != want[i].typ || e.Data.PaymentID != want[i].payment || !strings.HasPrefix(e.ID, "evt_") {
			t.Errorf("event %d: got %s %s %s, want %s of %s", i, e.ID, e.Type, e.Data.PaymentID, want[i].typ, want[i].payment)
		}
	}
	var ids []string
	for e, err := range c.Events(ctx, client.EventListParams{Limit: 1, PaymentID: auth.ID}) {
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, e.Type)
	}
	if fmt.Sprint(ids) != "[payment.captured payment.authorized]" {
		t.Errorf("events of %s, a page at a time: got %v", auth.ID, ids)
	}
	if l, err := c.ListEvents(ctx, client.EventListParams{Type: client.EventPaymentAuthorized}); err != nil || len(l.Data) != 1 {
		t.Errorf("by type: got %+v, %v", l, err)
	}

	// The API shows the body the post-backs carry, and "object".
	ev := list.Data[0]
	st, body := do(t, g, "GET", "/v1/events/"+ev.ID, g.SecretKey, "")
	data, _ := body["data"].(map[string]any)
	if st != 200 || body["object"] != "event" || body["type"] != "payment.captured" || data["payment_id"] != sale.ID ||
		data["amount"] != float64(700) || data["card_last4"] != "4242" || body["timestamp"] == nil {
		t.Errorf("get: got %d %v", st, body)
	}
	if strings.Contains(fmt.Sprint(body), "424242424242") {
		t.Errorf("the event shows a card number: %v", body)
	}

	// Deliveries: none made yet, then one.
	ds, err := c.EventDeliveries(ctx, ev.ID)
	if err != nil || len(ds) != 1 || ds[0].Status != client.WebhookPending || len(ds[0].Attempts) != 0 || ds[0].NextAt == nil ||
		ds[0].EndpointID != ep.ID {
		t.Fatalf("deliveries before any attempt: got %+v, %v", ds, err)
	}
	rc.answer(http.StatusInternalServerError, "not now")
	if n := deliverAll(t, g.Gateway); n != 3 {
		t.Fatalf("delivered %d, want 3", n)
	}
	st, body = do(t, g, "GET", "/v1/events/"+ev.ID+"/deliveries", g.SecretKey, "")
	dl, _ := body["data"].([]any)
	if st != 200 || len(dl) != 1 {
		t.Fatalf("deliveries: got %d %v", st, body)
	}
	d, _ := dl[0].(map[string]any)
	attempts, _ := d["attempts"].([]any)
	if d["object"] != "webhook_delivery" || d["status"] != "pending" || d["event_id"] != ev.ID || d["endpoint_id"] != ep.ID || len(attempts) != 1 {
		t.Fatalf("deliveries: got %v", d)
	}
	a, _ := attempts[0].(map[string]any)
	if a["status"] != float64(500) || a["response"] != "not now\n" || a["error"] != "the endpoint answered HTTP 500" || a["at"] == nil || a["ms"] == nil {
		t.Errorf("attempt: got %v", a)
	}

	// Redeliver: due again now, delivered once more.
	rc.answer(http.StatusOK, "ok")
	ds, err = c.RedeliverEvent(ctx, ev.ID)
	if err != nil || len(ds) != 1 || ds[0].Status != client.WebhookPending {
		t.Fatalf("redeliver: got %+v, %v", ds, err)
	}
	if n, err := g.Gateway.DeliverWebhooks(ctx); n != 1 || err != nil {
		t.Fatalf("DeliverWebhooks after a redelivery: %d, %v; want 1", n, err)
	}
	if ds, _ = c.EventDeliveries(ctx, ev.ID); len(ds) != 1 || ds[0].Status != client.WebhookDelivered || len(ds[0].Attempts) != 2 {
		t.Errorf("after the redelivery: got %+v", ds)
	}
	if got := rc.count(ev.ID); got != 1 {
		t.Errorf("the receiver accepted %s %d times, want 1", ev.ID, got)
	}

	other := gatewaytest.MustCreateMerchant(t, g, "Other Store")
	for _, r := range []struct{ method, path string }{
		{"GET", "/v1/events/" + ev.ID}, {"GET", "/v1/events/" + ev.ID + "/deliveries"}, {"POST", "/v1/events/" + ev.ID + "/redeliver"},
	} {
		st, body := do(t, g, r.method, r.path, other, "")
		checkError(t, "another merchant's event: "+r.method+" "+r.path, st, body, 404, paygate.ENOTFOUND, "")
	}
	for _, tc := range []struct{ name, query, param string }{
		{"bad limit", "limit=0", "limit"},
		{"big limit", "limit=101", "limit"},
		{"unknown type", "type=payment.created", "type"},
		{"empty type", "type=", "type"},
		{"foreign cursor", "starting_after=evt_nosuchevent", "starting_after"},
		{"unknown parameter", "status=captured", "status"},
	} {
		st, body := do(t, g, "GET", "/v1/events?"+tc.query, g.SecretKey, "")
		checkError(t, tc.name, st, body, 400, paygate.EMALFORMED, tc.param)
	}
	if _, err := c.DeleteWebhookEndpoint(ctx, ep.ID); err != nil {
		t.Fatal(err)
	}
	st, body = do(t, g, "POST", "/v1/events/"+ev.ID+"/redeliver", g.SecretKey, "")
	checkError(t, "redeliver with no endpoint", st, body, 409, paygate.ECONFLICT, "")
}
