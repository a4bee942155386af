package storetest

import (
	"cmp"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/paygate/paygate"
)

var endpointTests = []test{
	{"CreateGet", testEndpointCreateGet},
	{"Update", testEndpointUpdate},
	{"Takes", testEndpointTakes},
	{"Health", testEndpointHealth},
}

// webhookLease is the lease the tests claim deliveries for.
const webhookLease = 10 * paygate.WebhookTimeout

// NewEndpoint returns an enabled endpoint of the merchant that takes the
// given event types, created at the given time, with a fresh id and
// secret.
func NewEndpoint(tb testing.TB, merchantID string, created time.Time, types ...string) *paygate.WebhookEndpoint {
	tb.Helper()
	return &paygate.WebhookEndpoint{
		ID:         paygate.NewID("we", created),
		MerchantID: merchantID,
		URL:        "https://shop.example.com/webhooks?n=" + paygate.RandomDigits(4),
		Events:     types,
		Secret:     paygate.EncryptedPAN{KeyID: "dk_1", Ciphertext: randomBytes(tb, 48)},
		Status:     paygate.EndpointEnabled,
		CreatedAt:  created,
		UpdatedAt:  created,
	}
}

// MustCreateEndpoint stores e and returns it.
func MustCreateEndpoint(tb testing.TB, s paygate.WebhookStore, e *paygate.WebhookEndpoint) *paygate.WebhookEndpoint {
	tb.Helper()
	if err := s.CreateEndpoint(tb.Context(), e); err != nil {
		tb.Fatalf("CreateEndpoint(%s): %v", e.ID, err)
	}
	return e
}

// MustEndpoint loads an endpoint.
func MustEndpoint(tb testing.TB, s paygate.WebhookStore, merchantID, id string) *paygate.WebhookEndpoint {
	tb.Helper()
	e, err := s.Endpoint(tb.Context(), merchantID, id)
	if err != nil {
		tb.Fatalf("Endpoint(%s): %v", id, err)
	}
	return e
}

// MustUpdateEndpoint saves e.
func MustUpdateEndpoint(tb testing.TB, s paygate.WebhookStore, e *paygate.WebhookEndpoint) {
	tb.Helper()
	if err := s.UpdateEndpoint(tb.Context(), e); err != nil {
		tb.Fatalf("UpdateEndpoint(%s): %v", e.ID, err)
	}
}

// mustWebhookDeliveries returns an event's deliveries and their attempts.
func mustWebhookDeliveries(tb testing.TB, s paygate.WebhookStore, merchantID, eventID string) ([]*paygate.WebhookDelivery, []*paygate.WebhookAttempt) {
	tb.Helper()
	ds, as, err := s.WebhookDeliveries(tb.Context(), merchantID, eventID)
	if err != nil {
		tb.Fatalf("WebhookDeliveries(%s): %v", eventID, err)
	}
	return ds, as
}

// newDelivery is the delivery of e to endpoint w as the event writes it.
func newDelivery(e *paygate.Event, w *paygate.WebhookEndpoint) *paygate.WebhookDelivery {
	return &paygate.WebhookDelivery{ID: e.ID + "." + w.ID, EventID: e.ID, EndpointID: w.ID, MerchantID: e.MerchantID,
		Status: paygate.WebhookPending, NextAt: e.CreatedAt, CreatedAt: e.CreatedAt, UpdatedAt: e.CreatedAt}
}

