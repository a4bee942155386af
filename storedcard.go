package paygate

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// CreateCard vaults a card for later merchant-initiated charges, once its
// issuer has verified it (verifyCard): a card the issuer declines is
// refused with its decline and nothing is stored. The CVC, if given, goes
// to the issuer with the verification and is never stored.
func (g *Gateway) CreateCard(ctx context.Context, m *Merchant, card Card) (*StoredCard, error) {
	now := g.now()
	if err := card.Validate(now, false); err != nil {
		return nil, err
	}
	if err := g.verifyCard(ctx, m, card); err != nil {
		return nil, err
	}
	card.CVC = "" // not kept past the verification (PCI DSS 3.3.1)
	sealed, err := g.Vault.Seal(card.Number)
	if err != nil {
		return nil, fmt.Errorf("seal card: %w", err)
	}
	sc := &StoredCard{ID: NewID("card", now), MerchantID: m.ID, Summary: card.Summary(), Name: card.Name, PAN: sealed, CreatedAt: now}
	sc.Summary.Fingerprint = g.Vault.Fingerprint(card.Number)
	if err := g.Cards.CreateCard(ctx, sc); err != nil {
		return nil, fmt.Errorf("store card: %w", err)
	}
	return sc, nil
}

// verifyCard sends an account verification: an authorization of zero
// carrying the CVC, which the issuer answers from the card's status,
// expiry and CVC. A decline is returned as the decline. A verification
// that gets no answer (or never left) is refused as 91: the card is not
// stored, and nothing needs reversing, since an authorization of zero
// places no hold.
func (g *Gateway) verifyCard(ctx context.Context, m *Merchant, card Card) error {
	stan, rrn, err := g.nextSTANAndRRN(ctx)
	if err != nil {
		return err
	}
	// DE49 must name a currency; for an amount of zero any will do.
	usd, _ := LookupCurrency("USD")
	req := NetworkRequest{
		Kind: NetworkVerify, PAN: card.Number, ExpMonth: card.ExpMonth, ExpYear: card.ExpYear, CVC: card.CVC,
		Currency: usd, STAN: stan, RRN: rrn, TransmissionTime: g.now(),
		MerchantID: m.AcquirerID, MerchantName: m.Name, TerminalID: m.TerminalID, MCC: m.MCC,
	}
	var trace []TraceEntry // no payment to keep it on: the log line says what happened
	resp, err := g.send(ctx, req, &trace)
	req.CVC = ""
	log := g.Logger.With(LogMerchantID, m.ID, LogCard, MaskPAN(card.Number), LogSTAN, stan, LogRRN, rrn)
	if err != nil {
		log.WarnContext(ctx, "card verification got no answer: card refused", LogError, err)
		return DeclineError(ResponseIssuerUnavailable)
	}
	if !resp.Approved() {
		log.InfoContext(ctx, "card verification declined", LogCode, resp.ResponseCode)
		return DeclineError(resp.ResponseCode)
	}
	log.InfoContext(ctx, "card verified")
	return nil
}

// openStoredCard returns one of the merchant's stored cards, to charge, with
// its number opened from the vault. A card that is unknown (or another
// merchant's) is refused as not found on card_id, an expired one as expired.
func (g *Gateway) openStoredCard(ctx context.Context, m *Merchant, id string, now time.Time) (Card, *StoredCard, error) {
	sc, err := g.Cards.Card(ctx, m.ID, id)
	if err != nil {
		var e *Error
		if errors.As(err, &e) && e.Code == ENOTFOUND {
			return Card{}, nil, ParamErrorf(ENOTFOUND, "card_id", "No such card: %s.", sanitize(id, 40))
		}
		return Card{}, nil, err
	}
	if err := ValidateExpiry(sc.Summary.ExpMonth, sc.Summary.ExpYear, now); err != nil {
		return Card{}, nil, err
	}
	pan, err := g.Vault.Open(sc.PAN)
	if err != nil {
		return Card{}, nil, fmt.Errorf("open stored card %s: %w", sc.ID, err)
	}
	return Card{Number: pan, ExpMonth: sc.Summary.ExpMonth, ExpYear: sc.Summary.ExpYear, Name: sc.Name}, sc, nil
}

// Card returns one of the merchant's stored cards.
func (g *Gateway) Card(ctx context.Context, m *Merchant, id string) (*StoredCard, error) {
	return g.Cards.Card(ctx, m.ID, id)
}
