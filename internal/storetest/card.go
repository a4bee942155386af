package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/paygate/paygate"
)

var dataKeyTests = []test{
	{"RoundTrip", testDataKeyRoundTrip},
	{"One", testDataKeyOne},
	{"OneSuccessor", testDataKeyOneSuccessor},
	{"FirstTogether", testDataKeyFirstTogether},
}

// newDataKey returns a wrapped key made at the given time to succeed prev.
func newDataKey(tb testing.TB, at time.Time, prev string) paygate.WrappedKey {
	return paygate.WrappedKey{ID: paygate.NewID("dk", at), Wrapped: randomBytes(tb, 60), CreatedAt: at, Prev: prev}
}

func mustCreateDataKey(tb testing.TB, s Stores, k paygate.WrappedKey) {
	tb.Helper()
	if err := s.Cards.CreateDataKey(tb.Context(), k); err != nil {
		tb.Fatalf("CreateDataKey(%s): %v", k.ID, err)
	}
}

func testDataKeyRoundTrip(t *testing.T, s Stores) {
	if got, err := s.Cards.DataKeys(t.Context()); err != nil || len(got) != 0 {
		t.Fatalf("DataKeys on an empty store: got %d keys, %v; want none", len(got), err)
	}
	first := newDataKey(t, Base, "")
	want := []paygate.WrappedKey{first, newDataKey(t, Base.Add(time.Hour), first.ID)}
	for _, k := range want {
		mustCreateDataKey(t, s, k)
	}
	got, err := s.Cards.DataKeys(t.Context())
	if err != nil {
		t.Fatalf("DataKeys: %v", err)
	}
	CheckEqual(t, "DataKeys", got, want)
}

func testDataKeyOne(t *testing.T, s Stores) {
	first := newDataKey(t, Base, "")
	second := newDataKey(t, Base.Add(time.Minute), first.ID)
	mustCreateDataKey(t, s, first)
	mustCreateDataKey(t, s, second)
	for _, want := range []paygate.WrappedKey{first, second} {
		got, err := s.Cards.DataKey(t.Context(), want.ID)
		if err != nil {
			t.Fatalf("DataKey(%s): %v", want.ID, err)
		}
		CheckEqual(t, "DataKey", got, want)
	}
	_, err := s.Cards.DataKey(t.Context(), paygate.NewID("dk", Base))
	checkCode(t, "DataKey(unknown)", err, paygate.ENOTFOUND)
}

// testDataKeyOneSuccessor checks that a store keeps one first key and one
// successor of each key: a second is refused, and nothing of it is kept.
func testDataKeyOneSuccessor(t *testing.T, s Stores) {
	first := newDataKey(t, Base, "")
	mustCreateDataKey(t, s, first)
	if err := s.Cards.CreateDataKey(t.Context(), newDataKey(t, Base.Add(time.Second), "")); !errors.Is(err, paygate.ErrDuplicate) {
		t.Errorf("CreateDataKey of a second first key: got %v, want ErrDuplicate", err)
	}
	next := newDataKey(t, Base.Add(time.Minute), first.ID)
	mustCreateDataKey(t, s, next)
	if err := s.Cards.CreateDataKey(t.Context(), newDataKey(t, Base.Add(2*time.Minute), first.ID)); !errors.Is(err, paygate.ErrDuplicate) {
		t.Errorf("CreateDataKey of a second successor: got %v, want ErrDuplicate", err)
	}
	mustCreateDataKey(t, s, newDataKey(t, Base.Add(3*time.Minute), next.ID))
	got, err := s.Cards.DataKeys(t.Context())
	if err != nil || len(got) != 3 {
		t.Errorf("DataKeys: got %d keys, %v; want 3", len(got), err)
	}
}

// testDataKeyFirstTogether makes the first key from many nodes at once:
// exactly one is stored, the others are told ErrDuplicate.
func testDataKeyFirstTogether(t *testing.T, s Stores) {
	const n = 20
	keys := make([]paygate.WrappedKey, n)
	for i := range keys {
		keys[i] = newDataKey(t, Base.Add(time.Duration(i)*time.Millisecond), "")
	}
	won := -1
	for i, err := range race(n, func(i int) error { return s.Cards.CreateDataKey(t.Context(), keys[i]) }) {
		switch {
		case err == nil && won >= 0:
			t.Errorf("CreateDataKey #%d and #%d both stored a first key", won, i)
		case err == nil:
			won = i
		case !errors.Is(err, paygate.ErrDuplicate):
			t.Errorf("CreateDataKey #%d: got %v, want nil or ErrDuplicate", i, err)
		}
	}
	if won < 0 {
		t.Fatalf("no CreateDataKey of %d at once stored a key", n)
	}
	got, err := s.Cards.DataKeys(t.Context())
	if err != nil {
		t.Fatalf("DataKeys: %v", err)
	}
	CheckEqual(t, "DataKeys", got, keys[won:won+1])
}

var cardTests = []test{
	{"CreateGet", testCardCreateGet},
}

func testCardCreateGet(t *testing.T, s Stores) {
	m := MustCreateMerchant(t, s.Merchants, "Acme")
	other := MustCreateMerchant(t, s.Merchants, "Other")
	c := &paygate.StoredCard{
		ID:         paygate.NewID("card", Base),
		MerchantID: m.ID,
		Summary: paygate.CardSummary{
			Brand: paygate.BrandMastercard, First6: "555555", Last4: "4444", ExpMonth: 3, ExpYear: 2029,
			Fingerprint: "fp_" + paygate.RandomToken(20),
		},
		Name:      "Ada Lovelace",
		PAN:       paygate.EncryptedPAN{KeyID: "dk_1", Ciphertext: randomBytes(t, 44)},
		CreatedAt: Base,
	}
	if err := s.Cards.CreateCard(t.Context(), c); err != nil {
		t.Fatalf("CreateCard: %v", err)
	}
	got, err := s.Cards.Card(t.Context(), m.ID, c.ID)
	if err != nil {
		t.Fatalf("Card: %v", err)
	}
	CheckEqual(t, "Card", got, c)

	_, err = s.Cards.Card(t.Context(), other.ID, c.ID)
	checkCode(t, "Card(other merchant's card)", err, paygate.ENOTFOUND)
	_, err = s.Cards.Card(t.Context(), m.ID, paygate.NewID("card", Base))
	checkCode(t, "Card(unknown)", err, paygate.ENOTFOUND)
}
