package http_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/paygate/paygate"
	"github.com/paygate/paygate/client"
	pghttp "github.com/paygate/paygate/http"
	"github.com/paygate/paygate/internal/gatewaytest"
)

// send sends a request with the given headers (each may repeat) and
// decodes the JSON answer.
func send(t *testing.T, g *gatewaytest.Gateway, method, path, body string, header http.Header) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, g.URL()+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header = header
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("%s %s: body is not JSON: %q", method, path, b)
	}
	return resp.StatusCode, out
}

func bearer(key string, more ...string) http.Header {
	h := http.Header{"Authorization": {"Bearer " + key}}
	for i := 0; i+1 < len(more); i += 2 {
		h.Add(more[i], more[i+1])
	}
	return h
}

// checkError fails unless the answer is the given error.
func checkError(t *testing.T, what string, status int, body map[string]any, wantStatus int, wantCode, wantParam string) {
	t.Helper()
	if status != wantStatus || errField(body, "code") != wantCode || errField(body, "param") != wantParam {
		t.Errorf("%s: got %d %s param %q (%s), want %d %s param %q", what, status, errField(body, "code"), errField(body, "param"),
			errField(body, "message"), wantStatus, wantCode, wantParam)
	}
}

// cardBody is a payment body with a card; repl pairs edit it.
func cardBody(repl ...string) string {
	b := fmt.Sprintf(`{"amount":1000,"currency":"USD","card":{"number":"4242424242424242","exp_month":12,"exp_year":%d,"cvc":"123"}}`, time.Now().Year()+2)
	for i := 0; i+1 < len(repl); i += 2 {
		b = strings.Replace(b, repl[i], repl[i+1], 1)
	}
	return b
}