// checkDeliveries checks that e has a delivery to each of endpoints, and
// to no other, as it was written (pending, due at once, no attempts).
func checkDeliveries(tb testing.TB, s Stores, e *paygate.Event, endpoints ...*paygate.WebhookEndpoint) {
	tb.Helper()
	got, attempts := mustWebhookDeliveries(tb, s.Webhooks, e.MerchantID, e.ID)
	var want []*paygate.WebhookDelivery
	for _, w := range endpoints {
		want = append(want, newDelivery(e, w))
	}
	slices.SortFunc(want, func(a, b *paygate.WebhookDelivery) int { return cmp.Compare(a.ID, b.ID) })
	slices.SortFunc(got, func(a, b *paygate.WebhookDelivery) int { return cmp.Compare(a.ID, b.ID) })
	if !slices.Equal(deliveryIDs(got), deliveryIDs(want)) {
		tb.Errorf("deliveries of %s %s: got %v, want %v", e.Type, e.ID, deliveryIDs(got), deliveryIDs(want))
		return
	}
	CheckEqual(tb, "deliveries of "+e.Type, got, want)
	if len(attempts) != 0 {
		tb.Errorf("attempts of %s's new deliveries: got %d, want none", e.ID, len(attempts))
	}
}

func deliveryIDs(list []*paygate.WebhookDelivery) []string {
	out := make([]string, len(list))
	for i, d := range list {
		out[i] = d.ID
	}
	return out
}

// mustClaimWebhooks claims deliveries, checks their lease and returns
// their ids, sorted.
func mustClaimWebhooks(tb testing.TB, s paygate.WebhookStore, now time.Time, limit int) []string {
	tb.Helper()
	list, err := s.ClaimWebhookDeliveries(tb.Context(), now, webhookLease, limit)
	if err != nil {
		tb.Fatalf("ClaimWebhookDeliveries at %s: %v", fmtTime(now), err)
	}
	for _, d := range list {
		if want := now.Add(webhookLease).Truncate(time.Microsecond); !d.NextAt.Equal(want) {
			tb.Errorf("ClaimWebhookDeliveries at %s: %s's NextAt: got %s, want the lease's end %s", fmtTime(now), d.ID,
				fmtTime(d.NextAt), fmtTime(want))
		}
	}
	ids := deliveryIDs(list)
	slices.Sort(ids)
	return ids
}

func sortedDeliveryIDs(list ...*paygate.WebhookDelivery) []string {
	ids := deliveryIDs(list)
	slices.Sort(ids)
	return ids
}

func testEndpointCreateGet(t *testing.T, s Stores) {
	m := MustCreateMerchant(t, s.Merchants, "Acme")
	other := MustCreateMerchant(t, s.Merchants, "Other")

	// Every field set, a secret being rotated.
	full := NewEndpoint(t, m.ID, Base, paygate.EventPaymentCaptured, paygate.EventSessionCompleted)
	full.PrevSecret = paygate.EncryptedPAN{KeyID: "dk_0", Ciphertext: randomBytes(t, 48)}
	full.PrevExpiresAt = Base.Add(paygate.WebhookSecretOverlap + 7)
	full.Status, full.Failures, full.LastError = paygate.EndpointFailing, 6, "the endpoint answered HTTP 500"
	full.UpdatedAt = Base.Add(time.Hour + 3)
	all := NewEndpoint(t, m.ID, Base.Add(time.Second), "*")
	disabled := NewEndpoint(t, m.ID, Base.Add(2*time.Second), "*")
	disabled.Status = paygate.EndpointDisabled
	none := NewEndpoint(t, m.ID, Base.Add(3*time.Second)) // takes nothing
	for _, e := range []*paygate.WebhookEndpoint{full, all, disabled, none} {
		MustCreateEndpoint(t, s.Webhooks, e)
		CheckEqual(t, "Endpoint", MustEndpoint(t, s.Webhooks, m.ID, e.ID), e)
		_, err := s.Webhooks.Endpoint(t.Context(), other.ID, e.ID)
		checkCode(t, "Endpoint(another merchant's)", err, paygate.ENOTFOUND)
	}
	theirs := MustCreateEndpoint(t, s.Webhooks, NewEndpoint(t, other.ID, Base, "*"))

	list, err := s.Webhooks.Endpoints(t.Context(), m.ID)
	if err != nil {
		t.Fatalf("Endpoints: %v", err)
	}
	CheckEqual(t, "Endpoints (oldest first, disabled too)", list, []*paygate.WebhookEndpoint{full, all, disabled, none})
	if list, err := s.Webhooks.Endpoints(t.Context(), other.ID); err != nil || len(list) != 1 || list[0].ID != theirs.ID {
		t.Errorf("Endpoints(other): got %v, %v; want only %s", list, err, theirs.ID)
	}
	if list, err := s.Webhooks.Endpoints(t.Context(), MustCreateMerchant(t, s.Merchants, "New").ID); err != nil || len(list) != 0 {
		t.Errorf("Endpoints(a merchant without): got %v, %v; want none", list, err)
	}

	_, err = s.Webhooks.Endpoint(t.Context(), m.ID, paygate.NewID("we", Base))
	checkCode(t, "Endpoint(unknown)", err, paygate.ENOTFOUND)
	again := NewEndpoint(t, m.ID, Base, "*")
	again.ID = full.ID
	if err := s.Webhooks.CreateEndpoint(t.Context(), again); !errors.Is(err, paygate.ErrDuplicate) {
		t.Errorf("CreateEndpoint with a taken id: got %v, want ErrDuplicate", err)
	}
	CheckEqual(t, "Endpoint after a duplicate", MustEndpoint(t, s.Webhooks, m.ID, full.ID), full)
}

