// Package storetest is the contract every paygate store must honour. A store
// package runs it from its own tests, opening a fresh, empty store for each
// subtest (the way litestream's RunWithReplicaClient serves every replica
// client):
//
//	func TestStores(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) storetest.Stores {
//			db := MustOpen(t)
//			return storetest.Stores{Merchants: NewMerchantStore(db), ...}
//		})
//	}
//
// The suite speaks only the domain's interfaces, so the SQLite store and the
// PostgreSQL store are held to exactly the same behaviour.
//
// Beyond what the interfaces' comments say, the suite fixes these points:
//   - times come back equal to at least the microsecond;
//   - empty and nil slices and maps are the same (metadata, bodies);
//   - lists of merchants, API keys, data keys and refunds are oldest first
//     (by id, and ids sort by creation time);
//   - a payment's Refunds hold every refund ever saved for it, whatever
//     their status;
//   - MarkSettled bumps the version of the payments it stamps, so a writer
//     holding an older copy cannot undo the settlement;
//   - an event's body (Data) comes back byte for byte; what a webhook
//     attempt's error and response hold comes back as valid UTF-8 without
//     NUL bytes (invalid bytes become U+FFFD);
//   - disabling an endpoint (UpdateEndpoint) fails its pending deliveries;
//     Redeliver keeps the attempts a delivery had.
package storetest

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/paygate/paygate"
)

// Stores is one store of each kind, all on the same database.
type Stores struct {
	Merchants paygate.MerchantStore
	Payments  paygate.PaymentStore
	Cards     interface {
		paygate.CardStore
		paygate.KeyStore
	}
	Idempotency paygate.IdempotencyStore
	Sequences   paygate.SequenceStore
	Jobs        paygate.JobStore
	Sessions    paygate.SessionStore
	Signing     paygate.SigningSecretStore
	Deliveries  paygate.DeliveryStore
	Events      paygate.EventStore
	Webhooks    paygate.WebhookStore
	AccessKeys  paygate.AccessKeyStore
	Batches     paygate.BatchStore
	// The dashboard's users, sessions and audit log.
	Users        paygate.UserStore
	DashSessions paygate.DashSessionStore
	Audit        paygate.AuditStore
	Mail         paygate.MailStore
	Backlog      paygate.BacklogStore
}

// Run runs the contract suite. open must return stores on a fresh, empty
// database and arrange for it to be closed with t.Cleanup; subtests run in
// parallel, so open must be safe to call concurrently.
func Run(t *testing.T, open func(t *testing.T) Stores) {
	t.Helper()
	groups := []struct {
		name  string
		tests []test
	}{
		{"Merchant", merchantTests},
		{"APIKey", apiKeyTests},
		{"DataKey", dataKeyTests},
		{"Card", cardTests},
		{"Payment", paymentTests},
		{"Refund", refundTests},
		{"Payments", listTests},
		{"PaymentSearch", searchTests},
		{"Idempotency", idempotencyTests},
		{"Concurrent", concurrentTests},
		{"Sequence", sequenceTests},
		{"Job", jobTests},
		{"Session", sessionTests},
		{"SigningSecret", signingTests},
		{"Delivery", deliveryTests},
		{"Event", eventTests},
		{"Outbox", outboxTests},
		{"WebhookEndpoint", endpointTests},
		{"WebhookDelivery", webhookDeliveryTests},
		{"AccessKey", accessKeyTests},
		{"URLChange", urlChangeTests},
		{"TRForm", trFormTests},
		{"Batch", batchTests},
		{"User", userTests},
		{"Mail", mailTests},
		{"Backlog", backlogTests},
	}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) {
			for _, tt := range g.tests {
				t.Run(tt.name, func(t *testing.T) {
					t.Parallel()
					tt.fn(t, open(t))
				})
			}
		})
	}
}

type test struct {
	name string
	fn   func(t *testing.T, s Stores)
}

// Base is the time every fixture starts from. Its nanoseconds check that
// stores keep microseconds.
var Base = time.Date(2026, 1, 2, 9, 30, 0, 123456789, time.UTC)

// NewMerchant returns a merchant created at the given time, with every field set.
func NewMerchant(tb testing.TB, name string, created time.Time) *paygate.Merchant {
	tb.Helper()
	m, err := paygate.NewMerchant(name, name+"@example.com", created)
	if err != nil {
		tb.Fatalf("NewMerchant(%q): %v", name, err)
	}
	m.RequireAck = true
	m.AckWindow = 90 * time.Second
	m.RateLimit = 25
	m.AllowedOrigins = []string{"https://shop.example.com", "http://localhost:8080"}
	m.SuccessURL = "https://shop.example.com/paid"
	m.DeclineURL = "https://shop.example.com/declined"
	m.CancelURL = "https://shop.example.com/cart"
	m.DefaultModel = paygate.ModelProxy
	m.DisplayName = name + " Shop"
	m.LogoURL = "https://shop.example.com/logo.png"
	m.NotifyEmail = "orders@example.com"
	return m
}

