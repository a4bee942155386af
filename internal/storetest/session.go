package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/paygate/paygate"
)

var sessionTests = []test{
	{"CreateGet", testSessionCreateGet},
	{"FormKey", testSessionFormKey},
	{"Update", testSessionUpdate},
	{"UpdateTogether", testSessionUpdateTogether},
}

// NewSession returns an open session of 42.00 USD created (and last
// updated) at the given time, started by the API.
func NewSession(tb testing.TB, merchantID string, created time.Time) *paygate.Session {
	tb.Helper()
	return &paygate.Session{
		ID:            "cs_" + paygate.RandomToken(32),
		MerchantID:    merchantID,
		Status:        paygate.SessionOpen,
		Model:         paygate.ModelRedirect,
		Amount:        4200,
		Currency:      MustCurrency(tb, "USD"),
		OrderID:       "order-" + paygate.RandomDigits(6),
		Description:   "Two tickets",
		ReturnURL:     "https://shop.example.com/paid?cart=7",
		CancelURL:     "https://shop.example.com/cart",
		Capture:       true,
		CustomerEmail: "ada@example.com",
		Metadata:      map[string]string{"channel": "web", "cart": "7"},
		ExpiresAt:     created.Add(paygate.DefaultSessionLifetime),
		CreatedAt:     created,
		UpdatedAt:     created,
	}
}

// MustCreateSession stores ss.
func MustCreateSession(tb testing.TB, s paygate.SessionStore, ss *paygate.Session) {
	tb.Helper()
	if err := s.CreateSession(tb.Context(), ss); err != nil {
		tb.Fatalf("CreateSession(%s): %v", ss.ID, err)
	}
}

// MustSession loads a session.
func MustSession(tb testing.TB, s paygate.SessionStore, merchantID, id string) *paygate.Session {
	tb.Helper()
	ss, err := s.Session(tb.Context(), merchantID, id)
	if err != nil {
		tb.Fatalf("Session(%q, %s): %v", merchantID, id, err)
	}
	return ss
}

func copySession(ss *paygate.Session) *paygate.Session {
	c := *ss
	return &c
}

func testSessionCreateGet(t *testing.T, s Stores) {
	m := MustCreateMerchant(t, s.Merchants, "Acme")
	other := MustCreateMerchant(t, s.Merchants, "Other")

	// Every column set, whatever the state machine would allow.
	full := NewSession(t, m.ID, Base)
	full.Model, full.Capture, full.Currency = paygate.ModelProxy, false, MustCurrency(t, "JPY")
	full.FormKey = "form-" + paygate.RandomToken(20)
	full.Attempts, full.Paying, full.PayingSince, full.PaymentID = 2, true, Base.Add(time.Minute), paygate.NewID("pay", Base)
	full.Sequence, full.Outcome, full.Status = 2, paygate.OutcomeApproved, paygate.SessionComplete
	full.CompletedAt, full.AckedAt, full.UpdatedAt = Base.Add(2*time.Minute), Base.Add(3*time.Minute), Base.Add(3*time.Minute)
	// Only what a session needs.
	bare := &paygate.Session{ID: "cs_" + paygate.RandomToken(32), MerchantID: m.ID, Status: paygate.SessionOpen,
		Model: paygate.ModelRedirect, Amount: 1, Currency: MustCurrency(t, "EUR"), ReturnURL: "https://shop.example.com/",
		ExpiresAt: Base.Add(time.Hour), CreatedAt: Base, UpdatedAt: Base}

	for _, ss := range []*paygate.Session{full, bare} {
		MustCreateSession(t, s.Sessions, ss)
		if ss.Version != 1 {
			t.Errorf("Version after CreateSession: got %d, want 1", ss.Version)
		}
		CheckEqual(t, "Session(merchant, id)", MustSession(t, s.Sessions, m.ID, ss.ID), ss)
		CheckEqual(t, "Session(\"\", id)", MustSession(t, s.Sessions, "", ss.ID), ss)
		_, err := s.Sessions.Session(t.Context(), other.ID, ss.ID)
		checkCode(t, "Session(another merchant's id)", err, paygate.ENOTFOUND)
	}

	for _, merchantID := range []string{m.ID, ""} {
		_, err := s.Sessions.Session(t.Context(), merchantID, "cs_"+paygate.RandomToken(32))
		checkCode(t, "Session(unknown)", err, paygate.ENOTFOUND)
	}

	again := NewSession(t, other.ID, Base)
	again.ID = full.ID
	if err := s.Sessions.CreateSession(t.Context(), again); !errors.Is(err, paygate.ErrDuplicate) {
		t.Errorf("CreateSession with a taken id: got %v, want ErrDuplicate", err)
	}
	CheckEqual(t, "Session after a duplicate id", MustSession(t, s.Sessions, "", full.ID), full)
}

