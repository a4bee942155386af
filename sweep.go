package paygate

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// DefaultAuthorizationLifetime is how long an authorization may wait for
// its capture.
const DefaultAuthorizationLifetime = 7 * 24 * time.Hour

// ExpireAuthorizations reverses authorizations left uncaptured past their
// lifetime: the issuer releases the hold and the payment becomes expired.
func (g *Gateway) ExpireAuthorizations(ctx context.Context) (int, error) {
	life := g.AuthorizationLifetime
	if life <= 0 {
		life = DefaultAuthorizationLifetime
	}
	list, err := g.Payments.StaleAuthorizations(ctx, g.now().Add(-life), 100)
	if err != nil {
		return 0, fmt.Errorf("list stale authorizations: %w", err)
	}
	return g.voidAll(ctx, list, VoidExpired, "authorization expired")
}

// voidAll voids payments for the system, skipping those that moved on.
func (g *Gateway) voidAll(ctx context.Context, list []*Payment, reason, msg string) (int, error) {
	n := 0
	for _, p := range list {
		m, err := g.Merchants.Merchant(ctx, p.MerchantID)
		if err != nil {
			return n, fmt.Errorf("merchant of payment %s: %w", p.ID, err)
		}
		if _, err := g.void(ctx, m, p.ID, reason); err != nil {
			if ErrorCode(err) == ECONFLICT {
				continue // acknowledged, captured or changed meanwhile
			}
			return n, err
		}
		g.Logger.InfoContext(ctx, msg, LogPaymentID, p.ID, LogMerchantID, p.MerchantID)
		n++
	}
	return n, nil
}

// Recover finishes or undoes every network exchange left in doubt by a
// crash or a timeout: pending authorizations are reversed (never charged
// twice), captures and voids are sent again, pending refunds are reversed.
// It returns how many payments it settled; those still in doubt (the
// network did not accept) are moved to the back of the queue for the next
// round.
func (g *Gateway) Recover(ctx context.Context) (int, error) {
	cutoff := g.now().Add(-g.inDoubtAfter())
	list, err := g.Payments.InDoubt(ctx, cutoff, 100)
	if err != nil {
		return 0, fmt.Errorf("list payments in doubt: %w", err)
	}
	n := 0
	for _, p := range list {
		// Claim the payment first: the claim bumps its version and its
		// updated time, so of several nodes sweeping at once only one wins
		// it, and it will not be in doubt again for another InDoubtAfter —
		// the lease after which another node takes over if this one dies.
		p.UpdatedAt = g.now()
		if err := g.Payments.UpdatePayment(ctx, p); errors.Is(err, ErrVersionConflict) {
			continue // another node has it, or its own request finished
		} else if err != nil {
			return n, fmt.Errorf("claim payment %s: %w", p.ID, err)
		}
		m, err := g.Merchants.Merchant(ctx, p.MerchantID)
		if err != nil {
			return n, fmt.Errorf("merchant of payment %s: %w", p.ID, err)
		}
		log := g.Logger.With(LogPaymentID, p.ID, LogMerchantID, p.MerchantID)
		var errs []error
		switch p.Status {
		case StatusPending:
			if err = g.reverseOriginal(ctx, m, p); err != nil {
				g.saveTrace(ctx, p)
			}
			errs = append(errs, err)
			log.InfoContext(ctx, "payment in doubt: reversal", "done", err == nil, LogError, err)
		case StatusCapturing:
			// It may have gone out before: a repeat (0221).
			_, err = g.finishFollowUp(ctx, m, p, captureStep, true)
			errs = append(errs, err)
			log.InfoContext(ctx, "capture in doubt: advice sent again", "done", err == nil, LogError, err)
		case StatusVoiding:
			_, err = g.finishFollowUp(ctx, m, p, voidStep, true)
			errs = append(errs, err)
			log.InfoContext(ctx, "void in doubt: reversal sent again", "done", err == nil, LogError, err)
		}
		for _, r := range p.Refunds {
			// Only refunds themselves older than the cutoff: a younger
			// one may still be on the network.
			if r.Status == RefundPending && r.UpdatedAt.Before(cutoff) {
				if cur, err := g.Payments.Payment(ctx, p.MerchantID, p.ID); err == nil {
					p = cur
				}
				rerr := g.reverseRefund(ctx, m, p, r, nil, nil)
				errs = append(errs, rerr)
				log.InfoContext(ctx, "refund in doubt: reversal", LogRefundID, r.ID, "done", rerr == nil, LogError, rerr)
			}
		}
		if errors.Join(errs...) != nil {
			continue // still in doubt; the claim put it at the back of the queue
		}
		n++
	}
	return n, nil
}
