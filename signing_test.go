package paygate_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"os"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/paygate/paygate"
	"github.com/paygate/paygate/client"
	"github.com/paygate/paygate/mock"
)

// sigVector is a known-answer case of client/testdata/signatures.json,
// computed by client/testdata/signatures.py with Python's hmac,
// independently of our code; the client package checks the same file.
type sigVector struct {
	Name        string `json:"name"`
	Secret      string `json:"secret"`
	OtherSecret string `json:"other_secret"` // signed too, when set
	Timestamp   int64  `json:"timestamp"`
	Payload     string `json:"payload"`
	Signature   string `json:"signature"`
	Query       string `json:"query"`
}

func mustSigningKey(tb testing.TB, secret string) []byte {
	tb.Helper()
	k, err := paygate.SigningKey(secret)
	if err != nil {
		tb.Fatal(err)
	}
	return k
}

func TestSignatureVectors(t *testing.T) {
	data, err := os.ReadFile("client/testdata/signatures.json")
	if err != nil {
		t.Fatal(err)
	}
	var vs []sigVector
	if err := json.Unmarshal(data, &vs); err != nil {
		t.Fatal(err)
	}
	if len(vs) < 5 {
		t.Fatalf("got %d vectors, want at least 5", len(vs))
	}
	for _, v := range vs {
		t.Run(v.Name, func(t *testing.T) {
			key := mustSigningKey(t, v.Secret)
			q, err := url.ParseQuery(v.Query)
			if err != nil {
				t.Fatal(err)
			}
			if got := paygate.CanonicalQuery(q); got != v.Payload {
				t.Errorf("got CanonicalQuery\n%s\nwant\n%s", got, v.Payload)
			}
			keys := [][]byte{key}
			if v.OtherSecret != "" {
				keys = [][]byte{mustSigningKey(t, v.OtherSecret), key}
			}
			// A rotation's signatures, in any order.
			got, want := strings.Fields(paygate.SignAll(keys, v.Timestamp, v.Payload)), strings.Fields(v.Signature)
			slices.Sort(got)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("got SignAll %q, want %q", got, want)
			}
			if got := paygate.Sign(key, v.Timestamp, v.Payload); !strings.Contains(v.Signature, got) {
				t.Errorf("got Sign %q, want one of %q", got, v.Signature)
			}
			if !paygate.SignatureValid([][]byte{key}, v.Signature, v.Timestamp, v.Payload) {
				t.Error("SignatureValid = false, want true")
			}
			for name, bad := range map[string]func() bool{
				"payload":   func() bool { return paygate.SignatureValid(keys, v.Signature, v.Timestamp, v.Payload+"&x=1") },
				"timestamp": func() bool { return paygate.SignatureValid(keys, v.Signature, v.Timestamp+1, v.Payload) },
				"key": func() bool {
					return paygate.SignatureValid([][]byte{append([]byte{1}, key[1:]...)}, v.Signature, v.Timestamp, v.Payload)
				},
			} {
				if bad() {
					t.Errorf("SignatureValid with another %s = true, want false", name)
				}
			}
		})
	}
}

// sigSecrets is a SigningSecretStore in memory.
type sigSecrets struct {
	mu   sync.Mutex
	list []*paygate.SigningSecret // newest first
}

func (s *sigSecrets) RotateSigningSecret(_ context.Context, n *paygate.SigningSecret, retireAt time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, o := range s.list {
		if o.ExpiresAt.IsZero() {
			o.ExpiresAt = retireAt
		}
	}
	s.list = append([]*paygate.SigningSecret{n}, s.list...)
	return nil
}

func (s *sigSecrets) SigningSecrets(_ context.Context, merchantID string, now time.Time) ([]*paygate.SigningSecret, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*paygate.SigningSecret
	for _, o := range s.list {
		if o.MerchantID == merchantID && (o.ExpiresAt.IsZero() || o.ExpiresAt.After(now)) {
			out = append(out, o)
		}
	}
	return out, nil
}

