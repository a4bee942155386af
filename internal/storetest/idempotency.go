package storetest

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/paygate/paygate"
)

var idempotencyTests = []test{
	{"Begin", testIdempotencyBegin},
	{"Complete", testIdempotencyComplete},
	{"StaleLock", testIdempotencyStaleLock},
	{"Release", testIdempotencyRelease},
	{"Unlock", testIdempotencyUnlock},
	{"Purge", testIdempotencyPurge},
	{"PurgeMany", testIdempotencyPurgeMany},
	{"ExpirePayments", testIdempotencyExpirePayments},
}

// newRecord returns an in-flight record created and locked at the given time.
func newRecord(merchantID, key, hash string, at time.Time) *paygate.IdempotencyRecord {
	return &paygate.IdempotencyRecord{MerchantID: merchantID, Key: key, RequestHash: hash, CreatedAt: at, LockedAt: at}
}

// mustBegin begins rec, with locks taken before staleBefore counted stale.
func mustBegin(tb testing.TB, s paygate.IdempotencyStore, rec *paygate.IdempotencyRecord, staleBefore time.Time) *paygate.IdempotencyRecord {
	tb.Helper()
	existing, err := s.BeginIdempotent(tb.Context(), rec, staleBefore)
	if err != nil {
		tb.Fatalf("BeginIdempotent(%s): %v", rec.Key, err)
	}
	return existing
}

func mustComplete(tb testing.TB, s paygate.IdempotencyStore, rec *paygate.IdempotencyRecord) {
	tb.Helper()
	if err := s.CompleteIdempotent(tb.Context(), rec); err != nil {
		tb.Fatalf("CompleteIdempotent(%s): %v", rec.Key, err)
	}
}

// notStale is a staleBefore that no lock in these tests is older than.
var notStale = Base.Add(-24 * time.Hour)

func testIdempotencyBegin(t *testing.T, s Stores) {
	rec := newRecord("acct_1", "order-17", "hash-a", Base)
	if got := mustBegin(t, s.Idempotency, rec, notStale); got != nil {
		t.Fatalf("BeginIdempotent of a new key: got existing %+v, want nil", got)
	}

	second := newRecord("acct_1", "order-17", "hash-a", Base.Add(time.Second))
	got := mustBegin(t, s.Idempotency, second, notStale)
	if got == nil {
		t.Fatalf("BeginIdempotent of a taken key: got nil, want the record in flight")
	}
	CheckEqual(t, "existing record", got, rec)

	// Keys belong to a merchant; the same key elsewhere is new.
	if got := mustBegin(t, s.Idempotency, newRecord("acct_2", "order-17", "hash-b", Base), notStale); got != nil {
		t.Errorf("BeginIdempotent of another merchant's key: got existing %+v, want nil", got)
	}
}

func testIdempotencyComplete(t *testing.T, s Stores) {
	rec := newRecord("acct_1", "k1", "hash-a", Base)
	mustBegin(t, s.Idempotency, rec, notStale)
	rec.Done, rec.Status, rec.Body = true, 201, []byte(`{"id":"pay_x","status":"captured"}`)
	mustComplete(t, s.Idempotency, rec)

	got := mustBegin(t, s.Idempotency, newRecord("acct_1", "k1", "hash-a", Base.Add(time.Minute)), notStale)
	if got == nil {
		t.Fatalf("BeginIdempotent after CompleteIdempotent: got nil, want the completed record")
	}
	CheckEqual(t, "completed record", got, rec)

	// A completed record is never taken over, however old.
	got = mustBegin(t, s.Idempotency, newRecord("acct_1", "k1", "hash-a", Base.Add(time.Hour)), Base.Add(time.Hour))
	if got == nil || !got.Done {
		t.Errorf("BeginIdempotent of an old completed key: got %+v, want the completed record", got)
	}
}

