package paygate_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/paygate/paygate"
	"github.com/paygate/paygate/mock"
)

// memCards is a CardStore in memory, built on mock.CardStore.
type memCards struct {
	mu    sync.Mutex
	cards map[string]paygate.StoredCard
}

func (m *memCards) store() *mock.CardStore {
	m.cards = map[string]paygate.StoredCard{}
	return &mock.CardStore{
		CreateCardFn: func(_ context.Context, c *paygate.StoredCard) error {
			m.mu.Lock()
			defer m.mu.Unlock()
			m.cards[c.ID] = *c
			return nil
		},
		CardFn: func(_ context.Context, merchantID, id string) (*paygate.StoredCard, error) {
			m.mu.Lock()
			defer m.mu.Unlock()
			c, ok := m.cards[id]
			if !ok || c.MerchantID != merchantID {
				return nil, paygate.Errorf(paygate.ENOTFOUND, "No such card: %s.", id)
			}
			return &c, nil
		},
	}
}

func (m *memCards) count() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.cards)
}

// newCardFixture is a fixture with a card store.
func newCardFixture(t *testing.T) (*fixture, *memCards) {
	t.Helper()
	f := newFixture(t)
	cards := &memCards{}
	f.g.Cards = cards.store()
	return f, cards
}

func TestCardVerificationDeclineStoresNothing(t *testing.T) {
	for _, tt := range []struct {
		name   string
		answer func() (paygate.NetworkResponse, error)
		code   string
	}{
		{"declined", func() (paygate.NetworkResponse, error) {
			return paygate.NetworkResponse{ResponseCode: paygate.ResponseIncorrectCVC}, nil
		}, paygate.ResponseIncorrectCVC},
		{"no answer", func() (paygate.NetworkResponse, error) {
			return paygate.NetworkResponse{}, fmt.Errorf("link: %w", paygate.ErrNetworkTimeout)
		}, paygate.ResponseIssuerUnavailable},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f, cards := newCardFixture(t)
			f.answer = func(paygate.NetworkRequest) (paygate.NetworkResponse, error) { return tt.answer() }
			sc, err := f.g.CreateCard(context.Background(), f.merchant, testCard)
			var e *paygate.Error
			if !errors.As(err, &e) || e.Code != paygate.EDECLINED || e.ResponseCode != tt.code || sc != nil {
				t.Fatalf("got %v %v, want a %s decline and no card", sc, err, tt.code)
			}
			if n := cards.count(); n != 0 {
				t.Errorf("stored %d cards, want none", n)
			}
			reqs := f.requests()
			if len(reqs) != 1 || reqs[0].Kind != paygate.NetworkVerify || reqs[0].Amount != 0 || reqs[0].CVC != testCard.CVC ||
				reqs[0].PAN != testCard.Number || reqs[0].MerchantID != f.merchant.AcquirerID {
				t.Errorf("got requests %v, want one verification of zero carrying the card and CVC", reqs)
			}
		})
	}
}

func TestCardApprovedStoresSealedPAN(t *testing.T) {
	f, cards := newCardFixture(t)
	c := testCard
	c.Name = "Ada Lovelace"
	sc, err := f.g.CreateCard(context.Background(), f.merchant, c)
	if err != nil {
		t.Fatal(err)
	}
	sealed, _ := f.g.Vault.Seal(testCard.Number)
	stored := cards.cards[sc.ID]
	if string(stored.PAN.Ciphertext) != string(sealed.Ciphertext) || stored.PAN.KeyID != sealed.KeyID {
		t.Errorf("stored PAN %+v, want what the vault sealed", stored.PAN)
	}
	if stored.MerchantID != f.merchant.ID || stored.Name != "Ada Lovelace" || stored.Summary.Last4 != "4242" ||
		stored.Summary.Fingerprint != f.g.Vault.Fingerprint(testCard.Number) || !strings.HasPrefix(stored.ID, "card_") {
		t.Errorf("stored card %+v, want the merchant's card with its summary and fingerprint", stored)
	}
	if s := fmt.Sprintf("%+v", stored); strings.Contains(s, testCard.Number) {
		t.Errorf("the stored card holds the plain card number")
	}
	got, err := f.g.Card(context.Background(), f.merchant, sc.ID)
	if err != nil || got.ID != sc.ID {
		t.Errorf("Card: got %v %v, want the stored card", got, err)
	}
}

func TestChargeStoredCard(t *testing.T) {
	f, _ := newCardFixture(t)
	sc, err := f.g.CreateCard(context.Background(), f.merchant, testCard)
	if err != nil {
		t.Fatal(err)
	}
	p, err := f.g.CreatePayment(context.Background(), f.merchant, paygate.PaymentRequest{Amount: 1200, Currency: "EUR", CardID: sc.ID, Capture: true})
	if err != nil {
		t.Fatal(err)
	}
	reqs := f.requests()
	if len(reqs) != 2 {
		t.Fatalf("got %d requests, want the verification and the sale", len(reqs))
	}
	sale := reqs[1]
	if sale.Kind != paygate.NetworkSale || sale.PAN != testCard.Number || sale.CVC != "" || sale.Amount != 1200 ||
		sale.ExpMonth != testCard.ExpMonth || sale.ExpYear != testCard.ExpYear {
		t.Errorf("sale %+v, want the stored card's number and expiry, no CVC", sale)
	}
	got := f.mem.get(p.ID)
	if got.Status != paygate.StatusCaptured || got.CardID != sc.ID || string(got.PAN.Ciphertext) != string(sc.PAN.Ciphertext) ||
		got.Card.Fingerprint != sc.Summary.Fingerprint {
		t.Errorf("stored %s card %q, want captured, charged to %s with its sealed number", got.Status, got.CardID, sc.ID)
	}

	// Another merchant's card, or none, is not found.
	_, err = f.g.CreatePayment(context.Background(), f.merchant, paygate.PaymentRequest{Amount: 1200, Currency: "EUR", CardID: "card_nosuch"})
	var e *paygate.Error
	if !errors.As(err, &e) || e.Code != paygate.ENOTFOUND || e.Param != "card_id" {
		t.Errorf("unknown card: got %v, want not_found on card_id", err)
	}
	if n := len(f.requests()); n != 2 {
		t.Errorf("got %d requests, want nothing sent for an unknown card", n)
	}
}
