package http_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/paygate/paygate"
	"github.com/paygate/paygate/client"
	"github.com/paygate/paygate/internal/gatewaytest"
)

var ctx = context.Background()

func card(number, cvc string) *client.CardParams {
	return &client.CardParams{Number: number, ExpMonth: 12, ExpYear: time.Now().Year() + 3, CVC: cvc}
}

func mustPay(t *testing.T, c *client.Client, p client.PaymentParams) *client.Payment {
	t.Helper()
	pay, err := c.CreatePayment(ctx, p)
	if err != nil {
		t.Fatalf("create payment: %v", err)
	}
	return pay
}

func asError(t *testing.T, err error) *client.Error {
	t.Helper()
	var e *client.Error
	if !errors.As(err, &e) {
		t.Fatalf("got error %v, want a *client.Error", err)
	}
	return e
}

var confirmation = regexp.MustCompile(`^PG-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$`)

func TestSaleAndRefunds(t *testing.T) { gatewaytest.Engines(t, testSaleAndRefunds) }

func testSaleAndRefunds(t *testing.T, pg string) {
	g := gatewaytest.MustOpen(t, gatewaytest.Options{Postgres: pg})
	c := g.Client()
	const pan = "4242424242424242"
	before, _ := g.Bank.Account(pan)

	p := mustPay(t, c, client.PaymentParams{Amount: 5000, Currency: "usd", Card: card(pan, "937"), OrderID: "order-1",
		Description: "Two books", Metadata: map[string]string{"cart": "42"}})
	if p.Status != client.StatusCaptured || p.AmountCaptured != 5000 || p.Currency != "USD" {
		t.Fatalf("got status %s captured %d currency %s, want captured 5000 USD", p.Status, p.AmountCaptured, p.Currency)
	}
	if !confirmation.MatchString(p.ConfirmationNumber) {
		t.Errorf("got confirmation number %q, want PG-XXXX-XXXX", p.ConfirmationNumber)
	}
	if p.Card == nil || p.Card.Brand != "visa" || p.Card.Last4 != "4242" || p.Card.First6 != "424242" {
		t.Errorf("got card %+v, want visa 424242…4242", p.Card)
	}
	if p.ResponseCode != "00" || len(p.AuthCode) != 6 || len(p.RRN) != 12 {
		t.Errorf("got response %q auth %q rrn %q", p.ResponseCode, p.AuthCode, p.RRN)
	}
	// The sale holds until it is cleared at settlement.
	after, _ := g.Bank.Account(pan)
	if got := after.Held - before.Held; got != 5000 || after.Posted != before.Posted {
		t.Errorf("issuer held %d and posted %d, want 5000 and 0", got, before.Posted-after.Posted)
	}

	r1, err := c.Refund(ctx, p.ID, client.RefundParams{Amount: new(int64(1500)), Reason: "one book returned"})
	if err != nil || r1.Status != client.RefundSucceeded || r1.Amount != 1500 {
		t.Fatalf("first refund: %+v, %v", r1, err)
	}
	_, err = c.Refund(ctx, p.ID, client.RefundParams{Amount: new(int64(4000))})
	if e := asError(t, err); e.Status != 422 || e.Code != paygate.EAMOUNTTOOLARGE || e.Param != "amount" {
		t.Errorf("refund above captured: got %d %s %s, want 422 amount_too_large amount", e.Status, e.Code, e.Param)
	}
	got, err := c.GetPayment(ctx, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != client.StatusPartiallyRefunded || got.AmountRefunded != 1500 || got.AmountRefundable != 3500 || len(got.Refunds) != 1 {
		t.Fatalf("got %s refunded %d refundable %d refunds %d, want partially_refunded 1500 3500 1", got.Status, got.AmountRefunded, got.AmountRefundable, len(got.Refunds))
	}
	if _, err := c.Refund(ctx, p.ID, client.RefundParams{}); err != nil {
		t.Fatalf("refund the rest: %v", err)
	}
	got, _ = c.GetPayment(ctx, p.ID)
	if got.Status != client.StatusRefunded || got.AmountRefunded != 5000 {
		t.Errorf("got %s refunded %d, want refunded 5000", got.Status, got.AmountRefunded)
	}
	g.Bank.ClearAll()
	final, _ := g.Bank.Account(pan)
	if final.Posted != before.Posted || final.Held != before.Held {
		t.Errorf("issuer balance after full refund %d, want %d", final.Posted, before.Posted)
	}
	_, err = c.Refund(ctx, p.ID, client.RefundParams{})
	if e := asError(t, err); e.Status != 409 || e.Code != paygate.ECONFLICT {
		t.Errorf("refund of refunded: got %d %s, want 409 state_conflict", e.Status, e.Code)
	}
	_, err = c.Void(ctx, p.ID)
	if e := asError(t, err); e.Status != 409 {
		t.Errorf("void of refunded payment: got %d, want 409", e.Status)
	}
}

func TestAuthorizeCaptureVoid(t *testing.T) { gatewaytest.Engines(t, testAuthorizeCaptureVoid) }

func testAuthorizeCaptureVoid(t *testing.T, pg string) {
	g := gatewaytest.MustOpen(t, gatewaytest.Options{Postgres: pg})
	c := g.Client()
	const pan = "5555555555554444"
	before, _ := g.Bank.Account(pan)

	auth := mustPay(t, c, client.PaymentParams{Amount: 10000, Currency: "EUR", Card: card(pan, "123"), Capture: new(false)})
	if auth.Status != client.StatusAuthorized || auth.AmountCaptured != 0 {
		t.Fatalf("got %s captured %d, want authorized 0", auth.Status, auth.AmountCaptured)
	}
	if held := g.Bank.Holds(pan); held != 10000 {
		t.Fatalf("issuer holds %d, want 10000", held)
	}
	_, err := c.Capture(ctx, auth.ID, client.CaptureParams{Amount: new(int64(10001))})
	if e := asError(t, err); e.Status != 422 || e.Code != paygate.EAMOUNTTOOLARGE {
		t.Errorf("capture above authorization: got %d %s, want 422 amount_too_large", e.Status, e.Code)
	}
	cap1, err := c.Capture(ctx, auth.ID, client.CaptureParams{Amount: new(int64(7500))})
	if err != nil || cap1.Status != client.StatusCaptured || cap1.AmountCaptured != 7500 {
		t.Fatalf("partial capture: %+v %v", cap1, err)
	}
	// The hold stays until the capture is cleared at settlement.
	acct, _ := g.Bank.Account(pan)
	if acct.Held != 10000 || before.Posted-acct.Posted != 0 {
		t.Errorf("after partial capture: held %d posted delta %d, want 10000 and 0", acct.Held, before.Posted-acct.Posted)
	}
	_, err = c.Capture(ctx, auth.ID, client.CaptureParams{})
	if e := asError(t, err); e.Status != 409 || e.Code != paygate.ECONFLICT {
		t.Errorf("second capture: got %d %s, want 409 state_conflict", e.Status, e.Code)
	}

	// Void the partly captured payment before settlement: the posting goes.
	if v, err := c.Void(ctx, auth.ID); err != nil || v.Status != client.StatusVoided {
		t.Fatalf("void of partly captured payment: %+v %v", v, err)
	}
	if acct, _ = g.Bank.Account(pan); acct.Posted != before.Posted || acct.Held != 0 {
		t.Errorf("after void of capture: posted %d held %d, want %d and 0", acct.Posted, acct.Held, before.Posted)
	}

	// Void an authorization: the hold goes away.
	auth2 := mustPay(t, c, client.PaymentParams{Amount: 2500, Currency: "EUR", Card: card(pan, "123"), Capture: new(false)})
	v, err := c.Void(ctx, auth2.ID)
	if err != nil || v.Status != client.StatusVoided || v.VoidReason != paygate.VoidRequested {
		t.Fatalf("void: %+v %v", v, err)
	}
	if held := g.Bank.Holds(pan); held != 0 {
		t.Errorf("issuer holds %d after void, want 0", held)
	}
	_, err = c.Capture(ctx, auth2.ID, client.CaptureParams{})
	if e := asError(t, err); e.Status != 409 {
		t.Errorf("capture of voided: got %d, want 409", e.Status)
	}

	// Void a captured sale before settlement: the posting is undone.
	sale := mustPay(t, c, client.PaymentParams{Amount: 1200, Currency: "EUR", Card: card(pan, "123")})
	if _, err := c.Void(ctx, sale.ID); err != nil {
		t.Fatalf("void of unsettled sale: %v", err)
	}
	acct, _ = g.Bank.Account(pan)
	if acct.Posted != before.Posted {
		t.Errorf("issuer posted delta %d after void of sale, want 0", before.Posted-acct.Posted)
	}

	// After the batch closes a sale can no longer be voided, only refunded.
	sale2 := mustPay(t, c, client.PaymentParams{Amount: 900, Currency: "EUR", Card: card(pan, "123")})
	g.Gateway.Settler = gatewaytest.NewSettler(g.Gateway)
	eur, _ := paygate.LookupCurrency("EUR")
	batch, err := g.Gateway.OpenBatch(ctx, g.Merchant, eur)
	if err != nil {
		t.Fatal(err)
	}
	g.Clock.Advance(time.Second)
	if b, _, err := g.Gateway.CloseBatch(ctx, g.Merchant, batch.ID); err != nil || b.Totals.DebitsCount != 1 {
		t.Fatalf("close batch: %+v %v, want 1 settled", b, err)
	}
	_, err = c.Void(ctx, sale2.ID)
	if e := asError(t, err); e.Status != 409 || !strings.Contains(e.Message, "settled") {
		t.Errorf("void after settlement: got %d %q, want 409 naming settlement", e.Status, e.Message)
	}
	if _, err := c.Refund(ctx, sale2.ID, client.RefundParams{}); err != nil {
		t.Errorf("refund after settlement: %v", err)
	}
}

func TestDeclines(t *testing.T) { gatewaytest.Engines(t, testDeclines) }

func testDeclines(t *testing.T, pg string) {
	g := gatewaytest.MustOpen(t, gatewaytest.Options{Postgres: pg})
	c := g.Client(client.WithMaxRetries(0))
	tests := []struct {
		pan, cvc     string
		amount       int64
		responseCode string
		declineCode  string
	}{
		{"4000000000000002", "123", 1000, "05", "do_not_honor"},
		{"4000000000009995", "123", 1000, "51", "insufficient_funds"},
		{"4000000000000069", "123", 1000, "54", "expired_card"},
		{"4000000000009987", "123", 1000, "41", "lost_card"},
		{"4000000000009979", "123", 1000, "43", "stolen_card"},
		{"4000000000000119", "123", 1000, "96", "processing_error"},
		{"4000000000000127", "123", 1000, "N7", "incorrect_cvc"},
		{"4000000000000010", "123", 1000, "14", "invalid_number"},
		{"4000000000000572", "123", 1000, "57", "transaction_not_allowed"},
		{"4100000000000019", "123", 1000, "59", "suspected_fraud"},
		{"4000000000000614", "123", 10001, "61", "exceeds_amount_limit"},
		{"4000000000000622", "123", 1000, "62", "restricted_card"},
		{"4000090000000003", "123", 1000, "91", "issuer_unavailable"},
	}
	for _, tt := range tests {
		t.Run(tt.pan, func(t *testing.T) {
			_, err := c.CreatePayment(ctx, client.PaymentParams{Amount: tt.amount, Currency: "USD", Card: card(tt.pan, tt.cvc)})
			e := asError(t, err)
			if e.Status != 402 || e.Code != paygate.EDECLINED || e.ResponseCode != tt.responseCode || e.DeclineCode != tt.declineCode {
				t.Fatalf("got %d %s %s %s, want 402 card_declined %s %s", e.Status, e.Code, e.ResponseCode, e.DeclineCode, tt.responseCode, tt.declineCode)
			}
			if e.Message == "" || e.PaymentID == "" || e.RequestID == "" {
				t.Errorf("got message %q payment %q request %q, want all set", e.Message, e.PaymentID, e.RequestID)
			}
			p, err := c.GetPayment(ctx, e.PaymentID)
			if err != nil {
				t.Fatal(err)
			}
			if p.Status != client.StatusDeclined || p.ConfirmationNumber != "" || p.DeclineCode != tt.declineCode {
				t.Errorf("got %s confirmation %q decline %q, want declined without confirmation", p.Status, p.ConfirmationNumber, p.DeclineCode)
			}
		})
	}
	// Below its limit the limited card approves.
	if _, err := c.CreatePayment(ctx, client.PaymentParams{Amount: 10000, Currency: "USD", Card: card("4000000000000614", "123")}); err != nil {
		t.Errorf("limited card below its limit: %v", err)
	}
}

func TestIssuerNeverAnswers(t *testing.T) { gatewaytest.Engines(t, testIssuerNeverAnswers) }

func testIssuerNeverAnswers(t *testing.T, pg string) {
	g := gatewaytest.MustOpen(t, gatewaytest.Options{Postgres: pg, NetworkTimeout: 200 * time.Millisecond})
	c := g.Client(client.WithMaxRetries(0))
	const pan = "4000110000000009"
	_, err := c.CreatePayment(ctx, client.PaymentParams{Amount: 4200, Currency: "USD", Card: card(pan, "123")})
	e := asError(t, err)
	if e.Status != 402 || e.DeclineCode != "issuer_unavailable" || e.ResponseCode != "91" {
		t.Fatalf("got %d %s %s, want 402 issuer_unavailable 91", e.Status, e.DeclineCode, e.ResponseCode)
	}
	// The reversal goes on in the background: the payment stays pending
	// until the network has taken it.
	awaitStatus(t, c, e.PaymentID, client.StatusFailed, 5*time.Second)
	acct, _ := g.Bank.Account(pan)
	if acct.Held != 0 || acct.Available != acct.Posted {
		t.Errorf("issuer still holds %d (available %d, posted %d): the timed-out request was not reversed", acct.Held, acct.Available, acct.Posted)
	}
	if g.Bank.Stats().Reversals < 1 {
		t.Errorf("bank saw no reversal")
	}
}

// do sends a raw request and decodes the JSON answer.
func do(t *testing.T, g *gatewaytest.Gateway, method, path, key, body string, header ...string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, g.URL()+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.Header.Get("Request-Id") == "" {
		t.Errorf("%s %s: no Request-Id header", method, path)
	}
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("%s %s: body is not JSON: %q", method, path, b)
	}
	return resp.StatusCode, out
}