func testIdempotencyStaleLock(t *testing.T, s Stores) {
	staleBefore := Base.Add(5 * time.Minute)

	// Same request, lock abandoned: the retry takes over.
	rec := newRecord("acct_1", "same", "hash-a", Base)
	mustBegin(t, s.Idempotency, rec, notStale)
	retry := newRecord("acct_1", "same", "hash-a", Base.Add(10*time.Minute))
	if got := mustBegin(t, s.Idempotency, retry, staleBefore); got != nil {
		t.Fatalf("BeginIdempotent over a stale lock of the same request: got existing %+v, want nil (taken over)", got)
	}
	// The lock is fresh again: a third attempt sees it in flight.
	got := mustBegin(t, s.Idempotency, newRecord("acct_1", "same", "hash-a", Base.Add(11*time.Minute)), staleBefore)
	if got == nil {
		t.Fatalf("BeginIdempotent after a takeover: got nil, want the record in flight")
	}
	if got.Done || !got.LockedAt.Equal(retry.LockedAt.Truncate(time.Microsecond)) {
		t.Errorf("record after takeover: got done %t locked at %s, want in flight locked at %s", got.Done, fmtTime(got.LockedAt), fmtTime(retry.LockedAt))
	}

	// Different request: never taken over, the caller must report a reuse.
	other := newRecord("acct_1", "different", "hash-a", Base)
	mustBegin(t, s.Idempotency, other, notStale)
	got = mustBegin(t, s.Idempotency, newRecord("acct_1", "different", "hash-b", Base.Add(10*time.Minute)), staleBefore)
	if got == nil {
		t.Fatalf("BeginIdempotent over a stale lock of a different request: got nil, want the existing record")
	}
	CheckEqual(t, "record of a different request", got, other)

	// Same request, lock not stale yet: in flight.
	fresh := newRecord("acct_1", "fresh", "hash-a", Base.Add(6*time.Minute))
	mustBegin(t, s.Idempotency, fresh, notStale)
	got = mustBegin(t, s.Idempotency, newRecord("acct_1", "fresh", "hash-a", Base.Add(7*time.Minute)), staleBefore)
	if got == nil {
		t.Fatalf("BeginIdempotent over a fresh lock: got nil, want the record in flight")
	}
	CheckEqual(t, "record with a fresh lock", got, fresh)
}

func testIdempotencyRelease(t *testing.T, s Stores) {
	rec := newRecord("acct_1", "k1", "hash-a", Base)
	mustBegin(t, s.Idempotency, rec, notStale)
	if err := s.Idempotency.ReleaseIdempotent(t.Context(), "acct_1", "k1"); err != nil {
		t.Fatalf("ReleaseIdempotent: %v", err)
	}
	if got := mustBegin(t, s.Idempotency, newRecord("acct_1", "k1", "hash-b", Base.Add(time.Second)), notStale); got != nil {
		t.Errorf("BeginIdempotent after ReleaseIdempotent: got existing %+v, want nil", got)
	}
	if err := s.Idempotency.ReleaseIdempotent(t.Context(), "acct_1", "unknown"); err != nil {
		t.Errorf("ReleaseIdempotent(unknown): got %v, want nil", err)
	}

	// A completed response stays to be replayed.
	done := newRecord("acct_1", "k2", "hash-a", Base)
	mustBegin(t, s.Idempotency, done, notStale)
	done.Done, done.Status, done.Body = true, 200, []byte(`{}`)
	mustComplete(t, s.Idempotency, done)
	if err := s.Idempotency.ReleaseIdempotent(t.Context(), "acct_1", "k2"); err != nil {
		t.Fatalf("ReleaseIdempotent(completed): %v", err)
	}
	if got := mustBegin(t, s.Idempotency, newRecord("acct_1", "k2", "hash-a", Base.Add(time.Second)), notStale); got == nil || !got.Done {
		t.Errorf("BeginIdempotent after releasing a completed key: got %+v, want the completed record", got)
	}
}

