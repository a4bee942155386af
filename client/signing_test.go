package client_test

import (
	"encoding/json"
	"errors"
	"net/http/httptest"
	"net/url"
	"os"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/paygate/paygate/client"
)

// vector is a known-answer case of testdata/signatures.json, computed by
// testdata/signatures.py with Python's hmac, independently of our code.
type vector struct {
	Name        string `json:"name"`
	Secret      string `json:"secret"`       // the one the receiver holds
	OtherSecret string `json:"other_secret"` // another that signed too (rotation)
	Timestamp   int64  `json:"timestamp"`
	Payload     string `json:"payload"`
	Signature   string `json:"signature"`
	Query       string `json:"query"` // as received, signature included
}

func mustVectors(tb testing.TB) []vector {
	tb.Helper()
	data, err := os.ReadFile("testdata/signatures.json")
	if err != nil {
		tb.Fatal(err)
	}
	var vs []vector
	if err := json.Unmarshal(data, &vs); err != nil {
		tb.Fatal(err)
	}
	if len(vs) < 5 {
		tb.Fatalf("got %d vectors, want at least 5", len(vs))
	}
	return vs
}

func mustQuery(tb testing.TB, raw string) url.Values {
	tb.Helper()
	q, err := url.ParseQuery(raw)
	if err != nil {
		tb.Fatal(err)
	}
	return q
}

func TestVerifyVectors(t *testing.T) {
	for _, v := range mustVectors(t) {
		t.Run(v.Name, func(t *testing.T) {
			q := mustQuery(t, v.Query)
			if got := q.Get("signature"); got != v.Signature {
				t.Fatalf("vector's query has signature %q, its signature field %q", got, v.Signature)
			}
			at := time.Unix(v.Timestamp, 0)
			for _, now := range []time.Time{at, at.Add(client.SignatureTolerance), at.Add(-client.SignatureTolerance)} {
				res, err := client.VerifyQuery(q, now, v.Secret)
				if err != nil {
					t.Fatalf("at %s: %v", now.Sub(at), err)
				}
				if !res.Timestamp.Equal(at) {
					t.Errorf("got timestamp %s, want %s", res.Timestamp, at)
				}
			}
			if v.OtherSecret != "" {
				if _, err := client.VerifyQuery(q, at, v.OtherSecret); err != nil {
					t.Errorf("with the other secret: %v", err)
				}
			}
			// Held among other secrets, in either order.
			other := "whsec_" + strings.Repeat("A", 43) + "="
			for _, secrets := range [][]string{{other, v.Secret}, {v.Secret, other}} {
				if _, err := client.VerifyQuery(q, at, secrets...); err != nil {
					t.Errorf("with secrets %d: %v", len(secrets), err)
				}
			}
			if _, err := client.VerifyQuery(q, at, other); !errors.Is(err, client.ErrBadSignature) {
				t.Errorf("with another secret: got %v, want ErrBadSignature", err)
			}
		})
	}
}

// Changing anything signed, or the secret, breaks the signature.
func TestVerifyTampered(t *testing.T) {
	for _, v := range mustVectors(t) {
		t.Run(v.Name, func(t *testing.T) {
			at := time.Unix(v.Timestamp, 0)
			check := func(what string, q url.Values, secret string) {
				t.Helper()
				res, err := client.VerifyQuery(q, at, secret)
				if !errors.Is(err, client.ErrBadSignature) {
					t.Errorf("%s: got %+v, %v; want ErrBadSignature", what, res, err)
				}
			}
			orig := mustQuery(t, v.Query)
			for k := range orig {
				if k == "signature" {
					continue
				}
				q := mustQuery(t, v.Query)
				q[k][0] += "x"
				check("changed "+k, q, v.Secret)
				q = mustQuery(t, v.Query)
				q.Del(k)
				check("removed "+k, q, v.Secret)
				q = mustQuery(t, v.Query)
				q.Add(k, q.Get(k))
				check("repeated "+k, q, v.Secret)
			}
			q := mustQuery(t, v.Query)
			q.Set("extra", "1")
			check("added a parameter", q, v.Secret)

			q = mustQuery(t, v.Query)
			q.Set("timestamp", strconv.FormatInt(v.Timestamp+1, 10))
			check("timestamp moved a second", q, v.Secret)

			key := []byte(v.Secret)
			key[len("whsec_")+2] ^= 1 // another key of the same length
			check("another secret", mustQuery(t, v.Query), string(key))

			// Every signature changed (a rotation's value has several).
			var changed []string
			for _, sig := range strings.Fields(v.Signature) {
				changed = append(changed, sig[:5]+string(sig[5]^1)+sig[6:])
			}
			for _, s := range []string{"", "v1,", strings.Join(changed, " "),
				strings.ReplaceAll(v.Signature, "v1,", "v2,"), strings.ToUpper(v.Signature)} {
				q = mustQuery(t, v.Query)
				q.Set("signature", s)
				check("signature "+s, q, v.Secret)
			}
			q = mustQuery(t, v.Query)
			q.Del("timestamp")
			check("no timestamp", q, v.Secret)
		})
	}
}