func testSessionFormKey(t *testing.T, s Stores) {
	m := MustCreateMerchant(t, s.Merchants, "Acme")
	other := MustCreateMerchant(t, s.Merchants, "Other")
	key := "form-" + paygate.RandomToken(20)

	first := NewSession(t, m.ID, Base)
	first.FormKey = key
	MustCreateSession(t, s.Sessions, first)
	got, err := s.Sessions.SessionByFormKey(t.Context(), m.ID, key)
	if err != nil {
		t.Fatalf("SessionByFormKey: %v", err)
	}
	CheckEqual(t, "SessionByFormKey", got, first)

	second := NewSession(t, m.ID, Base.Add(time.Second))
	second.FormKey = key
	if err := s.Sessions.CreateSession(t.Context(), second); !errors.Is(err, paygate.ErrDuplicate) {
		t.Errorf("CreateSession with the merchant's form key taken: got %v, want ErrDuplicate", err)
	}
	if _, err := s.Sessions.Session(t.Context(), m.ID, second.ID); err == nil {
		t.Errorf("Session(duplicate form key): got it stored, want it rolled back")
	}

	// The same key is another merchant's own; sessions started by the
	// API (no key) never collide.
	theirs := NewSession(t, other.ID, Base)
	theirs.FormKey = key
	MustCreateSession(t, s.Sessions, theirs)
	if got, err := s.Sessions.SessionByFormKey(t.Context(), other.ID, key); err != nil || got.ID != theirs.ID {
		t.Errorf("SessionByFormKey(other merchant): got %v, %v; want %s", got, err, theirs.ID)
	}
	if got, err := s.Sessions.SessionByFormKey(t.Context(), m.ID, key); err != nil || got.ID != first.ID {
		t.Errorf("SessionByFormKey after another merchant used the key: got %v, %v; want %s", got, err, first.ID)
	}
	for i := range 2 {
		MustCreateSession(t, s.Sessions, NewSession(t, m.ID, Base.Add(time.Duration(i)*time.Second)))
	}

	_, err = s.Sessions.SessionByFormKey(t.Context(), m.ID, "")
	checkCode(t, "SessionByFormKey(\"\")", err, paygate.ENOTFOUND)
	_, err = s.Sessions.SessionByFormKey(t.Context(), m.ID, "form-unknown")
	checkCode(t, "SessionByFormKey(unknown)", err, paygate.ENOTFOUND)
}