// MustCreateMerchant stores a new merchant created at Base.
func MustCreateMerchant(tb testing.TB, s paygate.MerchantStore, name string) *paygate.Merchant {
	tb.Helper()
	m := NewMerchant(tb, name, Base)
	if err := s.CreateMerchant(tb.Context(), m); err != nil {
		tb.Fatalf("CreateMerchant(%q): %v", name, err)
	}
	return m
}

// NewPayment returns an approved, authorized card payment of 125.00 USD
// created (and last updated) at the given time, with a fresh id and
// confirmation number.
func NewPayment(tb testing.TB, merchantID string, created time.Time) *paygate.Payment {
	tb.Helper()
	return &paygate.Payment{
		ID:         paygate.NewID("pay", created),
		MerchantID: merchantID,
		Status:     paygate.StatusAuthorized,
		Amount:     12500,
		Currency:   MustCurrency(tb, "USD"),
		Channel:    paygate.ChannelEcommerce,
		Card: paygate.CardSummary{
			Brand: paygate.BrandVisa, First6: "424242", Last4: "4242", ExpMonth: 12, ExpYear: 2030,
			Fingerprint: "fp_" + paygate.RandomToken(20),
		},
		PAN:                paygate.EncryptedPAN{KeyID: "dk_1", Ciphertext: randomBytes(tb, 40)},
		ConfirmationNumber: paygate.NewConfirmationNumber(),
		STAN:               paygate.RandomDigits(6),
		RRN:                paygate.RandomDigits(12),
		TransmittedAt:      created,
		AuthCode:           "A1B2C3",
		ResponseCode:       "00",
		Description:        "Two tickets",
		OrderID:            "order-" + paygate.RandomDigits(6),
		Metadata:           map[string]string{"channel": "web"},
		CreatedAt:          created,
		UpdatedAt:          created,
	}
}

// MustCreatePayment stores p.
func MustCreatePayment(tb testing.TB, s paygate.PaymentStore, p *paygate.Payment) {
	tb.Helper()
	if err := s.CreatePayment(tb.Context(), p); err != nil {
		tb.Fatalf("CreatePayment(%s): %v", p.ID, err)
	}
}

// MustPayment loads a payment.
func MustPayment(tb testing.TB, s paygate.PaymentStore, merchantID, id string) *paygate.Payment {
	tb.Helper()
	p, err := s.Payment(tb.Context(), merchantID, id)
	if err != nil {
		tb.Fatalf("Payment(%s): %v", id, err)
	}
	return p
}

// MustUpdatePayment saves p.
func MustUpdatePayment(tb testing.TB, s paygate.PaymentStore, p *paygate.Payment) {
	tb.Helper()
	if err := s.UpdatePayment(tb.Context(), p); err != nil {
		tb.Fatalf("UpdatePayment(%s): %v", p.ID, err)
	}
}

// MustSaveRefund saves r and p.
func MustSaveRefund(tb testing.TB, s paygate.PaymentStore, p *paygate.Payment, r *paygate.Refund) {
	tb.Helper()
	if err := s.SaveRefund(tb.Context(), p, r); err != nil {
		tb.Fatalf("SaveRefund(%s, %s): %v", p.ID, r.ID, err)
	}
}

// MustCurrency looks up an ISO 4217 currency.
func MustCurrency(tb testing.TB, code string) paygate.Currency {
	tb.Helper()
	c, ok := paygate.LookupCurrency(code)
	if !ok {
		tb.Fatalf("LookupCurrency(%q): unknown", code)
	}
	return c
}

// Diff lists, one line per field, how got differs from want. Times compare
// to the microsecond; nil and empty slices and maps are the same.
func Diff(got, want any) []string {
	var out []string
	diffValue(&out, reflect.TypeOf(want).String(), reflect.ValueOf(got), reflect.ValueOf(want))
	return out
}

// CheckEqual reports every field in which got differs from want.
func CheckEqual(tb testing.TB, what string, got, want any) {
	tb.Helper()
	for _, d := range Diff(got, want) {
		tb.Errorf("%s: %s", what, d)
	}
}

var timeType = reflect.TypeFor[time.Time]()