func errField(body map[string]any, name string) string {
	e, _ := body["error"].(map[string]any)
	s, _ := e[name].(string)
	return s
}

func TestBadInput(t *testing.T) { gatewaytest.Engines(t, testBadInput) }

func testBadInput(t *testing.T, pg string) {
	g := gatewaytest.MustOpen(t, gatewaytest.Options{Postgres: pg})
	c := g.Client()
	sale := mustPay(t, c, client.PaymentParams{Amount: 1000, Currency: "USD", Card: card("4242424242424242", "123")})
	m2, _ := paygate.NewMerchant("Other Store", "", time.Now())
	if err := g.Merchants.CreateMerchant(ctx, m2); err != nil {
		t.Fatal(err)
	}
	otherKey := g.MustCreateKey(t, m2.ID, paygate.KeySecret)
	revoked := g.MustCreateKey(t, g.Merchant.ID, paygate.KeySecret)
	keys, _ := g.Merchants.APIKeys(ctx, g.Merchant.ID)
	if err := g.Merchants.RevokeAPIKey(ctx, keys[len(keys)-1].ID, time.Now()); err != nil {
		t.Fatal(err)
	}
	// Publishable keys are no longer issued; one made before still fails.
	publishable := g.MustCreateKey(t, g.Merchant.ID, paygate.KeyPublishable)

	good := func(repl ...string) string {
		b := `{"amount":1000,"currency":"USD","card":{"number":"4242424242424242","exp_month":12,"exp_year":2031,"cvc":"123"}}`
		for i := 0; i+1 < len(repl); i += 2 {
			b = strings.Replace(b, repl[i], repl[i+1], 1)
		}
		return b
	}
	sk := g.SecretKey
	tests := []struct {
		name         string
		method, path string
		key, body    string
		status       int
		code, param  string
	}{
		{"malformed JSON", "POST", "/v1/payments", sk, `{"amount":`, 400, paygate.EMALFORMED, ""},
		{"not an object", "POST", "/v1/payments", sk, `[1,2]`, 400, paygate.EMALFORMED, ""},
		{"trailing data", "POST", "/v1/payments", sk, good() + `{}`, 400, paygate.EMALFORMED, ""},
		{"empty body", "POST", "/v1/payments", sk, ``, 400, paygate.EMALFORMED, ""},
		{"unknown field", "POST", "/v1/payments", sk, good(`"currency"`, `"colour":"red","currency"`), 400, paygate.EMALFORMED, "colour"},
		{"oversized", "POST", "/v1/payments", sk, good(`"USD"`, `"USD","description":"`+strings.Repeat("x", 70<<10)+`"`), 413, paygate.ETOOLARGE, ""},
		{"no key", "POST", "/v1/payments", "", good(), 401, paygate.EUNAUTHORIZED, ""},
		{"invalid key", "POST", "/v1/payments", "sk_nonsense", good(), 401, paygate.EUNAUTHORIZED, ""},
		{"revoked key", "POST", "/v1/payments", revoked, good(), 401, paygate.EUNAUTHORIZED, ""},
		{"publishable key", "POST", "/v1/payments", publishable, good(), 403, paygate.EFORBIDDEN, ""},
		{"bad Luhn", "POST", "/v1/payments", sk, good("4242424242424242", "4242424242424241"), 402, paygate.ENUMBER, "card[number]"},
		{"letters in number", "POST", "/v1/payments", sk, good("4242424242424242", "4242abcd42424242"), 402, paygate.ENUMBER, "card[number]"},
		{"expired card", "POST", "/v1/payments", sk, good("2031", "2020"), 402, paygate.EEXPIRED, "card[exp_year]"},
		{"bad month", "POST", "/v1/payments", sk, good(`"exp_month":12`, `"exp_month":13`), 402, paygate.EEXPIRY, "card[exp_month]"},
		{"wrong CVC length", "POST", "/v1/payments", sk, good(`"123"`, `"1234"`), 402, paygate.ECVC, "card[cvc]"},
		{"amex CVC too short", "POST", "/v1/payments", sk, good("4242424242424242", "378282246310005"), 402, paygate.ECVC, "card[cvc]"},
		{"unknown currency", "POST", "/v1/payments", sk, good("USD", "XYZ"), 422, paygate.ECURRENCY, "currency"},
		{"missing currency", "POST", "/v1/payments", sk, good(`"currency":"USD",`, ``), 422, paygate.EMISSING, "currency"},
		{"zero amount", "POST", "/v1/payments", sk, good("1000", "0"), 422, paygate.EAMOUNT, "amount"},
		{"negative amount", "POST", "/v1/payments", sk, good("1000", "-5"), 422, paygate.EAMOUNT, "amount"},
		{"amount too large", "POST", "/v1/payments", sk, good("1000", "1000000000000"), 422, paygate.EAMOUNT, "amount"},
		{"amount overflows", "POST", "/v1/payments", sk, good("1000", "99999999999999999999"), 422, paygate.EINVALID, "amount"},
		{"fractional amount", "POST", "/v1/payments", sk, good("1000", "10.50"), 422, paygate.EINVALID, "amount"},
		{"amount as string", "POST", "/v1/payments", sk, good("1000", `"1000"`), 422, paygate.EINVALID, "amount"},
		{"missing amount", "POST", "/v1/payments", sk, good(`"amount":1000,`, ``), 422, paygate.EMISSING, "amount"},
		{"no card", "POST", "/v1/payments", sk, `{"amount":100,"currency":"USD"}`, 422, paygate.EMISSING, "card"},
		{"unknown card id", "POST", "/v1/payments", sk, `{"amount":100,"currency":"USD","card_id":"card_nope"}`, 404, paygate.ENOTFOUND, "card_id"},
		{"another merchant's payment", "GET", "/v1/payments/" + sale.ID, otherKey, "", 404, paygate.ENOTFOUND, ""},
		{"another merchant's capture", "POST", "/v1/payments/" + sale.ID + "/refunds", otherKey, "{}", 404, paygate.ENOTFOUND, ""},
		{"no such payment", "GET", "/v1/payments/pay_nope", sk, "", 404, paygate.ENOTFOUND, ""},
		{"refund above captured", "POST", "/v1/payments/" + sale.ID + "/refunds", sk, `{"amount":1001}`, 422, paygate.EAMOUNTTOOLARGE, "amount"},
		{"refund of zero", "POST", "/v1/payments/" + sale.ID + "/refunds", sk, `{"amount":0}`, 422, paygate.EAMOUNT, "amount"},
		{"capture of a sale", "POST", "/v1/payments/" + sale.ID + "/capture", sk, `{}`, 409, paygate.ECONFLICT, ""},
		{"unknown route", "GET", "/v1/nothing", sk, "", 404, paygate.ENOTFOUND, ""},
		{"bad limit", "GET", "/v1/payments?limit=1000", sk, "", 400, paygate.EMALFORMED, "limit"},
		{"idempotency key too long", "POST", "/v1/payments", sk, good(), 422, paygate.EINVALID, "Idempotency-Key"},
		{"unknown nested field", "POST", "/v1/payments", sk, good(`"cvc"`, `"cvv"`), 400, paygate.EMALFORMED, "card[cvv]"},
		{"duplicate key", "POST", "/v1/payments", sk, good(`"amount":1000`, `"amount":1000,"amount":9000`), 400, paygate.EMALFORMED, "amount"},
		{"duplicate nested key", "POST", "/v1/payments", sk, good(`"cvc":"123"`, `"cvc":"123","cvc":"456"`), 400, paygate.EMALFORMED, "cvc"},
		{"card number in description", "POST", "/v1/payments", sk, good(`"USD"`, `"USD","description":"card 5555 5555 5555 4444"`), 422, paygate.EINVALID, "description"},
		{"card number in order id", "POST", "/v1/payments", sk, good(`"USD"`, `"USD","order_id":"5555555555554444"`), 422, paygate.EINVALID, "order_id"},
		{"card number in metadata", "POST", "/v1/payments", sk, good(`"USD"`, `"USD","metadata":{"note":"4242424242424242"}`), 422, paygate.EINVALID, "metadata"},
		{"metadata not strings", "POST", "/v1/payments", sk, good(`"USD"`, `"USD","metadata":{"a":1}`), 422, paygate.EINVALID, "metadata"},
		{"bad receipt e-mail", "POST", "/v1/payments", sk, good(`"USD"`, `"USD","receipt_email":"@"`), 422, paygate.EINVALID, "receipt_email"},
		{"bad status filter", "GET", "/v1/payments?status=bogus", sk, "", 400, paygate.EMALFORMED, "status"},
		{"wrong method", "PUT", "/v1/payments", sk, good(), 405, paygate.EMETHOD, ""},
		{"wrong method on a payment", "DELETE", "/v1/payments/" + sale.ID, sk, "", 405, paygate.EMETHOD, ""},
		{"wrong method on healthz", "POST", "/healthz", "", "", 405, paygate.EMETHOD, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var hdr []string
			switch tt.name {
			case "idempotency key too long":
				hdr = []string{"Idempotency-Key", strings.Repeat("k", 256)}
			}
			status, body := do(t, g, tt.method, tt.path, tt.key, tt.body, hdr...)
			if status != tt.status || errField(body, "code") != tt.code || errField(body, "param") != tt.param {
				t.Fatalf("got %d %s param %q, want %d %s param %q (%v)", status, errField(body, "code"), errField(body, "param"), tt.status, tt.code, tt.param, body)
			}
			if msg := errField(body, "message"); msg == "" || msg[0] < 'A' || msg[0] > 'Z' {
				t.Errorf("got message %q, want a capitalised sentence", msg)
			}
			if errField(body, "request_id") == "" {
				t.Errorf("error body has no request_id")
			}
		})
	}
	// Nothing was written: still one payment, untouched.
	list, err := c.ListPayments(ctx, client.ListParams{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Data) != 1 || list.Data[0].Status != client.StatusCaptured || list.Data[0].AmountRefunded != 0 {
		t.Errorf("after bad input: %d payments, want the one untouched sale", len(list.Data))
	}
}