func testEndpointUpdate(t *testing.T, s Stores) {
	m := MustCreateMerchant(t, s.Merchants, "Acme")
	other := MustCreateMerchant(t, s.Merchants, "Other")
	e := MustCreateEndpoint(t, s.Webhooks, NewEndpoint(t, m.ID, Base, "*"))
	keep := MustCreateEndpoint(t, s.Webhooks, NewEndpoint(t, m.ID, Base, "*"))

	// A rotation, failures, fewer types.
	e.PrevSecret, e.PrevExpiresAt = e.Secret, Base.Add(time.Minute+paygate.WebhookSecretOverlap)
	e.Secret = paygate.EncryptedPAN{KeyID: "dk_2", Ciphertext: randomBytes(t, 48)}
	e.Events = []string{paygate.EventSessionCompleted}
	e.Status, e.Failures, e.LastError = paygate.EndpointFailing, paygate.EndpointFailingAfter, "dial tcp: connection refused"
	e.UpdatedAt = Base.Add(time.Minute)
	MustUpdateEndpoint(t, s.Webhooks, e)
	CheckEqual(t, "Endpoint after a rotation", MustEndpoint(t, s.Webhooks, m.ID, e.ID), e)
	// It takes only what it now says.
	captured := NewEvent(t, m.ID, paygate.EventPaymentCaptured, Base.Add(2*time.Minute))
	MustCreateEvent(t, s.Events, captured)
	checkDeliveries(t, s, captured, keep)

	// And back: the old secret gone, healthy again.
	e.PrevSecret, e.PrevExpiresAt = paygate.EncryptedPAN{}, time.Time{}
	e.Status, e.Failures, e.LastError = paygate.EndpointEnabled, 0, ""
	e.UpdatedAt = Base.Add(time.Hour)
	MustUpdateEndpoint(t, s.Webhooks, e)
	CheckEqual(t, "Endpoint after the overlap", MustEndpoint(t, s.Webhooks, m.ID, e.ID), e)
	CheckEqual(t, "untouched endpoint", MustEndpoint(t, s.Webhooks, m.ID, keep.ID), keep)

	theirs := *e
	theirs.MerchantID, theirs.URL = other.ID, "https://evil.example.com/"
	checkCode(t, "UpdateEndpoint(another merchant's)", s.Webhooks.UpdateEndpoint(t.Context(), &theirs), paygate.ENOTFOUND)
	ghost := NewEndpoint(t, m.ID, Base, "*")
	checkCode(t, "UpdateEndpoint(unknown)", s.Webhooks.UpdateEndpoint(t.Context(), ghost), paygate.ENOTFOUND)
	CheckEqual(t, "Endpoint after others' updates", MustEndpoint(t, s.Webhooks, m.ID, e.ID), e)
}

