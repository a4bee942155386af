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

var webhookDeliveryTests = []test{
	{"Claim", testWebhookClaim},
	{"ClaimTogether", testWebhookClaimTogether},
	{"ClaimSkipsDisabled", testWebhookClaimSkipsDisabled},
	{"RecordAttempt", testWebhookRecordAttempt},
	{"Redeliver", testWebhookRedeliver},
	{"EndpointLog", testWebhookEndpointLog},
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

func testWebhookClaim(t *testing.T, s Stores) {
	m := MustCreateMerchant(t, s.Merchants, "Acme")
	w := MustCreateEndpoint(t, s.Webhooks, NewEndpoint(t, m.ID, Base, "*"))
	now := Base.Add(time.Hour)
	mk := func(at time.Time) *paygate.WebhookDelivery {
		e := NewEvent(t, m.ID, paygate.EventPaymentCaptured, at)
		MustCreateEvent(t, s.Events, e)
		return newDelivery(e, w)
	}
	longDue := mk(now.Add(-30 * time.Minute))
	due := mk(now) // due at now exactly
	later := mk(now.Add(time.Millisecond))
	done := mk(now.Add(-time.Hour))
	finish := func(d *paygate.WebhookDelivery, status string) {
		prev := d.NextAt
		d.Status, d.Attempts, d.UpdatedAt = status, 1, d.CreatedAt
		a := &paygate.WebhookAttempt{EventID: d.EventID, EndpointID: d.EndpointID, At: d.CreatedAt, Status: 200}
		if err := s.Webhooks.RecordWebhookAttempt(t.Context(), d, prev, a); err != nil {
			t.Fatalf("RecordWebhookAttempt: %v", err)
		}
	}
	finish(done, paygate.WebhookDelivered)
	finish(mk(now.Add(-time.Hour)), paygate.WebhookFailed)

	if got := mustClaimWebhooks(t, s.Webhooks, now, 0); len(got) != 0 {
		t.Errorf("ClaimWebhookDeliveries(limit 0): got %v, want none", got)
	}
	// The longest due first.
	if got, want := mustClaimWebhooks(t, s.Webhooks, now, 1), sortedDeliveryIDs(longDue); !slices.Equal(got, want) {
		t.Errorf("ClaimWebhookDeliveries(limit 1): got %v, want %v", got, want)
	}
	if got, want := mustClaimWebhooks(t, s.Webhooks, now, 10), sortedDeliveryIDs(due); !slices.Equal(got, want) {
		t.Errorf("ClaimWebhookDeliveries of the rest due: got %v, want %v", got, want)
	}
	// Claimed ones are leased: nothing is due until the leases end.
	if got, want := mustClaimWebhooks(t, s.Webhooks, now.Add(webhookLease-time.Microsecond), 10), sortedDeliveryIDs(later); !slices.Equal(got, want) {
		t.Errorf("ClaimWebhookDeliveries while the others' leases run: got %v, want only %v", got, want)
	}
	ds, _ := mustWebhookDeliveries(t, s.Webhooks, m.ID, longDue.EventID)
	want := *longDue
	want.NextAt = now.Add(webhookLease)
	CheckEqual(t, "claimed delivery", ds, []*paygate.WebhookDelivery{&want})

	// A node that claimed and died: its deliveries are taken over once
	// the lease ends.
	if got, want := mustClaimWebhooks(t, s.Webhooks, now.Add(webhookLease), 10), sortedDeliveryIDs(longDue, due); !slices.Equal(got, want) {
		t.Errorf("ClaimWebhookDeliveries once the leases ended: got %v, want %v", got, want)
	}
	if _, err := s.Webhooks.ClaimWebhookDeliveries(t.Context(), now, 0, 10); err == nil {
		t.Errorf("ClaimWebhookDeliveries with a zero lease: got nil, want an error")
	}
}

// testWebhookClaimTogether has many nodes claim at once: each delivery
// goes to exactly one of them.
func testWebhookClaimTogether(t *testing.T, s Stores) {
	m := MustCreateMerchant(t, s.Merchants, "Acme")
	const events, claimers, limit = 15, 10, 4
	endpoints := []*paygate.WebhookEndpoint{
		MustCreateEndpoint(t, s.Webhooks, NewEndpoint(t, m.ID, Base, "*")),
		MustCreateEndpoint(t, s.Webhooks, NewEndpoint(t, m.ID, Base, paygate.EventPaymentCaptured)),
	}
	var want []string
	for i := range events {
		e := NewEvent(t, m.ID, paygate.EventPaymentCaptured, Base.Add(time.Duration(i)*time.Millisecond))
		MustCreateEvent(t, s.Events, e)
		for _, w := range endpoints {
			want = append(want, newDelivery(e, w).ID)
		}
	}
	slices.Sort(want)
	now := Base.Add(time.Hour)
	claimed := make([][]*paygate.WebhookDelivery, claimers)
	for i, err := range race(claimers, func(i int) error {
		var err error
		claimed[i], err = s.Webhooks.ClaimWebhookDeliveries(t.Context(), now, webhookLease, limit)
		return err
	}) {
		if err != nil {
			t.Errorf("ClaimWebhookDeliveries #%d: %v", i, err)
		}
	}
	by := map[string]int{}
	var got []string
	for i, list := range claimed {
		if len(list) > limit {
			t.Errorf("ClaimWebhookDeliveries #%d: got %d deliveries, want at most %d", i, len(list), limit)
		}
		for _, d := range list {
			if j, ok := by[d.ID]; ok {
				t.Errorf("delivery %s: claimed by #%d and #%d, want one", d.ID, j, i)
				continue
			}
			by[d.ID] = i
			got = append(got, d.ID)
		}
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("claimed by %d nodes at once: got %d deliveries, want all %d once", claimers, len(got), len(want))
	}
}

// testWebhookClaimSkipsDisabled: a delivery of a disabled endpoint is
// never claimed, even one left pending by an attempt under way when the
// endpoint was disabled.
func testWebhookClaimSkipsDisabled(t *testing.T, s Stores) {
	m := MustCreateMerchant(t, s.Merchants, "Acme")
	gone := MustCreateEndpoint(t, s.Webhooks, NewEndpoint(t, m.ID, Base, "*"))
	live := MustCreateEndpoint(t, s.Webhooks, NewEndpoint(t, m.ID, Base, "*"))
	e := NewEvent(t, m.ID, paygate.EventPaymentCaptured, Base)
	MustCreateEvent(t, s.Events, e)
	now := Base.Add(time.Minute)
	if got, want := mustClaimWebhooks(t, s.Webhooks, now, 10), sortedDeliveryIDs(newDelivery(e, gone), newDelivery(e, live)); !slices.Equal(got, want) {
		t.Fatalf("ClaimWebhookDeliveries: got %v, want %v", got, want)
	}
	// The merchant deletes the endpoint while its delivery is posted;
	// then the post fails and is recorded, to be retried.
	gone.Status, gone.UpdatedAt = paygate.EndpointDisabled, now.Add(time.Second)
	MustUpdateEndpoint(t, s.Webhooks, gone)
	for _, w := range []*paygate.WebhookEndpoint{gone, live} {
		d := newDelivery(e, w)
		prev := now.Add(webhookLease)
		d.Attempts, d.NextAt, d.UpdatedAt = 1, now.Add(2*time.Second), now.Add(time.Second)
		a := &paygate.WebhookAttempt{EventID: e.ID, EndpointID: w.ID, At: now, Status: 503}
		if err := s.Webhooks.RecordWebhookAttempt(t.Context(), d, prev, a); err != nil {
			t.Fatalf("RecordWebhookAttempt(%s): %v", d.ID, err)
		}
	}
	if got, want := mustClaimWebhooks(t, s.Webhooks, now.Add(time.Hour), 10), sortedDeliveryIDs(newDelivery(e, live)); !slices.Equal(got, want) {
		t.Errorf("ClaimWebhookDeliveries after the endpoint was disabled: got %v, want only %v", got, want)
	}

	// Disabling fails the endpoint's pending deliveries, and only them.
	e2 := NewEvent(t, m.ID, paygate.EventPaymentVoided, now.Add(2*time.Hour))
	MustCreateEvent(t, s.Events, e2)
	checkDeliveries(t, s, e2, live)
	live.Status, live.UpdatedAt = paygate.EndpointDisabled, now.Add(3*time.Hour)
	MustUpdateEndpoint(t, s.Webhooks, live)
	ds, _ := mustWebhookDeliveries(t, s.Webhooks, m.ID, e2.ID)
	want := newDelivery(e2, live)
	want.Status, want.UpdatedAt = paygate.WebhookFailed, live.UpdatedAt
	CheckEqual(t, "delivery of an endpoint disabled", ds, []*paygate.WebhookDelivery{want})
}

func testWebhookRecordAttempt(t *testing.T, s Stores) {
	m := MustCreateMerchant(t, s.Merchants, "Acme")
	other := MustCreateMerchant(t, s.Merchants, "Other")
	w := MustCreateEndpoint(t, s.Webhooks, NewEndpoint(t, m.ID, Base, "*"))
	w2 := MustCreateEndpoint(t, s.Webhooks, NewEndpoint(t, m.ID, Base, "*"))
	e := NewEvent(t, m.ID, paygate.EventPaymentCaptured, Base)
	MustCreateEvent(t, s.Events, e)
	d, keep := newDelivery(e, w), newDelivery(e, w2)

	now := Base.Add(time.Second)
	if got := mustClaimWebhooks(t, s.Webhooks, now, 10); len(got) != 2 {
		t.Fatalf("ClaimWebhookDeliveries: got %v, want both", got)
	}
	keep.NextAt = now.Add(webhookLease)

	// Failed: due again later. What the server answered may be any bytes.
	prev := now.Add(webhookLease)
	d.Attempts, d.NextAt, d.UpdatedAt = 1, now.Add(paygate.WebhookRetries[0]), now.Add(time.Second)
	a1 := &paygate.WebhookAttempt{EventID: e.ID, EndpointID: w.ID, At: now.Add(7), Status: 503, Millis: 812,
		Error: "the endpoint answered HTTP 503", Response: "busy\x00 \xff\xfe n\u00e9"}
	if err := s.Webhooks.RecordWebhookAttempt(t.Context(), d, prev, a1); err != nil {
		t.Fatalf("RecordWebhookAttempt: %v", err)
	}
	a1.DeliveryID, a1.Response = d.ID, "busy \ufffd n\u00e9"

	// A node whose lease ended (another claimed the delivery since)
	// records nothing, attempt included.
	stale := *d
	stale.Status, stale.Attempts = paygate.WebhookDelivered, 9
	lost := &paygate.WebhookAttempt{EventID: e.ID, EndpointID: w.ID, At: now.Add(time.Minute), Status: 200}
	checkIs(t, "RecordWebhookAttempt after the lease moved", s.Webhooks.RecordWebhookAttempt(t.Context(), &stale, prev, lost),
		paygate.ErrVersionConflict)
	ghost := *d
	ghost.ID = e.ID + "." + paygate.NewID("we", Base)
	checkIs(t, "RecordWebhookAttempt(unknown)", s.Webhooks.RecordWebhookAttempt(t.Context(), &ghost, ghost.NextAt, lost),
		paygate.ErrVersionConflict)

	// Delivered at the retry.
	if got, want := mustClaimWebhooks(t, s.Webhooks, d.NextAt, 10), sortedDeliveryIDs(d); !slices.Equal(got, want) {
		t.Fatalf("ClaimWebhookDeliveries at the retry: got %v, want %v", got, want)
	}
	prev = d.NextAt.Add(webhookLease)
	d.Status, d.Attempts, d.NextAt, d.UpdatedAt = paygate.WebhookDelivered, 2, prev, prev
	a2 := &paygate.WebhookAttempt{DeliveryID: d.ID, EventID: e.ID, EndpointID: w.ID, At: now.Add(paygate.WebhookRetries[0] + time.Second),
		Status: 204, Millis: 35}
	if err := s.Webhooks.RecordWebhookAttempt(t.Context(), d, prev, a2); err != nil {
		t.Fatalf("RecordWebhookAttempt(delivered): %v", err)
	}
	if got := mustClaimWebhooks(t, s.Webhooks, Base.Add(48*time.Hour), 10); !slices.Equal(got, sortedDeliveryIDs(keep)) {
		t.Errorf("ClaimWebhookDeliveries after delivery: got %v, want only %v", got, sortedDeliveryIDs(keep))
	}

	ds, as := mustWebhookDeliveries(t, s.Webhooks, m.ID, e.ID)
	keep.NextAt = Base.Add(48 * time.Hour).Add(webhookLease)
	want := []*paygate.WebhookDelivery{d, keep} // written together: by id
	slices.SortFunc(want, func(a, b *paygate.WebhookDelivery) int { return cmp.Compare(a.ID, b.ID) })
	CheckEqual(t, "WebhookDeliveries", ds, want)
	CheckEqual(t, "WebhookDeliveries' attempts", as, []*paygate.WebhookAttempt{a1, a2})

	ds, as = mustWebhookDeliveries(t, s.Webhooks, other.ID, e.ID)
	if len(ds) != 0 || len(as) != 0 {
		t.Errorf("WebhookDeliveries(another merchant's event): got %d deliveries, %d attempts; want none", len(ds), len(as))
	}
}

func testWebhookRedeliver(t *testing.T, s Stores) {
	m := MustCreateMerchant(t, s.Merchants, "Acme")
	other := MustCreateMerchant(t, s.Merchants, "Other")
	delivered := MustCreateEndpoint(t, s.Webhooks, NewEndpoint(t, m.ID, Base, "*"))
	failed := MustCreateEndpoint(t, s.Webhooks, NewEndpoint(t, m.ID, Base, paygate.EventPaymentCaptured))
	disabled := MustCreateEndpoint(t, s.Webhooks, NewEndpoint(t, m.ID, Base, "*"))
	MustCreateEndpoint(t, s.Webhooks, NewEndpoint(t, m.ID, Base, paygate.EventSessionCompleted))
	e := NewEvent(t, m.ID, paygate.EventPaymentCaptured, Base)
	MustCreateEvent(t, s.Events, e)
	untouched := MustCreateEvent(t, s.Events, NewEvent(t, m.ID, paygate.EventPaymentCaptured, Base.Add(time.Second)))

	// One delivered, one given up, one endpoint disabled since; one new
	// endpoint that takes the event.
	now := Base.Add(time.Minute)
	claimed := mustClaimWebhooks(t, s.Webhooks, now, 10)
	if len(claimed) != 6 {
		t.Fatalf("ClaimWebhookDeliveries: got %v, want 6", claimed)
	}
	ends := map[string]*paygate.WebhookDelivery{}
	for _, x := range []struct {
		w      *paygate.WebhookEndpoint
		status string
	}{{delivered, paygate.WebhookDelivered}, {failed, paygate.WebhookFailed}} {
		d := newDelivery(e, x.w)
		d.Status, d.Attempts, d.NextAt, d.UpdatedAt = x.status, 1, now.Add(webhookLease), now
		a := &paygate.WebhookAttempt{EventID: e.ID, EndpointID: x.w.ID, At: now, Status: 200}
		if err := s.Webhooks.RecordWebhookAttempt(t.Context(), d, now.Add(webhookLease), a); err != nil {
			t.Fatalf("RecordWebhookAttempt: %v", err)
		}
		ends[x.w.ID] = d
	}
	disabled.Status, disabled.UpdatedAt = paygate.EndpointDisabled, now
	MustUpdateEndpoint(t, s.Webhooks, disabled)
	added := MustCreateEndpoint(t, s.Webhooks, NewEndpoint(t, m.ID, now, paygate.EventPaymentCaptured))

	at := now.Add(time.Minute) // the other event's deliveries are still claimed
	got, err := s.Webhooks.Redeliver(t.Context(), m.ID, e.ID, at)
	if err != nil {
		t.Fatalf("Redeliver: %v", err)
	}
	var want []*paygate.WebhookDelivery
	for _, w := range []*paygate.WebhookEndpoint{delivered, failed} {
		d := *ends[w.ID] // a fresh schedule (its attempts stay on record)
		d.Status, d.Attempts, d.NextAt, d.UpdatedAt = paygate.WebhookPending, 0, at, at
		want = append(want, &d)
	}
	fresh := newDelivery(e, added)
	fresh.NextAt, fresh.CreatedAt, fresh.UpdatedAt = at, at, at
	want = append(want, fresh)
	slices.SortFunc(want, func(a, b *paygate.WebhookDelivery) int { return cmp.Compare(a.ID, b.ID) })
	CheckEqual(t, "Redeliver", got, want)

	ds, _ := mustWebhookDeliveries(t, s.Webhooks, m.ID, e.ID)
	gone := newDelivery(e, disabled)
	gone.Status, gone.NextAt, gone.UpdatedAt = paygate.WebhookFailed, now.Add(webhookLease), now
	slices.SortFunc(ds, func(a, b *paygate.WebhookDelivery) int { return cmp.Compare(a.ID, b.ID) })
	wantAll := append(slices.Clone(want), gone)
	slices.SortFunc(wantAll, func(a, b *paygate.WebhookDelivery) int { return cmp.Compare(a.ID, b.ID) })
	CheckEqual(t, "WebhookDeliveries after Redeliver", ds, wantAll)
	if got, want := mustClaimWebhooks(t, s.Webhooks, at, 10), sortedDeliveryIDs(want...); !slices.Equal(got, want) {
		t.Errorf("ClaimWebhookDeliveries after Redeliver: got %v, want %v", got, want)
	}
	ds, _ = mustWebhookDeliveries(t, s.Webhooks, m.ID, untouched.ID)
	if len(ds) != 3 {
		t.Errorf("another event's deliveries after Redeliver: got %d, want 3", len(ds))
	}
	for _, d := range ds {
		want := paygate.WebhookPending
		if d.EndpointID == disabled.ID {
			want = paygate.WebhookFailed
		}
		if d.Status != want || !d.NextAt.Equal(now.Add(webhookLease).Truncate(time.Microsecond)) {
			t.Errorf("another event's delivery %s after Redeliver: got %s due %s, want %s, due as claimed", d.ID, d.Status,
				fmtTime(d.NextAt), want)
		}
	}

	for _, x := range []struct{ merchantID, id string }{{other.ID, e.ID}, {m.ID, paygate.NewID("evt", Base)}} {
		_, err := s.Webhooks.Redeliver(t.Context(), x.merchantID, x.id, at)
		checkCode(t, "Redeliver(another merchant's or unknown event)", err, paygate.ENOTFOUND)
	}
}

// An endpoint's delivery log: its own deliveries only, newest first, at
// most the limit, with their attempts; nothing of another merchant's.
func testWebhookEndpointLog(t *testing.T, s Stores) {
	m := MustCreateMerchant(t, s.Merchants, "Acme")
	other := MustCreateMerchant(t, s.Merchants, "Other")
	w := MustCreateEndpoint(t, s.Webhooks, NewEndpoint(t, m.ID, Base, "*"))
	w2 := MustCreateEndpoint(t, s.Webhooks, NewEndpoint(t, m.ID, Base, "*"))
	var evs []*paygate.Event
	for i := range 3 {
		evs = append(evs, MustCreateEvent(t, s.Events, NewEvent(t, m.ID, paygate.EventPaymentCaptured, Base.Add(time.Duration(i)*time.Second))))
	}
	now := Base.Add(time.Minute)
	if got := mustClaimWebhooks(t, s.Webhooks, now, 10); len(got) != 6 {
		t.Fatalf("ClaimWebhookDeliveries: got %v, want all 6", got)
	}
	d := newDelivery(evs[0], w)
	prev := now.Add(webhookLease)
	d.Status, d.Attempts, d.NextAt, d.UpdatedAt = paygate.WebhookPending, 1, now.Add(time.Hour), now
	a := &paygate.WebhookAttempt{DeliveryID: d.ID, EventID: evs[0].ID, EndpointID: w.ID, At: now, Status: 500, Millis: 3, Error: "the endpoint answered HTTP 500"}
	if err := s.Webhooks.RecordWebhookAttempt(t.Context(), d, prev, a); err != nil {
		t.Fatalf("RecordWebhookAttempt: %v", err)
	}

	ds, as, err := s.Webhooks.EndpointDeliveries(t.Context(), m.ID, w.ID, 2)
	if err != nil {
		t.Fatalf("EndpointDeliveries: %v", err)
	}
	if got, want := deliveryIDs(ds), []string{evs[2].ID + "." + w.ID, evs[1].ID + "." + w.ID}; !slices.Equal(got, want) {
		t.Errorf("EndpointDeliveries(limit 2): got %v, want the newest two %v", got, want)
	}
	if len(as) != 0 {
		t.Errorf("EndpointDeliveries(limit 2): got %d attempts, want none", len(as))
	}
	ds, as, err = s.Webhooks.EndpointDeliveries(t.Context(), m.ID, w.ID, 10)
	if err != nil || len(ds) != 3 {
		t.Fatalf("EndpointDeliveries(limit 10): got %d, %v; want 3", len(ds), err)
	}
	CheckEqual(t, "EndpointDeliveries' oldest", ds[2], d)
	CheckEqual(t, "EndpointDeliveries' attempts", as, []*paygate.WebhookAttempt{a})
	if ds, _, _ := s.Webhooks.EndpointDeliveries(t.Context(), m.ID, w2.ID, 10); len(ds) != 3 || ds[0].EndpointID != w2.ID {
		t.Errorf("EndpointDeliveries(the other endpoint): got %v", deliveryIDs(ds))
	}
	if ds, as, err := s.Webhooks.EndpointDeliveries(t.Context(), other.ID, w.ID, 10); err != nil || len(ds) != 0 || len(as) != 0 {
		t.Errorf("EndpointDeliveries(another merchant): got %d, %d, %v; want none", len(ds), len(as), err)
	}
}