func TestIdempotency(t *testing.T) { gatewaytest.Engines(t, testIdempotency) }

func testIdempotency(t *testing.T, pg string) {
	release := make(chan struct{})
	var slow sync.Once
	var entered = make(chan struct{})
	g := gatewaytest.MustOpen(t, gatewaytest.Options{Postgres: pg, NetworkTimeout: 5 * time.Second, Acquirer: func(a paygate.Acquirer) paygate.Acquirer {
		return acquirerFunc(func(c context.Context, r paygate.NetworkRequest) (paygate.NetworkResponse, error) {
			if r.Amount == 777 {
				slow.Do(func() { close(entered); <-release })
			}
			return a.Send(c, r)
		})
	}})
	body := `{"amount":1000,"currency":"USD","card":{"number":"4242424242424242","exp_month":12,"exp_year":2031,"cvc":"123"}}`
	s1, b1 := do(t, g, "POST", "/v1/payments", g.SecretKey, body, "Idempotency-Key", "order-77")
	s2, b2 := do(t, g, "POST", "/v1/payments", g.SecretKey, body, "Idempotency-Key", "order-77")
	if s1 != 200 || s2 != 200 || b1["id"] != b2["id"] || b1["confirmation_number"] != b2["confirmation_number"] {
		t.Fatalf("replay: got %d %v and %d %v, want the same payment twice", s1, b1["id"], s2, b2["id"])
	}
	if n := g.Bank.Stats().Sales; n != 1 {
		t.Errorf("bank saw %d sales, want 1", n)
	}
	s3, b3 := do(t, g, "POST", "/v1/payments", g.SecretKey, strings.Replace(body, "1000", "2000", 1), "Idempotency-Key", "order-77")
	if s3 != 422 || errField(b3, "code") != paygate.EIDEMPOTENCY {
		t.Errorf("same key, other body: got %d %s, want 422 %s", s3, errField(b3, "code"), paygate.EIDEMPOTENCY)
	}
	// A validation failure is not stored: the key may be used again.
	s4, _ := do(t, g, "POST", "/v1/payments", g.SecretKey, strings.Replace(body, "USD", "XXX", 1), "Idempotency-Key", "retry-me")
	s5, _ := do(t, g, "POST", "/v1/payments", g.SecretKey, body, "Idempotency-Key", "retry-me")
	if s4 != 422 || s5 != 200 {
		t.Errorf("key after validation failure: got %d then %d, want 422 then 200", s4, s5)
	}
	// A card refused before the network (bad Luhn) is not stored either.
	s7, _ := do(t, g, "POST", "/v1/payments", g.SecretKey, strings.Replace(body, "4242424242424242", "4242424242424241", 1), "Idempotency-Key", "typo-1")
	s8, _ := do(t, g, "POST", "/v1/payments", g.SecretKey, body, "Idempotency-Key", "typo-1")
	if s7 != 402 || s8 != 200 {
		t.Errorf("key after a mistyped card: got %d then %d, want 402 then 200", s7, s8)
	}
	// A decline is stored and replayed, not sent to the issuer again.
	declined := strings.Replace(body, "4242424242424242", "4000000000000002", 1)
	d1, db1 := do(t, g, "POST", "/v1/payments", g.SecretKey, declined, "Idempotency-Key", "declined-1")
	d2, db2 := do(t, g, "POST", "/v1/payments", g.SecretKey, declined, "Idempotency-Key", "declined-1")
	if d1 != 402 || d2 != 402 || errField(db1, "payment_id") != errField(db2, "payment_id") {
		t.Errorf("decline replay: got %d %s and %d %s", d1, errField(db1, "payment_id"), d2, errField(db2, "payment_id"))
	}
	// While the first request is in flight, the same key gets 409.
	slowBody := strings.Replace(body, "1000", "777", 1)
	done := make(chan int)
	go func() {
		s, _ := do(t, g, "POST", "/v1/payments", g.SecretKey, slowBody, "Idempotency-Key", "slow-1")
		done <- s
	}()
	<-entered
	s6, b6 := do(t, g, "POST", "/v1/payments", g.SecretKey, slowBody, "Idempotency-Key", "slow-1")
	close(release)
	if s6 != 409 || errField(b6, "code") != paygate.EIDEMPOTENCYBUSY {
		t.Errorf("in flight: got %d %s, want 409 %s", s6, errField(b6, "code"), paygate.EIDEMPOTENCYBUSY)
	}
	if s := <-done; s != 200 {
		t.Errorf("first slow request: got %d, want 200", s)
	}
	// Many concurrent identical requests charge once.
	var wg sync.WaitGroup
	ids := make(chan string, 10)
	for range 10 {
		wg.Go(func() {
			p, err := g.Client().CreatePayment(ctx, client.PaymentParams{Amount: 3100, Currency: "USD", Card: card("4111111111111111", "123"), IdempotencyKey: "burst"})
			if err != nil {
				t.Errorf("burst: %v", err)
				return
			}
			ids <- p.ID
		})
	}
	wg.Wait()
	close(ids)
	seen := map[string]bool{}
	for id := range ids {
		seen[id] = true
	}
	if len(seen) != 1 {
		t.Errorf("burst of one key made %d payments, want 1", len(seen))
	}
	g.Bank.ClearAll()
	if acct, _ := g.Bank.Account("4111111111111111"); acct.Limit-acct.Posted != 3100 {
		t.Errorf("issuer posted %d for the burst, want 3100", acct.Limit-acct.Posted)
	}
}