// testEndpointHealth checks that a delivery's outcome saved on an endpoint
// read before the merchant rotated its secret, or deleted it, undoes
// neither.
func testEndpointHealth(t *testing.T, s Stores) {
	m := MustCreateMerchant(t, s.Merchants, "Acme")
	e := MustCreateEndpoint(t, s.Webhooks, NewEndpoint(t, m.ID, Base, "*"))
	stale := MustEndpoint(t, s.Webhooks, m.ID, e.ID) // the worker's copy

	// The merchant rotates the secret; then the worker records a failure.
	e.PrevSecret, e.PrevExpiresAt = e.Secret, Base.Add(paygate.WebhookSecretOverlap)
	e.Secret = paygate.EncryptedPAN{KeyID: "dk_2", Ciphertext: randomBytes(t, 48)}
	e.UpdatedAt = Base.Add(time.Minute)
	MustUpdateEndpoint(t, s.Webhooks, e)
	stale.Failures, stale.LastError, stale.UpdatedAt = 1, "HTTP 503", Base.Add(2*time.Minute)
	if err := s.Webhooks.RecordEndpointHealth(t.Context(), stale); err != nil {
		t.Fatalf("RecordEndpointHealth: %v", err)
	}
	want := *e
	want.Failures, want.LastError, want.UpdatedAt = 1, "HTTP 503", stale.UpdatedAt
	CheckEqual(t, "endpoint after a rotation and a stale health record", MustEndpoint(t, s.Webhooks, m.ID, e.ID), &want)

	// The merchant deletes it; the worker's success must not enable it again.
	want.Status, want.UpdatedAt = paygate.EndpointDisabled, Base.Add(3*time.Minute)
	MustUpdateEndpoint(t, s.Webhooks, &want)
	stale.Status, stale.Failures, stale.LastError, stale.UpdatedAt = paygate.EndpointEnabled, 0, "", Base.Add(4*time.Minute)
	if err := s.Webhooks.RecordEndpointHealth(t.Context(), stale); err != nil {
		t.Fatalf("RecordEndpointHealth: %v", err)
	}
	CheckEqual(t, "deleted endpoint after a stale health record", MustEndpoint(t, s.Webhooks, m.ID, e.ID), &want)
}

// testEndpointTakes checks that an event goes to exactly the endpoints
// that take its type: "*" or the type itself, nothing like it.
func testEndpointTakes(t *testing.T, s Stores) {
	m := MustCreateMerchant(t, s.Merchants, "Acme")
	other := MustCreateMerchant(t, s.Merchants, "Other")
	var endpoints []*paygate.WebhookEndpoint
	for i, types := range [][]string{
		{"*"},
		{paygate.EventPaymentCaptured},
		{paygate.EventPaymentAuthorized, paygate.EventPaymentCaptured, paygate.EventSessionCompleted},
		{paygate.EventSessionCompleted},
		// Near misses: none of these takes payment.captured.
		{"payment.capture", "ayment.captured", "PAYMENT.CAPTURED", "payment.captured.x", "*.captured", "payment.*", "payment_captured"},
		{},
	} {
		endpoints = append(endpoints, MustCreateEndpoint(t, s.Webhooks, NewEndpoint(t, m.ID, Base.Add(time.Duration(i)*time.Second), types...)))
	}
	MustCreateEndpoint(t, s.Webhooks, NewEndpoint(t, other.ID, Base, "*"))

	for i, typ := range paygate.EventTypes {
		e := NewEvent(t, m.ID, typ, Base.Add(time.Minute+time.Duration(i)*time.Second))
		MustCreateEvent(t, s.Events, e)
		var takers []*paygate.WebhookEndpoint
		for _, w := range endpoints {
			if w.Takes(typ) {
				takers = append(takers, w)
			}
		}
		checkDeliveries(t, s, e, takers...)
	}
}
