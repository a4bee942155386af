package storetest

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/paygate/paygate"
)

var deliveryTests = []test{
	{"CreateGet", testDeliveryCreateGet},
	{"Claim", testDeliveryClaim},
	{"ClaimTogether", testDeliveryClaimTogether},
	{"Update", testDeliveryUpdate},
}

// NewDelivery returns a pending delivery of a new session of the merchant
// (stored), its first attempt failed at the given time, due at next.
func NewDelivery(tb testing.TB, s Stores, merchantID string, created, next time.Time) *paygate.Delivery {
	tb.Helper()
	ss := NewSession(tb, merchantID, created)
	ss.Model = paygate.ModelProxy
	MustCreateSession(tb, s.Sessions, ss)
	return &paygate.Delivery{
		ID:         paygate.NewID("dlv", created),
		MerchantID: merchantID,
		SessionID:  ss.ID,
		Status:     paygate.DeliveryPending,
		Attempts:   1,
		NextAt:     next,
		LastError:  "the merchant's site answered HTTP 503",
		CreatedAt:  created,
		UpdatedAt:  created,
	}
}

// MustCreateDelivery stores d.
func MustCreateDelivery(tb testing.TB, s paygate.DeliveryStore, d *paygate.Delivery) {
	tb.Helper()
	if err := s.CreateDelivery(tb.Context(), d); err != nil {
		tb.Fatalf("CreateDelivery(%s): %v", d.ID, err)
	}
}

// MustSessionDelivery loads a session's delivery.
func MustSessionDelivery(tb testing.TB, s paygate.DeliveryStore, sessionID string) *paygate.Delivery {
	tb.Helper()
	d, err := s.SessionDelivery(tb.Context(), sessionID)
	if err != nil {
		tb.Fatalf("SessionDelivery(%s): %v", sessionID, err)
	}
	return d
}

// mustClaim claims deliveries and returns their ids, sorted.
func mustClaim(tb testing.TB, s paygate.DeliveryStore, now time.Time, lease time.Duration, limit int) []string {
	tb.Helper()
	list, err := s.ClaimDeliveries(tb.Context(), now, lease, limit)
	if err != nil {
		tb.Fatalf("ClaimDeliveries at %s: %v", fmtTime(now), err)
	}
	out := make([]string, len(list))
	for i, d := range list {
		if !d.NextAt.Equal(now.Add(lease).Truncate(time.Microsecond)) {
			tb.Errorf("ClaimDeliveries at %s: %s's NextAt: got %s, want the lease's end %s", fmtTime(now), d.ID,
				fmtTime(d.NextAt), fmtTime(now.Add(lease)))
		}
		out[i] = d.ID
	}
	slices.Sort(out)
	return out
}

func sortedIDs(ds ...*paygate.Delivery) []string {
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = d.ID
	}
	slices.Sort(out)
	return out
}

func testDeliveryCreateGet(t *testing.T, s Stores) {
	m := MustCreateMerchant(t, s.Merchants, "Acme")
	d := NewDelivery(t, s, m.ID, Base, Base.Add(paygate.DeliveryRetries[0]))
	MustCreateDelivery(t, s.Deliveries, d)
	CheckEqual(t, "SessionDelivery", MustSessionDelivery(t, s.Deliveries, d.SessionID), d)

	// One delivery per session.
	again := NewDelivery(t, s, m.ID, Base.Add(time.Second), Base.Add(time.Minute))
	again.SessionID = d.SessionID
	if err := s.Deliveries.CreateDelivery(t.Context(), again); !errors.Is(err, paygate.ErrDuplicate) {
		t.Errorf("CreateDelivery of a session's second delivery: got %v, want ErrDuplicate", err)
	}
	CheckEqual(t, "SessionDelivery after a duplicate", MustSessionDelivery(t, s.Deliveries, d.SessionID), d)

	other := NewDelivery(t, s, m.ID, Base.Add(time.Second), Base.Add(time.Minute))
	MustCreateDelivery(t, s.Deliveries, other)
	CheckEqual(t, "SessionDelivery(other)", MustSessionDelivery(t, s.Deliveries, other.SessionID), other)

	noDelivery := NewSession(t, m.ID, Base)
	MustCreateSession(t, s.Sessions, noDelivery)
	for _, id := range []string{noDelivery.ID, "cs_" + paygate.RandomToken(32)} {
		_, err := s.Deliveries.SessionDelivery(t.Context(), id)
		checkCode(t, "SessionDelivery(a session without one)", err, paygate.ENOTFOUND)
	}
}

