package storetest

// The contract of webhook deliveries: claiming due ones, recording attempts,
// redelivery, and an endpoint's delivery log.

import (
	"cmp"
	"slices"
	"testing"
	"time"

	"github.com/paygate/paygate"
)

var webhookDeliveryTests = []test{
	{"Claim", testWebhookClaim},
	{"ClaimTogether", testWebhookClaimTogether},
	{"ClaimSkipsDisabled", testWebhookClaimSkipsDisabled},
	{"RecordAttempt", testWebhookRecordAttempt},
	{"Redeliver", testWebhookRedeliver},
	{"EndpointLog", testWebhookEndpointLog},
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
	checkClaimedOnce(t, "ClaimWebhookDeliveries", claimed, func(d *paygate.WebhookDelivery) string { return d.ID }, limit, want)
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