type acquirerFunc func(context.Context, paygate.NetworkRequest) (paygate.NetworkResponse, error)

func (f acquirerFunc) Send(c context.Context, r paygate.NetworkRequest) (paygate.NetworkResponse, error) {
	return f(c, r)
}

func TestAcknowledgment(t *testing.T) { gatewaytest.Engines(t, testAcknowledgment) }

func testAcknowledgment(t *testing.T, pg string) {
	const window = time.Minute
	g := gatewaytest.MustOpen(t, gatewaytest.Options{Postgres: pg, RequireAck: true, AckWindow: window})
	c := g.Client()
	const pan = "6011111111111117"
	acked := mustPay(t, c, client.PaymentParams{Amount: 1000, Currency: "USD", Card: card(pan, "123"), Capture: new(false)})
	unacked := mustPay(t, c, client.PaymentParams{Amount: 2000, Currency: "USD", Card: card(pan, "123"), Capture: new(false)})
	notRequired := mustPay(t, c, client.PaymentParams{Amount: 4000, Currency: "USD", Card: card(pan, "123"), Capture: new(false), RequireAck: new(false)})
	if !acked.RequireAck || acked.AckDeadline == nil || notRequired.RequireAck {
		t.Fatalf("require_ack %v deadline %v; opted out %v", acked.RequireAck, acked.AckDeadline, notRequired.RequireAck)
	}
	p, err := c.Ack(ctx, acked.ID)
	if err != nil || p.AckedAt == nil {
		t.Fatalf("ack: %+v %v", p, err)
	}
	if held := g.Bank.Holds(pan); held != 7000 {
		t.Fatalf("holds %d, want 7000", held)
	}
	if n, err := g.Gateway.ExpireUnacknowledged(ctx); err != nil || n != 0 {
		t.Fatalf("expire within the window: %d %v, want 0", n, err)
	}
	g.Clock.Advance(window)
	n, err := g.Gateway.ExpireUnacknowledged(ctx)
	if err != nil || n != 1 {
		t.Fatalf("expire: %d %v, want 1", n, err)
	}
	got, _ := c.GetPayment(ctx, unacked.ID)
	if got.Status != client.StatusVoided || got.VoidReason != paygate.VoidAckTimeout {
		t.Errorf("unacknowledged: got %s %q, want voided ack_timeout", got.Status, got.VoidReason)
	}
	if held := g.Bank.Holds(pan); held != 5000 {
		t.Errorf("holds %d after expiry, want 5000 (the acknowledged and the opted-out)", held)
	}
	_, err = c.Ack(ctx, unacked.ID)
	if e := asError(t, err); e.Status != 409 || !strings.Contains(e.Message, "not acknowledged in time") {
		t.Errorf("late ack: got %d %q", e.Status, e.Message)
	}
	if got, _ := c.GetPayment(ctx, acked.ID); got.Status != client.StatusAuthorized {
		t.Errorf("acknowledged payment: got %s, want authorized", got.Status)
	}
}

