package storetest

import (
	"errors"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/paygate/paygate"
)

var urlChangeTests = []test{
	{"Record", testURLChangeRecord},
	{"Together", testURLChangeTogether},
}

// mustURLChanges lists the merchant's URL changes.
func mustURLChanges(tb testing.TB, s Stores, merchantID string, limit int) []*paygate.URLChange {
	tb.Helper()
	list, err := s.Merchants.URLChanges(tb.Context(), merchantID, limit)
	if err != nil {
		tb.Fatalf("URLChanges: %v", err)
	}
	return list
}

// checkURLChanges checks the merchant's URL changes, ids aside (the store
// makes them): newest first, of one update the success URL's first.
func checkURLChanges(tb testing.TB, s Stores, merchantID string, limit int, want ...*paygate.URLChange) {
	tb.Helper()
	got := mustURLChanges(tb, s, merchantID, limit)
	for _, c := range got {
		if c.ID == "" {
			tb.Errorf("URL change %+v has no id", c)
		}
		c.ID = ""
	}
	CheckEqual(tb, "URLChanges", got, want)
}

func testURLChangeRecord(t *testing.T, s Stores) {
	m := MustCreateMerchant(t, s.Merchants, "Acme") // success and decline URLs set
	other := MustCreateMerchant(t, s.Merchants, "Other")
	oldSuccess, oldDecline := m.SuccessURL, m.DeclineURL
	checkURLChanges(t, s, m.ID, 20)

	// Settings that are not the global result URLs are not recorded.
	m.DisplayName, m.CancelURL = "Acme Tickets", "https://shop.example.com/back"
	if err := s.Merchants.UpdateSettings(t.Context(), m, "key_1", Base); err != nil {
		t.Fatalf("UpdateSettings: %v", err)
	}
	checkURLChanges(t, s, m.ID, 20)

	at1 := Base.Add(time.Minute)
	m.SuccessURL = "https://shop.example.com/thanks"
	if err := s.Merchants.UpdateSettings(t.Context(), m, "key_1", at1); err != nil {
		t.Fatalf("UpdateSettings: %v", err)
	}
	c1 := &paygate.URLChange{MerchantID: m.ID, Field: "success_url", Old: oldSuccess, New: m.SuccessURL, By: "key_1", At: at1}
	checkURLChanges(t, s, m.ID, 20, c1)

	// Both at once, one cleared: two changes, the success URL's first.
	at2 := Base.Add(2 * time.Minute)
	m.SuccessURL, m.DeclineURL = "http://localhost:8080/ok", ""
	if err := s.Merchants.UpdateSettings(t.Context(), m, "cli", at2); err != nil {
		t.Fatalf("UpdateSettings: %v", err)
	}
	c2 := &paygate.URLChange{MerchantID: m.ID, Field: "success_url", Old: c1.New, New: m.SuccessURL, By: "cli", At: at2}
	c3 := &paygate.URLChange{MerchantID: m.ID, Field: "decline_url", Old: oldDecline, New: "", By: "cli", At: at2}
	checkURLChanges(t, s, m.ID, 20, c2, c3, c1)
	checkURLChanges(t, s, m.ID, 2, c2, c3)
	checkURLChanges(t, s, other.ID, 20)

	// The old value is the stored one, not the caller's copy's.
	stale := *m
	stale.SuccessURL = "https://shop.example.com/stale"
	m.SuccessURL = "https://shop.example.com/between"
	at3, at4 := Base.Add(3*time.Minute), Base.Add(4*time.Minute)
	if err := s.Merchants.UpdateSettings(t.Context(), m, "key_2", at3); err != nil {
		t.Fatalf("UpdateSettings: %v", err)
	}
	stale.DeclineURL = "" // as stored: unchanged, not recorded
	if err := s.Merchants.UpdateSettings(t.Context(), &stale, "key_3", at4); err != nil {
		t.Fatalf("UpdateSettings: %v", err)
	}
	c4 := &paygate.URLChange{MerchantID: m.ID, Field: "success_url", Old: c2.New, New: m.SuccessURL, By: "key_2", At: at3}
	c5 := &paygate.URLChange{MerchantID: m.ID, Field: "success_url", Old: m.SuccessURL, New: stale.SuccessURL, By: "key_3", At: at4}
	checkURLChanges(t, s, m.ID, 20, c5, c4, c2, c3, c1)

	// A failed update records nothing.
	ghost := NewMerchant(t, "Ghost", Base)
	ghost.SuccessURL = "https://shop.example.com/ghost"
	checkCode(t, "UpdateSettings(unknown)", s.Merchants.UpdateSettings(t.Context(), ghost, "key_1", at4), paygate.ENOTFOUND)
	checkURLChanges(t, s, ghost.ID, 20)
}