func TestVerifyExpired(t *testing.T) {
	v := mustVectors(t)[0]
	at := time.Unix(v.Timestamp, 0)
	for _, now := range []time.Time{
		at.Add(client.SignatureTolerance + time.Second),
		at.Add(-client.SignatureTolerance - time.Second),
		at.Add(24 * time.Hour),
	} {
		res, err := client.VerifyQuery(mustQuery(t, v.Query), now, v.Secret)
		if !errors.Is(err, client.ErrExpired) || errors.Is(err, client.ErrBadSignature) {
			t.Errorf("now %s from the timestamp: got %+v, %v; want ErrExpired only", now.Sub(at), res, err)
		}
	}
	// A bad signature is reported as such, however old.
	q := mustQuery(t, v.Query)
	q.Set("amount", "1")
	if _, err := client.VerifyQuery(q, at.Add(time.Hour), v.Secret); !errors.Is(err, client.ErrBadSignature) {
		t.Errorf("tampered and old: got %v, want ErrBadSignature", err)
	}
}

func TestVerifyBadSecrets(t *testing.T) {
	v := mustVectors(t)[0]
	q := mustQuery(t, v.Query)
	at := time.Unix(v.Timestamp, 0)
	short := "whsec_" + strings.Repeat("A", 28) // 21 bytes
	for _, secrets := range [][]string{nil, {""}, {"sk_test_123"}, {"whsec_not base64!"}, {short}, {v.Secret, "whsec_"}} {
		_, err := client.VerifyQuery(q, at, secrets...)
		if err == nil || errors.Is(err, client.ErrBadSignature) || errors.Is(err, client.ErrExpired) {
			t.Errorf("secrets %q: got %v, want a configuration error", secrets, err)
			continue
		}
		for _, s := range secrets {
			if len(s) > len("whsec_") && strings.Contains(err.Error(), s) {
				t.Errorf("error %q shows the secret", err)
			}
		}
	}
	// A secret as read from a file, with its newline.
	if _, err := client.VerifyQuery(q, at, v.Secret+"\n"); err != nil {
		t.Errorf("secret with a newline: %v", err)
	}
}

func TestVerifyResult(t *testing.T) {
	tests := []struct {
		vector int
		want   client.Result
		own    url.Values // the merchant's own parameters
	}{
		{0, client.Result{
			SessionID: "cs_7K3M9QX2ABCDEFGHJKLMNPQRSTVWXYZ2", Outcome: client.OutcomeApproved, PaymentID: "pay_01JNX5Z8K3M9QX2",
			Status: client.StatusCaptured, Amount: 1999, Currency: "USD", OrderID: "order-1001", Sequence: 1,
			CardBrand: "visa", CardLast4: "4242", ConfirmationNumber: "PG-7K3M-9QX2",
		}, nil},
		{1, client.Result{
			SessionID: "cs_DECLINED000000000000000000000000", Outcome: client.OutcomeDeclined, PaymentID: "pay_01JNX5Z8DECLINE",
			Status: client.StatusDeclined, Amount: 500, Currency: "EUR", OrderID: "A/7 & co", Sequence: 3,
			CardBrand: "mastercard", CardLast4: "4444", DeclineCode: "insufficient_funds",
		}, url.Values{"cart": {"42"}, "lang": {"en"}}},
		{2, client.Result{
			SessionID: "cs_CANCELED00000000000000000000000", Outcome: client.OutcomeCanceled, Amount: 12000, Currency: "JPY",
			Sequence: 1,
		}, nil},
	}
	vs := mustVectors(t)
	for _, tt := range tests {
		v := vs[tt.vector]
		t.Run(v.Name, func(t *testing.T) {
			// The way a merchant's handler sees it.
			r := httptest.NewRequest("GET", "https://shop.example.com/paid?"+v.Query, nil)
			got, err := client.VerifyRequest(r, time.Unix(v.Timestamp, 0).Add(time.Minute), v.Secret)
			if err != nil {
				t.Fatal(err)
			}
			params := got.Params
			if params.Get("signature") != "" {
				t.Errorf("got Params with the signature, want without")
			}
			if params.Get("timestamp") != strconv.FormatInt(v.Timestamp, 10) {
				t.Errorf("got Params timestamp %q, want %d", params.Get("timestamp"), v.Timestamp)
			}
			for k := range tt.own {
				if params.Get(k) != tt.own.Get(k) {
					t.Errorf("got Params %s=%q, want %q", k, params.Get(k), tt.own.Get(k))
				}
			}
			got.Params = nil
			tt.want.Timestamp = time.Unix(v.Timestamp, 0)
			if !reflect.DeepEqual(*got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", *got, tt.want)
			}
		})
	}
}