func TestStoredCard(t *testing.T) { gatewaytest.Engines(t, testStoredCard) }

func testStoredCard(t *testing.T, pg string) {
	g := gatewaytest.MustOpen(t, gatewaytest.Options{Postgres: pg})
	c := g.Client()
	sc, err := c.CreateCard(ctx, client.CardParams{Number: "3782 822463 10005", ExpMonth: 4, ExpYear: time.Now().Year() + 2, CVC: "1234", Name: "A Cardholder"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(sc.ID, "card_") || sc.Brand != "amex" || sc.Last4 != "0005" || sc.Fingerprint == "" {
		t.Fatalf("got card %+v", sc)
	}
	p := mustPay(t, c, client.PaymentParams{Amount: 990, Currency: "GBP", CardID: sc.ID})
	if p.Status != client.StatusCaptured || p.Card.Fingerprint != sc.Fingerprint {
		t.Errorf("payment with stored card: %s fingerprint %q, want captured %q", p.Status, p.Card.Fingerprint, sc.Fingerprint)
	}
	got, err := c.GetCard(ctx, sc.ID)
	if err != nil || got.Last4 != "0005" {
		t.Errorf("get card: %+v %v", got, err)
	}
}

func TestListPayments(t *testing.T) { gatewaytest.Engines(t, testListPayments) }

func testListPayments(t *testing.T, pg string) {
	g := gatewaytest.MustOpen(t, gatewaytest.Options{Postgres: pg})
	c := g.Client()
	want := map[string]bool{}
	for i := range 23 {
		capture := i%3 != 0
		p := mustPay(t, c, client.PaymentParams{Amount: int64(100 + i), Currency: "USD", Card: card("4242424242424242", "123"),
			Capture: &capture, OrderID: fmt.Sprintf("o-%d", i%2)})
		want[p.ID] = true
	}
	var got []string
	for p, err := range c.Payments(ctx, client.ListParams{Limit: 5}) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, p.ID)
	}
	if len(got) != 23 {
		t.Fatalf("walked %d payments, want 23", len(got))
	}
	for i := 1; i < len(got); i++ {
		if got[i] >= got[i-1] || !want[got[i]] {
			t.Fatalf("payments not newest first or unknown at %d", i)
		}
	}
	page, err := c.ListPayments(ctx, client.ListParams{Status: client.StatusAuthorized, Limit: 100})
	if err != nil || len(page.Data) != 8 || page.HasMore {
		t.Errorf("authorized: got %d (more %v) %v, want 8", len(page.Data), page.HasMore, err)
	}
	page, _ = c.ListPayments(ctx, client.ListParams{OrderID: "o-1", Limit: 100})
	if len(page.Data) != 11 {
		t.Errorf("order o-1: got %d, want 11", len(page.Data))
	}
	page, _ = c.ListPayments(ctx, client.ListParams{CreatedGTE: time.Now().Add(time.Hour), Limit: 100})
	if len(page.Data) != 0 {
		t.Errorf("created in the future: got %d, want 0", len(page.Data))
	}
}