func testIdempotencyUnlock(t *testing.T, s Stores) {
	unlock := func(rec *paygate.IdempotencyRecord) {
		t.Helper()
		if err := s.Idempotency.UnlockIdempotent(t.Context(), rec); err != nil {
			t.Fatalf("UnlockIdempotent(%s): %v", rec.Key, err)
		}
	}
	// Unlocked: the same request takes the key over at once, recovered;
	// a different one still finds it taken.
	rec := newRecord("acct_1", "k1", "hash-a", Base)
	mustBegin(t, s.Idempotency, rec, notStale)
	unlock(rec)
	if got := mustBegin(t, s.Idempotency, newRecord("acct_1", "k1", "hash-b", Base.Add(time.Second)), notStale); got == nil || got.Done {
		t.Errorf("BeginIdempotent of another request after UnlockIdempotent: got %+v, want the record in flight", got)
	}
	retry := newRecord("acct_1", "k1", "hash-a", Base.Add(time.Second))
	if got := mustBegin(t, s.Idempotency, retry, notStale); got != nil || !retry.Recovered {
		t.Fatalf("BeginIdempotent after UnlockIdempotent: got existing %+v, recovered %t; want nil, recovered", got, retry.Recovered)
	}
	// The retry holds it now: a third attempt sees it in flight.
	if got := mustBegin(t, s.Idempotency, newRecord("acct_1", "k1", "hash-a", Base.Add(2*time.Second)), notStale); got == nil {
		t.Errorf("BeginIdempotent after a takeover of an unlocked key: got nil, want the record in flight")
	}
	// An old claim taken over since is not unlocked by its first holder.
	unlock(rec)
	if got := mustBegin(t, s.Idempotency, newRecord("acct_1", "k1", "hash-a", Base.Add(3*time.Second)), notStale); got == nil {
		t.Errorf("BeginIdempotent after UnlockIdempotent by a former holder: got nil, want the record in flight")
	}

	// A completed record stays completed.
	done := newRecord("acct_1", "k2", "hash-a", Base)
	mustBegin(t, s.Idempotency, done, notStale)
	done.Done, done.Status, done.Body = true, 200, []byte(`{}`)
	mustComplete(t, s.Idempotency, done)
	unlock(done)
	if got := mustBegin(t, s.Idempotency, newRecord("acct_1", "k2", "hash-a", Base.Add(time.Second)), notStale); got == nil || !got.Done {
		t.Errorf("BeginIdempotent after unlocking a completed key: got %+v, want the completed record", got)
	}
}

func testIdempotencyPurge(t *testing.T, s Stores) {
	for i, key := range []string{"k0", "k1", "k2"} {
		rec := newRecord("acct_1", key, "hash", Base.Add(time.Duration(i)*time.Hour))
		mustBegin(t, s.Idempotency, rec, notStale)
		if i == 0 {
			rec.Done, rec.Status = true, 200
			mustComplete(t, s.Idempotency, rec)
		}
	}
	n, err := s.Idempotency.PurgeIdempotent(t.Context(), Base.Add(90*time.Minute))
	if err != nil {
		t.Fatalf("PurgeIdempotent: %v", err)
	}
	if n != 2 {
		t.Errorf("PurgeIdempotent: got %d records, want 2", n)
	}
	for _, tt := range []struct {
		key  string
		kept bool
	}{{"k0", false}, {"k1", false}, {"k2", true}} {
		got := mustBegin(t, s.Idempotency, newRecord("acct_1", tt.key, "other", Base.Add(3*time.Hour)), notStale)
		if kept := got != nil; kept != tt.kept {
			t.Errorf("key %s after purge: got kept %t, want %t", tt.key, kept, tt.kept)
		}
	}
	if n, err := s.Idempotency.PurgeIdempotent(t.Context(), Base.Add(90*time.Minute)); err != nil || n != 0 {
		t.Errorf("PurgeIdempotent again: got %d, %v; want 0, nil", n, err)
	}
}