// TestFieldNamesExact: encoding/json matches field names case-insensitively
// and lets the last of two keys win; the API accepts only the exact names,
// on every endpoint and at every depth, so that {"amount":1,"AMOUNT":2500}
// cannot charge 2500.
func TestFieldNamesExact(t *testing.T) {
	g := gatewaytest.MustOpen(t, gatewaytest.Options{})
	c := g.Client(client.WithMaxRetries(0))
	sale := mustPay(t, c, client.PaymentParams{Amount: 5000, Currency: "USD", Card: card("4242424242424242", "123")})
	auth := mustPay(t, c, client.PaymentParams{Amount: 5000, Currency: "USD", Card: card("4242424242424242", "123"), Capture: new(false)})
	year := time.Now().Year() + 2
	stats := g.Bank.Stats()

	tests := []struct {
		name, path, body, param string
	}{
		{"payment: amount twice", "/v1/payments", cardBody(`"amount":1000`, `"amount":1,"AMOUNT":2500`), "AMOUNT"},
		{"payment: amount cased", "/v1/payments", cardBody(`"amount"`, `"Amount"`), "Amount"},
		{"payment: card number twice", "/v1/payments", cardBody(`"number":"4242424242424242"`, `"number":"4000000000000002","NUMBER":"4242424242424242"`), "card[NUMBER]"},
		{"payment: card number cased", "/v1/payments", cardBody(`"number"`, `"Number"`), "card[Number]"},
		{"payment: capture twice", "/v1/payments", cardBody(`"currency"`, `"capture":false,"Capture":true,"currency"`), "Capture"},
		{"payment: card cased", "/v1/payments", cardBody(`"card"`, `"CARD"`), "CARD"},
		{"payment: cvc cased", "/v1/payments", cardBody(`"cvc"`, `"CVC"`), "card[CVC]"},
		{"capture: amount twice", "/v1/payments/" + auth.ID + "/capture", `{"amount":1,"AMOUNT":5000}`, "AMOUNT"},
		{"capture: amount cased", "/v1/payments/" + auth.ID + "/capture", `{"Amount":100}`, "Amount"},
		{"refund: amount twice", "/v1/payments/" + sale.ID + "/refunds", `{"amount":1,"Amount":5000}`, "Amount"},
		{"refund: reason cased", "/v1/payments/" + sale.ID + "/refunds", `{"amount":1,"REASON":"x"}`, "REASON"},
		{"void: cased", "/v1/payments/" + auth.ID + "/void", `{"Reason":"x"}`, "Reason"},
		{"void: twice, cased", "/v1/payments/" + auth.ID + "/void", `{"Amount":1,"amount":1}`, "Amount"},
		{"ack: cased", "/v1/payments/" + auth.ID + "/ack", `{"ID":"x"}`, "ID"},
		{"ack: twice, cased", "/v1/payments/" + auth.ID + "/ack", `{"Id":"x","ID":"x"}`, "Id"},
		{"card: number twice", "/v1/cards", fmt.Sprintf(`{"number":"4000000000000002","NUMBER":"4242424242424242","exp_month":1,"exp_year":%d}`, year), "NUMBER"},
		{"card: name cased", "/v1/cards", fmt.Sprintf(`{"number":"4242424242424242","exp_month":1,"exp_year":%d,"Name":"Ada"}`, year), "Name"},
	}
	for _, tt := range tests {
		status, body := do(t, g, "POST", tt.path, g.SecretKey, tt.body)
		checkError(t, tt.name, status, body, 400, paygate.EMALFORMED, tt.param)
	}
	if got := g.Bank.Stats(); got != stats {
		t.Errorf("bank: got %+v after refused requests, want %+v (nothing sent)", got, stats)
	}
	list, err := c.ListPayments(ctx, client.ListParams{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Data) != 2 {
		t.Errorf("got %d payments, want the 2 made before", len(list.Data))
	}
	for _, p := range list.Data {
		if p.AmountCaptured != map[string]int64{sale.ID: 5000, auth.ID: 0}[p.ID] || p.AmountRefunded != 0 || p.AckedAt != nil {
			t.Errorf("payment %s changed: %s captured %d refunded %d", p.ID, p.Status, p.AmountCaptured, p.AmountRefunded)
		}
	}

	// Metadata keys are the merchant's own: any spelling, "Note" and "note"
	// are two keys.
	status, body := do(t, g, "POST", "/v1/payments", g.SecretKey, cardBody(`"currency"`, `"metadata":{"note":"a","Note":"b","NOTE":"c"},"currency"`))
	md, _ := body["metadata"].(map[string]any)
	if status != 200 || len(md) != 3 || md["Note"] != "b" {
		t.Errorf("metadata keys differing in case: got %d %v, want 200 and three keys", status, body)
	}
}

// TestCardNumbersInFreeText: a card number in any free-text field, however
// it is written, is refused with 422 naming the field, before anything is
// stored or sent.
func TestCardNumbersInFreeText(t *testing.T) {
	g := gatewaytest.MustOpen(t, gatewaytest.Options{})
	c := g.Client(client.WithMaxRetries(0))
	sale := mustPay(t, c, client.PaymentParams{Amount: 5000, Currency: "USD", Card: card("4242424242424242", "123")})
	year := time.Now().Year() + 2
	stats := g.Bank.Stats()
	tests := []struct {
		name, path, body string
		header           []string
		param            string
	}{
		{"order id with slashes", "/v1/payments", cardBody(`"currency"`, `"order_id":"4242/4242/4242/4242","currency"`), nil, "order_id"},
		{"description with underscores", "/v1/payments", cardBody(`"currency"`, `"description":"card 5555_5555_5555_4444","currency"`), nil, "description"},
		{"description with commas", "/v1/payments", cardBody(`"currency"`, `"description":"4242, 4242, 4242, 4242","currency"`), nil, "description"},
		{"order id with non-breaking spaces", "/v1/payments", cardBody(`"currency"`, `"order_id":"4242\u00a04242\u00a04242\u00a04242","currency"`), nil, "order_id"},
		{"description in fullwidth digits", "/v1/payments", cardBody(`"currency"`, `"description":"４２４２４２４２４２４２４２４２","currency"`), nil, "description"},
		{"metadata value", "/v1/payments", cardBody(`"currency"`, `"metadata":{"note":"3782 / 822463 / 10005"},"currency"`), nil, "metadata"},
		{"metadata key", "/v1/payments", cardBody(`"currency"`, `"metadata":{"4242_4242_4242_4242":"x"},"currency"`), nil, "metadata"},
		{"cardholder name", "/v1/payments", cardBody(`"cvc"`, `"name":"Pat 4242/4242/4242/4242","cvc"`), nil, "card[name]"},
		{"Idempotency-Key", "/v1/payments", cardBody(), []string{"Idempotency-Key", "order-4242424242424242"}, "Idempotency-Key"},
		{"Idempotency-Key with separators", "/v1/payments", cardBody(), []string{"Idempotency-Key", "4242/4242/4242/4242"}, "Idempotency-Key"},
		{"Idempotency-Key that is a card number", "/v1/payments", cardBody(), []string{"Idempotency-Key", "4242424242424242"}, "Idempotency-Key"},
		{"Idempotency-Key in fullwidth digits", "/v1/payments", cardBody(), []string{"Idempotency-Key", "A-４２４２４２４２４２４２４２４２"}, "Idempotency-Key"},
		{"stored card name", "/v1/cards", fmt.Sprintf(`{"number":"4242424242424242","exp_month":1,"exp_year":%d,"name":"5555 5555 5555 4444"}`, year), nil, "card[name]"},
		{"stored card name in fullwidth", "/v1/cards", fmt.Sprintf(`{"number":"4242424242424242","exp_month":1,"exp_year":%d,"name":"Ada ４２４２ ４２４２ ４２４２ ４２４２"}`, year), nil, "card[name]"},
		{"stored card Idempotency-Key", "/v1/cards", fmt.Sprintf(`{"number":"4242424242424242","exp_month":1,"exp_year":%d}`, year), []string{"Idempotency-Key", "card 4242-4242-4242-4242"}, "Idempotency-Key"},
		{"refund reason", "/v1/payments/" + sale.ID + "/refunds", `{"amount":1,"reason":"to 4242 . 4242 . 4242 . 4242"}`, nil, "reason"},
	}
	for _, tt := range tests {
		status, body := send(t, g, "POST", tt.path, tt.body, bearer(g.SecretKey, tt.header...))
		checkError(t, tt.name, status, body, 422, paygate.EINVALID, tt.param)
		if msg := errField(body, "message"); strings.Contains(msg, "4242") || strings.Contains(msg, "5555") {
			t.Errorf("%s: message %q quotes the number", tt.name, msg)
		}
	}
	if got := g.Bank.Stats(); got != stats {
		t.Errorf("bank: got %+v after refused requests, want %+v (nothing sent)", got, stats)
	}
	list, err := c.ListPayments(ctx, client.ListParams{Limit: 100})
	if err != nil || len(list.Data) != 1 || list.Data[0].AmountRefunded != 0 {
		t.Errorf("after refused requests: %v %v, want the one sale untouched", list, err)
	}
	// Ordinary text with numbers in it is taken.
	p := mustPay(t, c, client.PaymentParams{Amount: 100, Currency: "USD", Card: &client.CardParams{Number: "4242424242424242", ExpMonth: 12, ExpYear: year, CVC: "123", Name: "Pat Doe 3rd"},
		OrderID: "2026/03/15-0042", Description: "Order 1234, 2 items, call +1 555-123-4567", IdempotencyKey: "order-2026-03-15-0042",
		Metadata: map[string]string{"sku": "400-1234-5678", "date": "2026-03-15 10:30:15"}})
	if p.OrderID != "2026/03/15-0042" {
		t.Errorf("order id: got %q", p.OrderID)
	}
	// Random hex keys (UUIDs, the Go client's) are not searched: about one
	// in a thousand holds a Luhn-valid run by chance, as these two do.
	for _, key := range []string{"42424242-4242-4242-a242-424242424242", "e4242424242424242f0123456789abcd", "55555555555544445555555555554444"} {
		status, body := send(t, g, "POST", "/v1/payments", cardBody(), bearer(g.SecretKey, "Idempotency-Key", key))
		if status != 200 {
			t.Errorf("random-looking Idempotency-Key %s: got %d %v, want 200", key, status, body)
		}
	}
}

// TestErrorMessagesShowServerNumbers: masking is for what the client sent;
// the server's own numbers come out whole.
func TestErrorMessagesShowServerNumbers(t *testing.T) {
	g := gatewaytest.MustOpen(t, gatewaytest.Options{})
	status, body := do(t, g, "POST", "/v1/payments", g.SecretKey, cardBody(`1000`, `1000000000000`))
	checkError(t, "amount too large", status, body, 422, paygate.EAMOUNT, "amount")
	if msg := errField(body, "message"); msg != "Amount must be at most 999999999999 minor units." {
		t.Errorf("amount too large: got message %q, want the limit in full", msg)
	}

	// What the client sent is still masked where it is quoted, Luhn-valid or
	// not, however it is written.
	tests := []struct {
		name, method, path, body string
		status                   int
		code, param              string
	}{
		{"unknown card id", "POST", "/v1/payments", `{"amount":100,"currency":"USD","card_id":"4242424242424241"}`, 404, paygate.ENOTFOUND, "card_id"},
		{"unknown card id with slashes", "POST", "/v1/payments", `{"amount":100,"currency":"USD","card_id":"4242/4242/4242/4241"}`, 404, paygate.ENOTFOUND, "card_id"},
		{"unknown field", "POST", "/v1/payments", cardBody(`"currency"`, `"4242_4242_4242_4242":1,"currency"`), 400, paygate.EMALFORMED, "424242******4242"},
		{"unknown field in fullwidth", "POST", "/v1/payments", cardBody(`"currency"`, `"４２４２４２４２４２４２４２４１":1,"currency"`), 400, paygate.EMALFORMED, "424242******4241"},
		{"long metadata value", "POST", "/v1/payments", cardBody(`"currency"`, `"metadata":{"4242424242424241":"`+strings.Repeat("x", 501)+`"},"currency"`), 422, paygate.EINVALID, "metadata[424242******4241]"},
		{"payment id", "GET", "/v1/payments/4242-4242-4242-4241", "", 404, paygate.ENOTFOUND, ""},
		{"starting_after", "GET", "/v1/payments?starting_after=4242_4242_4242_4241", "", 400, paygate.EMALFORMED, "starting_after"},
	}
	for _, tt := range tests {
		status, body := do(t, g, tt.method, tt.path, g.SecretKey, tt.body)
		checkError(t, tt.name, status, body, tt.status, tt.code, tt.param)
		msg := errField(body, "message") + " " + errField(body, "param")
		if !strings.Contains(msg, "424242******424") || strings.Contains(msg, "4242424242424") || strings.Contains(msg, "4242/4242") ||
			strings.Contains(msg, "4242_4242") || strings.Contains(msg, "4242-4242") || strings.Contains(msg, "４２") {
			t.Errorf("%s: got message %q, want the number masked", tt.name, msg)
		}
	}
}

// TestQueryParameters: query parameters are checked as body fields are.
func TestQueryParameters(t *testing.T) {
	g := gatewaytest.MustOpen(t, gatewaytest.Options{})
	c := g.Client(client.WithMaxRetries(0))
	p := mustPay(t, c, client.PaymentParams{Amount: 5000, Currency: "USD", Card: card("4242424242424242", "123")})
	later := mustPay(t, c, client.PaymentParams{Amount: 100, Currency: "USD", Card: card("4242424242424242", "123")})
	m2, _ := paygate.NewMerchant("Other Store", "", time.Now())
	if err := g.Merchants.CreateMerchant(ctx, m2); err != nil {
		t.Fatal(err)
	}
	theirs := mustPay(t, client.New(g.URL(), g.MustCreateKey(t, m2.ID, paygate.KeySecret)),
		client.PaymentParams{Amount: 100, Currency: "USD", Card: card("4242424242424242", "123")})

	tests := []struct {
		name, method, path string
		status             int
		code, param        string
	}{
		{"unknown parameter", "GET", "/v1/payments?colour=red", 400, paygate.EMALFORMED, "colour"},
		{"bracketed parameter", "GET", "/v1/payments?created%5Bgte%5D=2030-01-01T00:00:00Z", 400, paygate.EMALFORMED, "created[gte]"},
		{"cased parameter", "GET", "/v1/payments?LIMIT=1", 400, paygate.EMALFORMED, "LIMIT"},
		{"parameter with a control character", "GET", "/v1/payments?limit%00=1", 400, paygate.EMALFORMED, "limit"},
		{"repeated parameter", "GET", "/v1/payments?limit=1&limit=2", 400, paygate.EMALFORMED, "limit"},
		{"repeated empty parameter", "GET", "/v1/payments?status=&status=captured", 400, paygate.EMALFORMED, "status"},
		{"malformed escape", "GET", "/v1/payments?limit=%zz", 400, paygate.EMALFORMED, ""},
		{"semicolon", "GET", "/v1/payments?limit=1;status=captured", 400, paygate.EMALFORMED, ""},
		{"card number as parameter", "GET", "/v1/payments?4242424242424242=1", 400, paygate.EMALFORMED, "424242******4242"},
		{"malformed created_gte", "GET", "/v1/payments?created_gte=yesterday", 400, paygate.EMALFORMED, "created_gte"},
		{"empty created_gte", "GET", "/v1/payments?created_gte=", 400, paygate.EMALFORMED, "created_gte"},
		{"created_gte out of range", "GET", "/v1/payments?created_gte=99999999999999", 400, paygate.EMALFORMED, "created_gte"},
		{"created_lte overflowing", "GET", "/v1/payments?created_lte=99999999999999999999", 400, paygate.EMALFORMED, "created_lte"},
		{"empty limit", "GET", "/v1/payments?limit=", 400, paygate.EMALFORMED, "limit"},
		{"unknown starting_after", "GET", "/v1/payments?starting_after=pay_nosuchpayment", 400, paygate.EMALFORMED, "starting_after"},
		{"another merchant's starting_after", "GET", "/v1/payments?starting_after=" + theirs.ID, 400, paygate.EMALFORMED, "starting_after"},
		{"query on a payment", "GET", "/v1/payments/" + p.ID + "?expand=refunds", 400, paygate.EMALFORMED, "expand"},
		{"query on a trace", "GET", "/v1/payments/" + p.ID + "/trace?limit=1", 400, paygate.EMALFORMED, "limit"},
		{"query on a card", "GET", "/v1/cards/card_nope?x", 400, paygate.EMALFORMED, "x"},
		{"query on a create", "POST", "/v1/payments?amount=1", 400, paygate.EMALFORMED, "amount"},
		{"query on a refund", "POST", "/v1/payments/" + p.ID + "/refunds?amount=1", 400, paygate.EMALFORMED, "amount"},
	}
	for _, tt := range tests {
		status, body := do(t, g, tt.method, tt.path, g.SecretKey, "{}")
		checkError(t, tt.name, status, body, tt.status, tt.code, tt.param)
		if msg := errField(body, "message"); strings.Contains(msg, "4242424242424242") {
			t.Errorf("%s: message %q quotes the card number", tt.name, msg)
		}
	}
	if got, _ := c.GetPayment(ctx, p.ID); got.AmountRefunded != 0 {
		t.Errorf("a refund went through: refunded %d", got.AmountRefunded)
	}

	// What is right still works: a cursor of one's own, every parameter once
	// (ids made in the same millisecond sort at random, hence min and max).
	older, newer := min(p.ID, later.ID), max(p.ID, later.ID)
	status, body := do(t, g, "GET", "/v1/payments?limit=10&starting_after="+newer+"&status=captured&order_id=&created_gte=0", g.SecretKey, "")
	checkError(t, "empty order_id", status, body, 400, paygate.EMALFORMED, "order_id")
	status, body = do(t, g, "GET", "/v1/payments?limit=10&starting_after="+newer+"&status=captured&created_gte=0&created_lte=253402300799", g.SecretKey, "")
	data, _ := body["data"].([]any)
	if status != 200 || len(data) != 1 || data[0].(map[string]any)["id"] != older {
		t.Errorf("valid query: got %d %v, want the one payment before the cursor", status, body)
	}
}

// TestHeadersOnce: two Authorization or two Idempotency-Key headers are
// refused: which one counts would be a guess.
func TestHeadersOnce(t *testing.T) {
	g := gatewaytest.MustOpen(t, gatewaytest.Options{})
	other := g.MustCreateKey(t, g.Merchant.ID, paygate.KeySecret)
	stats := g.Bank.Stats()
	h := bearer(g.SecretKey)
	h.Add("Authorization", "Bearer "+other)
	status, body := send(t, g, "POST", "/v1/payments", cardBody(), h)
	checkError(t, "two Authorization headers", status, body, 400, paygate.EMALFORMED, "Authorization")
	status, body = send(t, g, "GET", "/v1/payments", "", h)
	checkError(t, "two Authorization headers on a list", status, body, 400, paygate.EMALFORMED, "Authorization")

	status, body = send(t, g, "POST", "/v1/payments", cardBody(), bearer(g.SecretKey, "Idempotency-Key", "a", "Idempotency-Key", "b"))
	checkError(t, "two Idempotency-Key headers", status, body, 400, paygate.EMALFORMED, "Idempotency-Key")
	status, body = send(t, g, "POST", "/v1/payments", cardBody(), bearer(g.SecretKey, "Idempotency-Key", "a", "Idempotency-Key", "a"))
	checkError(t, "the same Idempotency-Key twice", status, body, 400, paygate.EMALFORMED, "Idempotency-Key")
	if got := g.Bank.Stats(); got != stats {
		t.Errorf("bank: got %+v, want %+v (nothing sent)", got, stats)
	}
	// One of each is fine, and the key "a" was not taken by the refusals.
	status, body = send(t, g, "POST", "/v1/payments", cardBody(), bearer(g.SecretKey, "Idempotency-Key", "a"))
	if status != 200 || body["status"] != "captured" {
		t.Errorf("one of each header: got %d %v, want 200 captured", status, body)
	}
}

// TestBodyNotUTF8: invalid UTF-8 is refused rather than turned into U+FFFD.
func TestBodyNotUTF8(t *testing.T) {
	g := gatewaytest.MustOpen(t, gatewaytest.Options{})
	c := g.Client(client.WithMaxRetries(0))
	sale := mustPay(t, c, client.PaymentParams{Amount: 5000, Currency: "USD", Card: card("4242424242424242", "123")})
	year := time.Now().Year() + 2
	for _, tt := range []struct{ name, path, body string }{
		{"payment", "/v1/payments", cardBody(`"currency"`, "\"description\":\"caf\xe9\",\"currency\"")},
		{"payment, in a key", "/v1/payments", cardBody(`"currency"`, "\"metadata\":{\"\xff\":\"x\"},\"currency\"")},
		{"refund", "/v1/payments/" + sale.ID + "/refunds", "{\"amount\":1,\"reason\":\"\xc3\x28\"}"},
		{"card", "/v1/cards", fmt.Sprintf("{\"number\":\"4242424242424242\",\"exp_month\":1,\"exp_year\":%d,\"name\":\"\xed\xa0\x80\"}", year)},
	} {
		status, body := do(t, g, "POST", tt.path, g.SecretKey, tt.body)
		checkError(t, tt.name, status, body, 400, paygate.EMALFORMED, "")
	}
	list, err := c.ListPayments(ctx, client.ListParams{Limit: 100})
	if err != nil || len(list.Data) != 1 || list.Data[0].AmountRefunded != 0 {
		t.Errorf("after refused requests: %v %v, want the one sale untouched", list, err)
	}
}

// TestContentLengthTooLarge: a body announced above the limit is refused
// with 413 at once, without waiting for (or reading) the body.
func TestContentLengthTooLarge(t *testing.T) {
	g := gatewaytest.MustOpen(t, gatewaytest.Options{})
	for _, length := range []int{pghttp.MaxBodyBytes + 1, 200 << 10, 1 << 30} {
		conn, err := net.Dial("tcp", strings.TrimPrefix(g.URL(), "http://"))
		if err != nil {
			t.Fatal(err)
		}
		conn.SetDeadline(time.Now().Add(5 * time.Second))
		// Headers only: the body never comes.
		fmt.Fprintf(conn, "POST /v1/payments HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n{", g.SecretKey, length)
		start := time.Now()
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatalf("Content-Length %d: no answer before the body was sent: %v", length, err)
		}
		b, _ := io.ReadAll(resp.Body)
		conn.Close()
		var body map[string]any
		json.Unmarshal(b, &body)
		checkError(t, fmt.Sprintf("Content-Length %d", length), resp.StatusCode, body, 413, paygate.ETOOLARGE, "")
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("Content-Length %d: answered after %v", length, d)
		}
	}
}

// TestPublishableKeyRefused: publishable keys are no longer issued; one
// made before gets 403 and a message saying what to do.
func TestPublishableKeyRefused(t *testing.T) {
	g := gatewaytest.MustOpen(t, gatewaytest.Options{})
	pk := g.MustCreateKey(t, g.Merchant.ID, paygate.KeyPublishable)
	for _, path := range []string{"/v1/payments", "/v1/payments/pay_x"} {
		status, body := do(t, g, "GET", path, pk, "")
		checkError(t, "publishable key on "+path, status, body, 403, paygate.EFORBIDDEN, "")
		if msg := errField(body, "message"); msg != "Publishable keys are no longer used; use a secret key." {
			t.Errorf("publishable key on %s: got message %q", path, msg)
		}
	}
}
