package storetest

import (
	"testing"
	"time"

	"github.com/paygate/paygate"
)

var dataKeyTests = []test{
	{"RoundTrip", testDataKeyRoundTrip},
}

func testDataKeyRoundTrip(t *testing.T, s Stores) {
	if got, err := s.Cards.DataKeys(t.Context()); err != nil || len(got) != 0 {
		t.Fatalf("DataKeys on an empty store: got %d keys, %v; want none", len(got), err)
	}
	want := []paygate.WrappedKey{
		{ID: paygate.NewID("dk", Base), Wrapped: randomBytes(t, 60), CreatedAt: Base},
		{ID: paygate.NewID("dk", Base.Add(time.Hour)), Wrapped: randomBytes(t, 60), CreatedAt: Base.Add(time.Hour)},
	}
	for _, k := range want {
		if err := s.Cards.CreateDataKey(t.Context(), k); err != nil {
			t.Fatalf("CreateDataKey(%s): %v", k.ID, err)
		}
	}
	got, err := s.Cards.DataKeys(t.Context())
	if err != nil {
		t.Fatalf("DataKeys: %v", err)
	}
	CheckEqual(t, "DataKeys", got, want)
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