// testURLChangeTogether has several updates of one merchant's success URL
// run at once: each records the value the one before it stored, so the
// changes make one chain from the first URL to the last.
func testURLChangeTogether(t *testing.T, s Stores) {
	m := MustCreateMerchant(t, s.Merchants, "Acme")
	first := m.SuccessURL
	const n = 6
	for i, err := range race(n, func(i int) error {
		cp := *m
		cp.SuccessURL = "https://shop.example.com/paid/" + strconv.Itoa(i)
		return s.Merchants.UpdateSettings(t.Context(), &cp, "key_"+strconv.Itoa(i), Base.Add(time.Duration(i)*time.Second))
	}) {
		if err != nil {
			t.Errorf("UpdateSettings #%d: %v", i, err)
		}
	}
	list := mustURLChanges(t, s, m.ID, 100)
	got, err := s.Merchants.Merchant(t.Context(), m.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != n {
		t.Fatalf("%d updates at once recorded %d changes, want %d", n, len(list), n)
	}
	// Follow the chain from the first URL: each change's old value is the
	// new value of exactly one other (or the first URL).
	byOld := map[string]*paygate.URLChange{}
	for _, c := range list {
		if byOld[c.Old] != nil {
			t.Errorf("two changes from %q: %q and %q (one read what another was replacing)", c.Old, byOld[c.Old].New, c.New)
		}
		byOld[c.Old] = c
	}
	at, seen := first, []string{}
	for range n {
		c := byOld[at]
		if c == nil {
			break
		}
		seen = append(seen, c.New)
		at = c.New
	}
	if len(seen) != n || at != got.SuccessURL {
		t.Errorf("the changes chain %q from %q through %d of %d, ending at %q; want all of them, ending at the stored %q",
			seen, first, len(seen), n, at, got.SuccessURL)
	}
}

var trFormTests = []test{
	{"OnePaymentPerForm", testTRFormOnePayment},
	{"Together", testTRFormTogether},
}

// testTRFormOnePayment: a transparent redirect form's idempotency key
// ("tr_" and its hash) is the merchant's for one payment only; other keys
// may repeat (the API's keys: the newest payment is found).
func testTRFormOnePayment(t *testing.T, s Stores) {
	m := MustCreateMerchant(t, s.Merchants, "Acme")
	other := MustCreateMerchant(t, s.Merchants, "Other")
	key := "tr_" + paygate.RandomToken(40)

	p := NewPayment(t, m.ID, Base)
	p.IdempotencyKey = key
	MustCreatePayment(t, s.Payments, p)
	again := NewPayment(t, m.ID, Base.Add(time.Second))
	again.IdempotencyKey = key
	if err := s.Payments.CreatePayment(t.Context(), again); !errors.Is(err, paygate.ErrDuplicate) {
		t.Errorf("a second payment under %s: got %v, want ErrDuplicate", key, err)
	}
	found, err := s.Payments.PaymentByIdempotencyKey(t.Context(), m.ID, key)
	if err != nil || found.ID != p.ID {
		t.Errorf("PaymentByIdempotencyKey: got %v, %v; want %s", found, err, p.ID)
	}
	// Another merchant's form may hash the same (it never does: its access
	// key differs), and keys that are not a form's repeat freely.
	theirs := NewPayment(t, other.ID, Base)
	theirs.IdempotencyKey = key
	MustCreatePayment(t, s.Payments, theirs)
	for i := range 2 {
		q := NewPayment(t, m.ID, Base.Add(time.Duration(i+2)*time.Second))
		q.IdempotencyKey = "ik_repeated"
		MustCreatePayment(t, s.Payments, q)
	}
}

// testTRFormTogether: of payments created at once under one form's key,
// one is recorded.
func testTRFormTogether(t *testing.T, s Stores) {
	m := MustCreateMerchant(t, s.Merchants, "Acme")
	key := "tr_" + paygate.RandomToken(40)
	const n = 6
	errs := race(n, func(int) error {
		p := NewPayment(t, m.ID, Base)
		p.IdempotencyKey = key
		return s.Payments.CreatePayment(t.Context(), p)
	})
	ok := slices.IndexFunc(errs, func(err error) bool { return err == nil })
	for i, err := range errs {
		if i != ok && !errors.Is(err, paygate.ErrDuplicate) {
			t.Errorf("CreatePayment #%d: got %v, want ErrDuplicate (#%d was recorded)", i, err, ok)
		}
	}
	list, _, err := s.Payments.Payments(t.Context(), paygate.PaymentFilter{MerchantID: m.ID, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	if ok < 0 || len(list) != 1 {
		t.Errorf("%d payments at once under one form's key: %d recorded (first success #%d), want 1", n, len(list), ok)
	}
}