func testDeliveryClaim(t *testing.T, s Stores) {
	m := MustCreateMerchant(t, s.Merchants, "Acme")
	const lease = paygate.DeliveryLease
	now := Base.Add(time.Hour)
	mk := func(next time.Time, status string) *paygate.Delivery {
		d := NewDelivery(t, s, m.ID, Base, next)
		d.Status = status
		MustCreateDelivery(t, s.Deliveries, d)
		return d
	}
	longDue := mk(now.Add(-30*time.Minute), paygate.DeliveryPending)
	due := mk(now, paygate.DeliveryPending) // due at now exactly
	later := mk(now.Add(time.Microsecond), paygate.DeliveryPending)
	mk(now.Add(-time.Hour), paygate.DeliveryDelivered)
	mk(now.Add(-time.Hour), paygate.DeliveryFailed)

	if got := mustClaim(t, s.Deliveries, now, lease, 0); len(got) != 0 {
		t.Errorf("ClaimDeliveries(limit 0): got %v, want none", got)
	}
	// The longest due first.
	if got, want := mustClaim(t, s.Deliveries, now, lease, 1), sortedIDs(longDue); !slices.Equal(got, want) {
		t.Errorf("ClaimDeliveries(limit 1): got %v, want %v", got, want)
	}
	if got, want := mustClaim(t, s.Deliveries, now, lease, 10), sortedIDs(due); !slices.Equal(got, want) {
		t.Errorf("ClaimDeliveries of the rest due: got %v, want %v", got, want)
	}
	// Claimed ones are leased: nothing is due until the leases end.
	if got := mustClaim(t, s.Deliveries, now.Add(lease-time.Microsecond), lease, 10); !slices.Equal(got, sortedIDs(later)) {
		t.Errorf("ClaimDeliveries while the others' leases run: got %v, want only %v", got, sortedIDs(later))
	}
	got := MustSessionDelivery(t, s.Deliveries, longDue.SessionID)
	want := *longDue
	want.NextAt = now.Add(lease)
	CheckEqual(t, "claimed delivery", got, &want)

	// A node that claimed and died: its deliveries are taken over once
	// the lease ends.
	if got, want := mustClaim(t, s.Deliveries, now.Add(lease), lease, 10), sortedIDs(longDue, due); !slices.Equal(got, want) {
		t.Errorf("ClaimDeliveries once the leases ended: got %v, want %v", got, want)
	}

	if _, err := s.Deliveries.ClaimDeliveries(t.Context(), now, 0, 10); err == nil {
		t.Errorf("ClaimDeliveries with a zero lease: got nil, want an error")
	}
}

// testDeliveryClaimTogether has many nodes claim at once: each delivery
// goes to exactly one of them.
func testDeliveryClaimTogether(t *testing.T, s Stores) {
	m := MustCreateMerchant(t, s.Merchants, "Acme")
	const deliveries, claimers, limit = 30, 10, 5
	var want []string
	for i := range deliveries {
		d := NewDelivery(t, s, m.ID, Base, Base.Add(time.Duration(i)*time.Millisecond))
		MustCreateDelivery(t, s.Deliveries, d)
		want = append(want, d.ID)
	}
	slices.Sort(want)
	now := Base.Add(time.Hour)
	claimed := make([][]*paygate.Delivery, claimers)
	for i, err := range race(claimers, func(i int) error {
		var err error
		claimed[i], err = s.Deliveries.ClaimDeliveries(t.Context(), now, paygate.DeliveryLease, limit)
		return err
	}) {
		if err != nil {
			t.Errorf("ClaimDeliveries #%d: %v", i, err)
		}
	}
	checkClaimedOnce(t, "ClaimDeliveries", claimed, func(d *paygate.Delivery) string { return d.ID }, limit, want)
}