// What the gateway signs (ResultURL: the redirect, the proxy GET) the
// client verifies, with the new secret or the old one during the overlap,
// and reads the same result from.
func TestResultURLVerifiesWithClient(t *testing.T) {
	ctx := context.Background()
	clock := paygate.NewFixedClock(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	g := &paygate.Gateway{Clock: clock, Vault: mock.ReversibleVault(), SigningSecrets: &sigSecrets{}}
	m := &paygate.Merchant{ID: "mer_1", DeclineURL: "https://shop.example.com/declined"}
	old, err := g.RotateSigningSecret(ctx, m)
	if err != nil {
		t.Fatal(err)
	}
	clock.Add(time.Hour)
	secret, err := g.RotateSigningSecret(ctx, m)
	if err != nil {
		t.Fatal(err)
	}
	usd := paygate.Currency{Code: "USD"}
	p := &paygate.Payment{ID: "pay_1", Status: paygate.StatusCaptured, Card: paygate.CardSummary{Brand: "visa", Last4: "4242"},
		ConfirmationNumber: "PG-7K3M-9QX2", DeclineCode: "insufficient_funds"}
	session := func(outcome string, seq int) *paygate.Session {
		return &paygate.Session{ID: "cs_ABC", Amount: 1999, Currency: usd, OrderID: "order 1001 & co",
			ReturnURL: "https://shop.example.com/paid?cart=42", Outcome: outcome, Sequence: seq}
	}
	tests := []struct {
		name string
		s    *paygate.Session
		path string
		want client.Result
	}{
		{"approved", session(paygate.OutcomeApproved, 1), "/paid", client.Result{
			SessionID: "cs_ABC", Outcome: client.OutcomeApproved, PaymentID: "pay_1", Status: client.StatusCaptured,
			Amount: 1999, Currency: "USD", OrderID: "order 1001 & co", Sequence: 1, CardBrand: "visa", CardLast4: "4242",
			ConfirmationNumber: "PG-7K3M-9QX2"}},
		{"declined", session(paygate.OutcomeDeclined, 3), "/declined", client.Result{
			SessionID: "cs_ABC", Outcome: client.OutcomeDeclined, PaymentID: "pay_1", Status: client.StatusCaptured,
			Amount: 1999, Currency: "USD", OrderID: "order 1001 & co", Sequence: 3, CardBrand: "visa", CardLast4: "4242",
			DeclineCode: "insufficient_funds"}},
		{"canceled", session(paygate.OutcomeCanceled, 1), "/paid", client.Result{
			SessionID: "cs_ABC", Outcome: client.OutcomeCanceled, Amount: 1999, Currency: "USD",
			OrderID: "order 1001 & co", Sequence: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw, err := g.ResultURL(ctx, m, tt.s, p)
			if err != nil {
				t.Fatal(err)
			}
			u, err := url.Parse(raw)
			if err != nil {
				t.Fatal(err)
			}
			if u.Path != tt.path {
				t.Errorf("got path %s, want %s", u.Path, tt.path)
			}
			q := u.Query()
			if n := len(strings.Fields(q.Get("signature"))); n != 2 {
				t.Errorf("got %d signatures, want 2 (the new and the old secret's)", n)
			}
			now := clock.Now().Add(time.Minute)
			for _, secrets := range [][]string{{secret}, {old}, {old, secret}} {
				res, err := client.VerifyQuery(q, now, secrets...)
				if err != nil {
					t.Fatalf("with %d secrets: %v", len(secrets), err)
				}
				if tt.path == "/paid" && res.Params.Get("cart") != "42" {
					t.Errorf("got cart %q, want the return URL's own 42", res.Params.Get("cart"))
				}
				res.Params = nil
				tt.want.Timestamp = time.Unix(clock.Now().Unix(), 0)
				if !reflect.DeepEqual(*res, tt.want) {
					t.Errorf("got  %+v\nwant %+v", *res, tt.want)
				}
			}
			q.Set("amount", "1")
			if _, err := client.VerifyQuery(q, now, secret); err == nil {
				t.Error("a changed amount verifies")
			}
		})
	}
}

// sigMerchants is a MerchantStore of one merchant (other methods panic).
type sigMerchants struct {
	paygate.MerchantStore
	m *paygate.Merchant
}

func (s sigMerchants) Merchant(_ context.Context, id string) (*paygate.Merchant, error) {
	if id != s.m.ID {
		return nil, paygate.Errorf(paygate.ENOTFOUND, "No such merchant.")
	}
	cp := *s.m
	return &cp, nil
}

// sigSessions is a SessionStore in memory.
type sigSessions struct {
	mu   sync.Mutex
	list []*paygate.Session
}

func (s *sigSessions) CreateSession(_ context.Context, n *paygate.Session) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, o := range s.list {
		if n.FormKey != "" && o.MerchantID == n.MerchantID && o.FormKey == n.FormKey {
			return paygate.ErrDuplicate
		}
	}
	cp := *n
	s.list = append(s.list, &cp)
	return nil
}