// SignForm gives the fields the independent vector has, byte for byte.
func TestSignFormVector(t *testing.T) {
	var v vector
	for _, c := range mustVectors(t) {
		if strings.HasPrefix(c.Name, "payment form") {
			v = c
		}
	}
	if v.Name == "" {
		t.Fatal("no payment form vector")
	}
	got, err := client.SignForm(client.FormParams{
		MerchantID: "mer_01JNX5Z8SHOP", Amount: 1999, Currency: "USD", OrderID: "order-1001", Description: "Two mugs",
		ReturnURL: "https://shop.example.com/paid?cart=42", CancelURL: "https://shop.example.com/cart",
		Model: client.ModelRedirect, Capture: new(false), CustomerEmail: "ada+shop@example.com",
	}, time.Unix(v.Timestamp, 0), v.Secret)
	if err != nil {
		t.Fatal(err)
	}
	want := mustQuery(t, v.Query)
	if got.Encode() != want.Encode() {
		t.Errorf("got  %s\nwant %s", got.Encode(), want.Encode())
	}
}

func TestSignForm(t *testing.T) {
	secret := mustVectors(t)[0].Secret
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	got, err := client.SignForm(client.FormParams{MerchantID: "mer_1", Amount: 500, Currency: "USD",
		ReturnURL: "https://shop.example.com/paid"}, now, secret)
	if err != nil {
		t.Fatal(err)
	}
	// Only the fields given, and the empty ones left out.
	var keys []string
	for k := range got {
		keys = append(keys, k)
	}
	want := url.Values{"merchant_id": {"mer_1"}, "amount": {"500"}, "currency": {"USD"},
		"return_url": {"https://shop.example.com/paid"}, "timestamp": {"1772366400"}}
	for k, v := range want {
		if got.Get(k) != v[0] {
			t.Errorf("got %s=%q, want %q", k, got.Get(k), v[0])
		}
	}
	if len(got) != len(want)+1 || !strings.HasPrefix(got.Get("signature"), "v1,") {
		t.Errorf("got fields %v, want %d fields and a v1 signature", keys, len(want)+1)
	}
	// It verifies as the gateway verifies it (the same scheme).
	if _, err := client.VerifyQuery(got, now, secret); err != nil {
		t.Errorf("the signed form does not verify: %v", err)
	}

	for _, tt := range []struct {
		name string
		f    client.FormParams
		s    string
	}{
		{"no merchant", client.FormParams{Amount: 1, Currency: "USD", ReturnURL: "https://a.example"}, secret},
		{"no currency", client.FormParams{MerchantID: "m", Amount: 1, ReturnURL: "https://a.example"}, secret},
		{"no return URL", client.FormParams{MerchantID: "m", Amount: 1, Currency: "USD"}, secret},
		{"bad secret", client.FormParams{MerchantID: "m", Amount: 1, Currency: "USD", ReturnURL: "https://a.example"}, "sk_x"},
	} {
		if got, err := client.SignForm(tt.f, now, tt.s); err == nil {
			t.Errorf("%s: got %v, want an error", tt.name, got)
		}
	}
}

// Browsers rewrite a line break in a submitted form field as CRLF, so a
// form signed over a bare LF (or CR) never verifies: SignForm refuses any
// field that holds one, naming it.
func TestSignFormLineBreak(t *testing.T) {
	secret := mustVectors(t)[0].Secret
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	base := client.FormParams{MerchantID: "mer_1", Amount: 500, Currency: "USD", ReturnURL: "https://shop.example.com/paid"}
	tests := []struct {
		field string
		set   func(f *client.FormParams)
	}{
		{"description", func(f *client.FormParams) { f.Description = "Two mugs\nand a teapot" }},
		{"description", func(f *client.FormParams) { f.Description = "Two mugs\r\nand a teapot" }},
		{"description", func(f *client.FormParams) { f.Description = "Two mugs\r" }},
		{"order_id", func(f *client.FormParams) { f.OrderID = "order\n1" }},
		{"merchant_id", func(f *client.FormParams) { f.MerchantID = "mer_1\n" }},
		{"currency", func(f *client.FormParams) { f.Currency = "USD\r" }},
		{"return_url", func(f *client.FormParams) { f.ReturnURL = "https://shop.example.com/paid\n" }},
		{"cancel_url", func(f *client.FormParams) { f.CancelURL = "https://shop.example.com/\r\ncart" }},
		{"model", func(f *client.FormParams) { f.Model = "redirect\n" }},
		{"customer_email", func(f *client.FormParams) { f.CustomerEmail = "ada@example.com\n" }},
	}
	for _, tt := range tests {
		f := base
		tt.set(&f)
		got, err := client.SignForm(f, now, secret)
		want := "paygate: " + tt.field + " must be a single line: browsers rewrite line breaks, which would break the signature"
		if err == nil || err.Error() != want {
			t.Errorf("a line break in %s: got %q, %v; want the error %q", tt.field, got.Encode(), err, want)
		}
	}
	// Other whitespace is kept as it is, and verifies.
	f := base
	f.Description = "Two mugs\tand a teapot, 50 % off"
	got, err := client.SignForm(f, now, secret)
	if err != nil {
		t.Fatalf("a tab in the description: %v", err)
	}
	if _, err := client.VerifyQuery(got, now, secret); err != nil || got.Get("description") != f.Description {
		t.Errorf("got description %q, verified %v; want %q, verified", got.Get("description"), err, f.Description)
	}
}