func testDeliveryUpdate(t *testing.T, s Stores) {
	m := MustCreateMerchant(t, s.Merchants, "Acme")
	d := NewDelivery(t, s, m.ID, Base, Base)
	MustCreateDelivery(t, s.Deliveries, d)
	keep := NewDelivery(t, s, m.ID, Base, Base)
	MustCreateDelivery(t, s.Deliveries, keep)

	// Failed again: due later.
	prev := d.NextAt
	d.Attempts, d.LastError = 2, "dial tcp: connection refused"
	d.UpdatedAt = Base.Add(time.Minute)
	d.NextAt = d.UpdatedAt.Add(paygate.DeliveryRetries[1])
	if err := s.Deliveries.UpdateDelivery(t.Context(), d, prev); err != nil {
		t.Fatalf("UpdateDelivery: %v", err)
	}
	// A node whose lease ended (another claimed the delivery since) saves nothing.
	stale := *d
	stale.Status, stale.Attempts = paygate.DeliveryFailed, 9
	checkIs(t, "UpdateDelivery after the lease moved", s.Deliveries.UpdateDelivery(t.Context(), &stale, prev), paygate.ErrVersionConflict)
	CheckEqual(t, "delivery after a retry failed", MustSessionDelivery(t, s.Deliveries, d.SessionID), d)
	if got := mustClaim(t, s.Deliveries, Base.Add(2*time.Minute), paygate.DeliveryLease, 10); !slices.Equal(got, sortedIDs(keep)) {
		t.Errorf("ClaimDeliveries before the retry is due: got %v, want only %v", got, sortedIDs(keep))
	}

	// Delivered: never claimed again.
	prev = d.NextAt
	d.Attempts, d.Status, d.LastError, d.UpdatedAt = 3, paygate.DeliveryDelivered, "", Base.Add(time.Hour)
	if err := s.Deliveries.UpdateDelivery(t.Context(), d, prev); err != nil {
		t.Fatalf("UpdateDelivery(delivered): %v", err)
	}
	CheckEqual(t, "delivered delivery", MustSessionDelivery(t, s.Deliveries, d.SessionID), d)
	if got := mustClaim(t, s.Deliveries, Base.Add(48*time.Hour), paygate.DeliveryLease, 10); !slices.Equal(got, sortedIDs(keep)) {
		t.Errorf("ClaimDeliveries after delivery: got %v, want only %v", got, sortedIDs(keep))
	}

	ghost := *d
	ghost.ID = paygate.NewID("dlv", Base)
	checkIs(t, "UpdateDelivery(unknown)", s.Deliveries.UpdateDelivery(t.Context(), &ghost, ghost.NextAt), paygate.ErrVersionConflict)
}

// checkClaimedOnce checks what claimers racing at once claimed: at most
// limit each, no item twice, and together every one of want (sorted ids).
func checkClaimedOnce[T any](t *testing.T, what string, claimed [][]T, id func(T) string, limit int, want []string) {
	t.Helper()
	by := map[string]int{}
	var got []string
	for i, list := range claimed {
		if len(list) > limit {
			t.Errorf("%s #%d: got %d deliveries, want at most %d", what, i, len(list), limit)
		}
		for _, d := range list {
			if j, ok := by[id(d)]; ok {
				t.Errorf("delivery %s: claimed by #%d and #%d, want one", id(d), j, i)
				continue
			}
			by[id(d)] = i
			got = append(got, id(d))
		}
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("claimed by %d nodes at once: got %d deliveries, want all %d once", len(claimed), len(got), len(want))
	}
}