func TestInternalErrorsDoNotLeak(t *testing.T) {
	g := gatewaytest.MustOpen(t, gatewaytest.Options{})
	g.CloseDB() // every store call now fails
	status, body := do(t, g, "GET", "/v1/payments", g.SecretKey, "")
	rid := errField(body, "request_id")
	if status != 500 || errField(body, "code") != paygate.EINTERNAL || errField(body, "type") != "api_error" || rid == "" {
		t.Fatalf("got %d %v, want 500 internal_error with a request id", status, body)
	}
	msg := errField(body, "message")
	if !strings.HasPrefix(msg, "Internal error.") || strings.Contains(strings.ToLower(msg), "sql") || strings.Contains(msg, "closed") {
		t.Errorf("got message %q, want a generic one", msg)
	}
	logs := string(g.Logs.Bytes())
	if !strings.Contains(logs, rid) || !strings.Contains(logs, "closed") {
		t.Errorf("the log does not hold the full error under request id %s", rid)
	}
}

func TestPaymentTrace(t *testing.T) { gatewaytest.Engines(t, testPaymentTrace) }

func testPaymentTrace(t *testing.T, pg string) {
	g := gatewaytest.MustOpen(t, gatewaytest.Options{Postgres: pg, NetworkTimeout: 200 * time.Millisecond})
	c := g.Client(client.WithMaxRetries(0))
	auth := mustPay(t, c, client.PaymentParams{Amount: 3000, Currency: "USD", Card: card("5555555555554444", "321"), Capture: new(false)})
	if _, err := c.Capture(ctx, auth.ID, client.CaptureParams{Amount: new(int64(2000))}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Refund(ctx, auth.ID, client.RefundParams{Amount: new(int64(500))}); err != nil {
		t.Fatal(err)
	}
	_, err := c.CreatePayment(ctx, client.PaymentParams{Amount: 100, Currency: "USD", Card: card("4000110000000009", "987")})
	silent := asError(t, err).PaymentID
	awaitStatus(t, c, silent, client.StatusFailed, 5*time.Second) // reversed in the background

	type entry struct {
		Event, Kind, MTI, STAN, RRN, Card, ResponseCode string
	}
	trace := func(id string) []entry {
		status, body := do(t, g, "GET", "/v1/payments/"+id+"/trace", g.SecretKey, "")
		if status != 200 {
			t.Fatalf("trace: %d %v", status, body)
		}
		b, _ := json.Marshal(body["data"])
		if strings.Contains(string(b), "5555555555554444") || strings.Contains(string(b), "4000110000000009") {
			t.Errorf("trace shows a card number: %s", b)
		}
		var out []entry
		var raw []map[string]any
		json.Unmarshal(b, &raw)
		for _, r := range raw {
			for k, v := range r {
				if v == "987" || v == "321" || k == "exp_month" || k == "exp_year" {
					t.Errorf("trace shows a CVC or an expiry: %s=%v", k, v)
				}
			}
			s := func(k string) string { v, _ := r[k].(string); return v }
			out = append(out, entry{s("event"), s("kind"), s("mti"), s("stan"), s("rrn"), s("card"), s("response_code")})
		}
		return out
	}
	got := trace(auth.ID)
	want := []struct{ event, kind, mti, code string }{
		{"sent", "authorize", "0100", ""}, {"received", "authorize", "0110", "00"},
		{"sent", "capture", "0220", ""}, {"received", "capture", "0230", "00"},
		{"sent", "refund", "0200", ""}, {"received", "refund", "0210", "00"},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d trace entries %v, want %d", len(got), got, len(want))
	}
	for i, w := range want {
		if got[i].Event != w.event || got[i].Kind != w.kind || got[i].MTI != w.mti || got[i].ResponseCode != w.code || got[i].RRN == "" {
			t.Errorf("entry %d: got %+v, want %v", i, got[i], w)
		}
	}
	if got[0].Card != "555555******4444" || got[0].STAN == got[2].STAN {
		t.Errorf("got card %q and STANs %s %s, want masked card and a new STAN per message", got[0].Card, got[0].STAN, got[2].STAN)
	}
	st := trace(silent)
	if len(st) != 4 || st[1].Event != "no_answer" || st[2].Kind != "reverse" || st[2].MTI != "0420" || st[3].MTI != "0430" || st[3].ResponseCode != "00" {
		t.Errorf("timed-out payment trace: got %+v, want sent, no answer, reversal sent, reversal received", st)
	}
}