func diffValue(out *[]string, path string, got, want reflect.Value) {
	if got.Type() == timeType {
		g, w := got.Interface().(time.Time), want.Interface().(time.Time)
		if !g.Truncate(time.Microsecond).Equal(w.Truncate(time.Microsecond)) {
			*out = append(*out, fmt.Sprintf("%s: got %s, want %s", path, fmtTime(g), fmtTime(w)))
		}
		return
	}
	switch got.Kind() {
	case reflect.Pointer:
		if got.IsNil() || want.IsNil() {
			if got.IsNil() != want.IsNil() {
				*out = append(*out, fmt.Sprintf("%s: got %v, want %v", path, got, want))
			}
			return
		}
		diffValue(out, path, got.Elem(), want.Elem())
	case reflect.Struct:
		for i := range got.NumField() {
			if f := got.Type().Field(i); f.IsExported() {
				diffValue(out, path+"."+f.Name, got.Field(i), want.Field(i))
			}
		}
	case reflect.Slice:
		if got.Type().Elem().Kind() == reflect.Uint8 {
			if !bytes.Equal(got.Bytes(), want.Bytes()) {
				*out = append(*out, fmt.Sprintf("%s: got %x, want %x", path, got.Bytes(), want.Bytes()))
			}
			return
		}
		if got.Len() != want.Len() {
			*out = append(*out, fmt.Sprintf("%s: got %d elements, want %d", path, got.Len(), want.Len()))
			return
		}
		for i := range got.Len() {
			diffValue(out, fmt.Sprintf("%s[%d]", path, i), got.Index(i), want.Index(i))
		}
	case reflect.Map:
		if got.Len() == 0 && want.Len() == 0 {
			return
		}
		if !reflect.DeepEqual(got.Interface(), want.Interface()) {
			*out = append(*out, fmt.Sprintf("%s: got %v, want %v", path, got, want))
		}
	default:
		if !reflect.DeepEqual(got.Interface(), want.Interface()) {
			*out = append(*out, fmt.Sprintf("%s: got %#v, want %#v", path, got, want))
		}
	}
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "zero time"
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// checkCode checks that err is a *paygate.Error with the given code.
func checkCode(tb testing.TB, what string, err error, code string) {
	tb.Helper()
	var e *paygate.Error
	switch {
	case err == nil:
		tb.Errorf("%s: got nil error, want %s", what, code)
	case !errors.As(err, &e):
		tb.Errorf("%s: got %v (%T), want a *paygate.Error with code %s", what, err, err, code)
	case e.Code != code:
		tb.Errorf("%s: got code %s (%v), want %s", what, e.Code, err, code)
	}
}

// ids returns the ids of a list of payments.
func ids(list []*paygate.Payment) []string {
	out := make([]string, len(list))
	for i, p := range list {
		out[i] = p.ID
	}
	return out
}

// checkIDs checks that got holds exactly the want ids, in any order.
func checkIDs(tb testing.TB, what string, got []*paygate.Payment, want ...string) {
	tb.Helper()
	g, w := slices.Sorted(slices.Values(ids(got))), slices.Sorted(slices.Values(want))
	if !slices.Equal(g, w) {
		tb.Errorf("%s: got %v, want %v", what, g, w)
	}
}

func randomBytes(tb testing.TB, n int) []byte {
	tb.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		tb.Fatal(err)
	}
	b[0] = 0 // a NUL byte must survive too
	return b
}

// Of returns the stores of a bundle, as an engine hands them out.
func Of(s paygate.Stores) Stores {
	return Stores{
		Merchants: s.Merchants,
		Payments:  s.Payments,
		Cards: struct {
			paygate.CardStore
			paygate.KeyStore
		}{s.Cards, s.Keys},
		Idempotency:  s.Idempotency,
		Sequences:    s.Sequences,
		Jobs:         s.Jobs,
		Sessions:     s.Sessions,
		Signing:      s.Signing,
		Deliveries:   s.Deliveries,
		Events:       s.Events,
		Webhooks:     s.Webhooks,
		AccessKeys:   s.AccessKeys,
		Batches:      s.Batches,
		Users:        s.Users,
		DashSessions: s.DashSessions,
		Audit:        s.Audit,
		Mail:         s.Mail,
		Backlog:      s.Backlog,
	}
}

// checkIs checks that err is (or wraps) want.
func checkIs(tb testing.TB, what string, err, want error) {
	tb.Helper()
	if !errors.Is(err, want) {
		tb.Errorf("%s: got %v, want %v", what, err, want)
	}
}
