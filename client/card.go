package client

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// Card is a card as the server shows it: never the full number. A payment's
// Card carries Brand, First6, Last4, ExpMonth, ExpYear and Fingerprint; a
// stored card (from CreateCard) has all fields.
type Card struct {
	ID          string    `json:"id,omitempty"` // "card_..."
	Object      string    `json:"object,omitempty"`
	Brand       string    `json:"brand"` // "visa", "mastercard", "amex", ...
	First6      string    `json:"first6"`
	Last4       string    `json:"last4"`
	ExpMonth    int       `json:"exp_month"`
	ExpYear     int       `json:"exp_year"`
	Fingerprint string    `json:"fingerprint"` // the same for the same number
	Name        string    `json:"name,omitempty"`
	CreatedAt   time.Time `json:"created_at,omitzero"`
}

// CardParams is a card as the cardholder typed it, to pay with
// (PaymentParams.Card) or to store (CreateCard).
//
// Its number and CVC never leave the client except in the request itself:
// fmt's verbs (%v, %+v, %#v, %s, ...), json.Marshal and hence log/slog all
// see the number masked to its first 6 and last 4 digits and the CVC as
// "***".
type CardParams struct {
	Number   string // the PAN; spaces and dashes are ignored
	ExpMonth int    // 1-12
	ExpYear  int    // four digits, such as 2030
	CVC      string // optional when storing a card
	Name     string // the cardholder's name

	// IdempotencyKey is used by CreateCard; see PaymentParams.
	IdempotencyKey string
}

// cardWire is CardParams as the server reads it; the only place the full
// number is encoded.
type cardWire struct {
	Number   string `json:"number"`
	ExpMonth int    `json:"exp_month"`
	ExpYear  int    `json:"exp_year"`
	CVC      string `json:"cvc,omitempty"`
	Name     string `json:"name,omitempty"`
}

func (p *CardParams) wire() *cardWire {
	if p == nil {
		return nil
	}
	return &cardWire{
		Number:   digits(p.Number),
		ExpMonth: p.ExpMonth,
		ExpYear:  p.ExpYear,
		CVC:      p.CVC,
		Name:     p.Name,
	}
}

// masked is CardParams with nothing secret left in it.
func (p CardParams) masked() cardWire {
	w := cardWire{Number: maskPAN(p.Number), ExpMonth: p.ExpMonth, ExpYear: p.ExpYear, Name: p.Name}
	if p.CVC != "" {
		w.CVC = "***"
	}
	return w
}

// String shows the card with its number masked and its CVC hidden.
func (p CardParams) String() string {
	m := p.masked()
	s := fmt.Sprintf("{Number:%s ExpMonth:%d ExpYear:%d", m.Number, m.ExpMonth, m.ExpYear)
	if m.CVC != "" {
		s += " CVC:" + m.CVC
	}
	if m.Name != "" {
		s += " Name:" + m.Name
	}
	return s + "}"
}

// GoString is String in Go syntax, for %#v.
func (p CardParams) GoString() string {
	m := p.masked()
	return fmt.Sprintf("client.CardParams{Number:%q, ExpMonth:%d, ExpYear:%d, CVC:%q, Name:%q, IdempotencyKey:%q}",
		m.Number, m.ExpMonth, m.ExpYear, m.CVC, m.Name, p.IdempotencyKey)
}

// Format makes every fmt verb print the masked form, not only %v and %s:
// without it %d or %x would walk the struct and print the digits.
func (p CardParams) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		fmt.Fprint(f, p.GoString())
		return
	}
	fmt.Fprint(f, p.String())
}

// MarshalJSON encodes the card masked, so that logging CardParams (or a
// PaymentParams holding one) as JSON does not leak it.
func (p CardParams) MarshalJSON() ([]byte, error) {
	return json.Marshal(p.masked())
}

// digits drops the spaces and dashes people type into card numbers.
func digits(pan string) string {
	return strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' {
			return -1
		}
		return r
	}, pan)
}

// maskPAN keeps the first 6 and last 4 digits of a number long enough to be
// a PAN and hides everything of anything shorter.
func maskPAN(pan string) string {
	d := digits(pan)
	if len(d) < 13 {
		return strings.Repeat("*", len(d))
	}
	return d[:6] + strings.Repeat("*", len(d)-10) + d[len(d)-4:]
}

// CreateCard stores a card in the gateway's vault and returns it; pay with
// it later by setting PaymentParams.CardID to its ID. The gateway first has
// the issuer verify the card (with the CVC, if given; no money is held): a
// card the issuer declines is refused with a card_error (IsDeclined) and
// not stored.
func (c *Client) CreateCard(ctx context.Context, p CardParams) (*Card, error) {
	card := new(Card)
	if err := c.post(ctx, "/v1/cards", p.wire(), p.IdempotencyKey, card); err != nil {
		return nil, err
	}
	return card, nil
}

// GetCard returns the stored card with the given ID.
func (c *Client) GetCard(ctx context.Context, id string) (*Card, error) {
	if id == "" {
		return nil, fmt.Errorf("paygate: empty card id")
	}
	card := new(Card)
	if err := c.get(ctx, "/v1/cards/"+url.PathEscape(id), nil, card); err != nil {
		return nil, err
	}
	return card, nil
}