// testIdempotencyPurgeMany purges more records than a store deletes at once.
func testIdempotencyPurgeMany(t *testing.T, s Stores) {
	const old, young = 2345, 10
	errs := race(16, func(w int) error {
		for i := w; i < old+young; i += 16 {
			at := Base.Add(time.Duration(i) * time.Millisecond)
			if i >= old {
				at = Base.Add(time.Hour)
			}
			rec := newRecord("acct_1", fmt.Sprintf("k%d", i), "hash", at)
			if _, err := s.Idempotency.BeginIdempotent(t.Context(), rec, notStale); err != nil {
				return err
			}
		}
		return nil
	})
	for _, err := range errs {
		if err != nil {
			t.Fatalf("BeginIdempotent: %v", err)
		}
	}
	n, err := s.Idempotency.PurgeIdempotent(t.Context(), Base.Add(time.Minute))
	if err != nil || n != old {
		t.Fatalf("PurgeIdempotent: got %d, %v; want %d, nil", n, err, old)
	}
	for i := range young {
		key := fmt.Sprintf("k%d", old+i)
		if got := mustBegin(t, s.Idempotency, newRecord("acct_1", key, "hash", Base.Add(2*time.Hour)), notStale); got == nil {
			t.Errorf("key %s (young) after purge: gone, want kept", key)
		}
	}
	if n, err := s.Idempotency.PurgeIdempotent(t.Context(), Base.Add(time.Minute)); err != nil || n != 0 {
		t.Errorf("PurgeIdempotent again: got %d, %v; want 0, nil", n, err)
	}
}

// testIdempotencyExpirePayments: purging expires the keys of the payments
// that are their own records and were made before the cutoff, more than
// one write's worth at once, run after run; a payment recorded after a run
// though made shortly before its cutoff is expired by the next.
func testIdempotencyExpirePayments(t *testing.T, s Stores) {
	m := MustCreateMerchant(t, s.Merchants, "Acme")
	keyed := func(key string, at time.Time) *paygate.Payment {
		p := NewPayment(t, m.ID, at)
		p.IdempotencyKey, p.RequestHash = key, "hash-"+key
		MustCreatePayment(t, s.Payments, p)
		return p
	}
	const many = 450 // more than one write expires
	var old []*paygate.Payment
	for i := range many {
		old = append(old, keyed(fmt.Sprintf("old-%d", i), Base.Add(-3*time.Hour+time.Duration(i)*time.Millisecond)))
	}
	a := keyed("a", Base.Add(-2*time.Hour))
	b := keyed("b", Base.Add(-30*time.Minute))
	c := keyed("c", Base.Add(time.Hour))
	expired := func(p *paygate.Payment) bool {
		t.Helper()
		return MustPayment(t, s.Payments, m.ID, p.ID).RequestHash == ""
	}

	if n, err := s.Idempotency.PurgeIdempotent(t.Context(), Base.Add(-time.Hour)); err != nil || n != many+1 {
		t.Fatalf("PurgeIdempotent before Base-1h: got %d, %v; want %d", n, err, many+1)
	}
	for _, p := range append(old[:3:3], old[many-1], a) {
		if !expired(p) {
			t.Errorf("payment made at %v: key kept, want expired", p.CreatedAt)
		}
	}
	if expired(b) || expired(c) {
		t.Errorf("payments made after the cutoff: expired, want kept")
	}
	// Recorded now, made before the last cutoff (a node behind by 30 min).
	late := keyed("late", Base.Add(-90*time.Minute))
	if n, err := s.Idempotency.PurgeIdempotent(t.Context(), Base); err != nil || n != 2 {
		t.Fatalf("PurgeIdempotent before Base: got %d, %v; want 2 (b and the late one)", n, err)
	}
	if !expired(b) || !expired(late) || expired(c) {
		t.Errorf("after the second run: b expired %t, late expired %t, c expired %t; want true, true, false", expired(b), expired(late), expired(c))
	}
	if n, err := s.Idempotency.PurgeIdempotent(t.Context(), Base); err != nil || n != 0 {
		t.Errorf("PurgeIdempotent again: got %d, %v; want 0", n, err)
	}
	// The freed key names a payment that is not its record any more: a
	// new payment can be the key's record.
	again := NewPayment(t, m.ID, Base.Add(2*time.Hour))
	again.IdempotencyKey, again.RequestHash = "a", "hash-a2"
	if err := s.Payments.CreatePayment(t.Context(), again); !errors.Is(err, paygate.ErrKeyRecorded) {
		t.Errorf("CreatePayment under an expired key: got %v, want ErrKeyRecorded (the key's older payment decides)", err)
	}
}