func (s *sigSessions) find(match func(*paygate.Session) bool) (*paygate.Session, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, o := range s.list {
		if match(o) {
			cp := *o
			return &cp, nil
		}
	}
	return nil, paygate.Errorf(paygate.ENOTFOUND, "No such session.")
}

func (s *sigSessions) Session(_ context.Context, merchantID, id string) (*paygate.Session, error) {
	return s.find(func(o *paygate.Session) bool { return o.ID == id && (merchantID == "" || o.MerchantID == merchantID) })
}

func (s *sigSessions) SessionByFormKey(_ context.Context, merchantID, key string) (*paygate.Session, error) {
	return s.find(func(o *paygate.Session) bool { return o.MerchantID == merchantID && o.FormKey == key })
}

func (s *sigSessions) UpdateSession(context.Context, *paygate.Session) error { panic("not used") }
func (s *sigSessions) StalePaying(context.Context, time.Time, int) ([]*paygate.Session, error) {
	panic("not used")
}

// A form signed by client.SignForm is one the gateway accepts, once,
// within FormLifetime, and refuses changed.
func TestSignFormAcceptedByGateway(t *testing.T) {
	ctx := context.Background()
	clock := paygate.NewFixedClock(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	m := &paygate.Merchant{ID: "mer_1", AllowedOrigins: []string{"https://shop.example.com"}}
	sessions := &sigSessions{}
	g := &paygate.Gateway{Clock: clock, Vault: mock.ReversibleVault(), SigningSecrets: &sigSecrets{},
		Merchants: sigMerchants{m: m}, Sessions: sessions}
	secret, err := g.RotateSigningSecret(ctx, m)
	if err != nil {
		t.Fatal(err)
	}
	form, err := client.SignForm(client.FormParams{
		MerchantID: "mer_1", Amount: 1999, Currency: "USD", OrderID: "order-1001", Description: "Two mugs",
		ReturnURL: "https://shop.example.com/paid", CancelURL: "https://shop.example.com/cart",
		Model: client.ModelProxy, Capture: new(false), CustomerEmail: "ada@example.com",
	}, clock.Now(), secret)
	if err != nil {
		t.Fatal(err)
	}
	for k := range form {
		if !slices.Contains(paygate.FormFields, k) {
			t.Errorf("SignForm sends %q, not one of FormFields", k)
		}
	}
	clock.Add(paygate.FormLifetime - time.Second)
	s, _, err := g.StartFormSession(ctx, form)
	if err != nil {
		t.Fatal(err)
	}
	if s.Amount != 1999 || s.Currency.Code != "USD" || s.OrderID != "order-1001" || s.Model != paygate.ModelProxy ||
		s.Capture || s.CustomerEmail != "ada@example.com" || s.CancelURL != "https://shop.example.com/cart" {
		t.Errorf("got session %+v, want the form's fields", s)
	}
	again, _, err := g.StartFormSession(ctx, form)
	if err != nil || again.ID != s.ID {
		t.Errorf("the same form again: got %v, %v; want session %s", again, err, s.ID)
	}

	changed := url.Values{}
	for k, v := range form {
		changed[k] = v
	}
	changed.Set("amount", "1")
	if _, _, err := g.StartFormSession(ctx, changed); paygate.ErrorCode(err) != paygate.EINVALID {
		t.Errorf("changed amount: got %v, want EINVALID", err)
	}
	clock.Add(2 * time.Second)
	if _, _, err := g.StartFormSession(ctx, form); paygate.ErrorCode(err) != paygate.EINVALID {
		t.Errorf("after FormLifetime: got %v, want EINVALID", err)
	}
	if client.FormLifetime != paygate.FormLifetime || client.SignatureTolerance != paygate.SignatureTolerance ||
		client.SigningSecretPrefix != paygate.SigningSecretPrefix {
		t.Error("the client's constants differ from the gateway's")
	}
}

// webhookVector is a known-answer case of client/testdata/webhooks.json,
// computed by client/testdata/webhooks.py with Python's hmac (its first
// case is the Standard Webhooks reference libraries' own vector).
type webhookVector struct {
	Name      string   `json:"name"`
	Secret    string   `json:"secret"`
	Signers   []string `json:"signers"`
	ID        string   `json:"id"`
	Timestamp int64    `json:"timestamp"`
	Body      string   `json:"body"`
	Signature string   `json:"signature"`
}

func TestWebhookSignatureVectors(t *testing.T) {
	data, err := os.ReadFile("client/testdata/webhooks.json")
	if err != nil {
		t.Fatal(err)
	}
	var vs []webhookVector
	if err := json.Unmarshal(data, &vs); err != nil {
		t.Fatal(err)
	}
	if len(vs) < 4 {
		t.Fatalf("got %d vectors, want at least 4", len(vs))
	}
	for _, v := range vs {
		t.Run(v.Name, func(t *testing.T) {
			keys := make([][]byte, len(v.Signers))
			for i, s := range v.Signers {
				if keys[i], err = paygate.SigningKey(s); err != nil {
					t.Fatal(err)
				}
			}
			if got := paygate.WebhookSignature(keys, v.ID, v.Timestamp, []byte(v.Body)); got != v.Signature {
				t.Errorf("got %q, want %q", got, v.Signature)
			}
		})
	}
}

// A form field with a line break never verifies once a browser has posted
// it (browsers submit every line break as CRLF), so the gateway says so,
// naming the field, before it checks the signature: not "the signature
// does not match", which would send the merchant's developer looking for
// a wrong secret.
func TestStartFormSessionLineBreak(t *testing.T) {
	ctx := context.Background()
	clock := paygate.NewFixedClock(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	m := &paygate.Merchant{ID: "mer_1", AllowedOrigins: []string{"https://shop.example.com"}}
	sessions := &sigSessions{}
	g := &paygate.Gateway{Clock: clock, Vault: mock.ReversibleVault(), SigningSecrets: &sigSecrets{},
		Merchants: sigMerchants{m: m}, Sessions: sessions}
	secret, err := g.RotateSigningSecret(ctx, m)
	if err != nil {
		t.Fatal(err)
	}
	key, err := paygate.SigningKey(secret)
	if err != nil {
		t.Fatal(err)
	}
	// signed returns a form the merchant signed over fields, as a browser
	// posts it: with every line break rewritten as CRLF when posted.
	signed := func(posted bool, fields url.Values) url.Values {
		form := url.Values{"merchant_id": {"mer_1"}, "amount": {"1999"}, "currency": {"USD"},
			"return_url": {"https://shop.example.com/paid"}}
		for k, v := range fields {
			form[k] = v
		}
		paygate.SignQuery([][]byte{key}, form, clock.Now())
		if posted {
			for k, v := range form {
				form.Set(k, strings.ReplaceAll(strings.ReplaceAll(strings.ReplaceAll(v[0], "\r\n", "\n"), "\r", "\n"), "\n", "\r\n"))
			}
		}
		return form
	}
	tests := []struct {
		name   string
		posted bool
		field  string
		value  string
	}{
		{"LF in the description, posted", true, "description", "Two mugs\nand a teapot"},
		{"CRLF in the description, posted", true, "description", "Two mugs\r\nand a teapot"},
		{"LF in the description, as signed (a link)", false, "description", "Two mugs\nand a teapot"},
		{"CR in the order id", false, "order_id", "order-1\r"},
		{"LF in the return URL", true, "return_url", "https://shop.example.com/paid\n"},
		{"LF in the customer email", true, "customer_email", "ada@example.com\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			form := signed(tt.posted, url.Values{tt.field: {tt.value}})
			s, got, err := g.StartFormSession(ctx, form)
			if s != nil || paygate.ErrorCode(err) != paygate.EINVALID {
				t.Fatalf("got session %v, %v; want no session, %s", s, err, paygate.EINVALID)
			}
			var e *paygate.Error
			if !errors.As(err, &e) || e.Param != tt.field {
				t.Errorf("got %#v, want a paygate.Error naming %q", err, tt.field)
			}
			msg := paygate.ErrorMessage(err)
			if !strings.Contains(msg, `"`+tt.field+`"`) || !strings.Contains(msg, "must be a single line: browsers rewrite line breaks") {
				t.Errorf("got message %q, want it to name %q and say why a line break is refused", msg, tt.field)
			}
			if got == nil || got.ID != m.ID {
				t.Errorf("got merchant %v, want %s (the page names the shop)", got, m.ID)
			}
		})
	}
	// The same form on one line opens a session.
	if _, _, err := g.StartFormSession(ctx, signed(true, url.Values{"description": {"Two mugs and a teapot"}})); err != nil {
		t.Errorf("a one-line description: %v", err)
	}
}