func testSessionUpdate(t *testing.T, s Stores) {
	m := MustCreateMerchant(t, s.Merchants, "Acme")
	ss := NewSession(t, m.ID, Base)
	ss.FormKey = "form-1"
	MustCreateSession(t, s.Sessions, ss)
	keep := NewSession(t, m.ID, Base)
	MustCreateSession(t, s.Sessions, keep)
	stale := copySession(ss)

	// Paying, then paid.
	ss.Attempts, ss.Paying, ss.PayingSince, ss.UpdatedAt = 1, true, Base.Add(time.Minute), Base.Add(time.Minute)
	if err := s.Sessions.UpdateSession(t.Context(), ss); err != nil {
		t.Fatalf("UpdateSession: %v", err)
	}
	if ss.Version != 2 {
		t.Errorf("Version after UpdateSession: got %d, want 2", ss.Version)
	}
	CheckEqual(t, "Session after paying", MustSession(t, s.Sessions, m.ID, ss.ID), ss)

	ss.Paying, ss.PayingSince, ss.PaymentID = false, time.Time{}, paygate.NewID("pay", Base)
	ss.Status, ss.Outcome, ss.Sequence = paygate.SessionComplete, paygate.OutcomeApproved, 1
	ss.CompletedAt, ss.AckedAt, ss.UpdatedAt = Base.Add(2*time.Minute), Base.Add(3*time.Minute), Base.Add(3*time.Minute)
	ss.Metadata = nil
	if err := s.Sessions.UpdateSession(t.Context(), ss); err != nil {
		t.Fatalf("UpdateSession again: %v", err)
	}
	if ss.Version != 3 {
		t.Errorf("Version after a second UpdateSession: got %d, want 3", ss.Version)
	}
	want := copySession(ss)
	CheckEqual(t, "Session after paid", MustSession(t, s.Sessions, m.ID, ss.ID), want)

	// A copy from before either update loses, and changes nothing.
	stale.Status, stale.Outcome = paygate.SessionCanceled, paygate.OutcomeCanceled
	if err := s.Sessions.UpdateSession(t.Context(), stale); !errors.Is(err, paygate.ErrVersionConflict) {
		t.Errorf("UpdateSession of a stale copy: got %v, want ErrVersionConflict", err)
	}
	if stale.Version != 1 {
		t.Errorf("Version of a stale copy after a lost update: got %d, want 1 (unchanged)", stale.Version)
	}
	CheckEqual(t, "Session after a stale update", MustSession(t, s.Sessions, m.ID, ss.ID), want)
	CheckEqual(t, "untouched session", MustSession(t, s.Sessions, m.ID, keep.ID), keep)

	// Its form is still the session's.
	if got, err := s.Sessions.SessionByFormKey(t.Context(), m.ID, "form-1"); err != nil || got.ID != ss.ID {
		t.Errorf("SessionByFormKey after updates: got %v, %v; want %s", got, err, ss.ID)
	}

	ghost := NewSession(t, m.ID, Base)
	ghost.Version = 1
	if err := s.Sessions.UpdateSession(t.Context(), ghost); err == nil {
		t.Errorf("UpdateSession(unknown): got nil, want an error")
	}
}

// testSessionUpdateTogether has many submits claim the same session at
// once: exactly one wins (PaySession counts on it).
func testSessionUpdateTogether(t *testing.T, s Stores) {
	m := MustCreateMerchant(t, s.Merchants, "Acme")
	ss := NewSession(t, m.ID, Base)
	MustCreateSession(t, s.Sessions, ss)
	const n = 10
	copies := make([]*paygate.Session, n)
	for i := range copies {
		c := copySession(ss)
		c.Attempts, c.Paying, c.PayingSince, c.UpdatedAt = 1, true, Base.Add(time.Duration(i)*time.Second), Base.Add(time.Minute)
		copies[i] = c
	}
	winner := -1
	for i, err := range race(n, func(i int) error { return s.Sessions.UpdateSession(t.Context(), copies[i]) }) {
		switch {
		case err == nil && winner >= 0:
			t.Errorf("UpdateSession #%d and #%d from the same version: both succeeded, want one", winner, i)
		case err == nil:
			winner = i
		case !errors.Is(err, paygate.ErrVersionConflict):
			t.Errorf("UpdateSession #%d: got %v, want nil or ErrVersionConflict", i, err)
		}
	}
	if winner < 0 {
		t.Fatalf("UpdateSession from the same version: none of %d succeeded, want one", n)
	}
	CheckEqual(t, "Session after the race", MustSession(t, s.Sessions, m.ID, ss.ID), copies[winner])
}
