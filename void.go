package paygate

import (
	"context"
	"fmt"
)

// Void undoes an uncaptured authorization (releasing the hold) or an
// unsettled captured payment.
func (g *Gateway) Void(ctx context.Context, m *Merchant, id string) (*Payment, error) {
	return g.void(ctx, m, id, VoidRequested)
}

func (g *Gateway) void(ctx context.Context, m *Merchant, id, reason string) (*Payment, error) {
	p, err := g.transition(ctx, m.ID, id, func(p *Payment) error {
		if reason == VoidAckTimeout && !p.AckedAt.IsZero() {
			return Errorf(ECONFLICT, "Payment %s was acknowledged.", p.ID)
		}
		if reason == VoidExpired && p.Status != StatusAuthorized {
			return Errorf(ECONFLICT, "Payment %s is no longer an open authorization.", p.ID)
		}
		if err := p.CheckVoid(); err != nil {
			return err
		}
		p.Status, p.VoidReason = StatusVoiding, reason
		return nil
	})
	if err != nil {
		return nil, err
	}
	return pendingIsSuccess(g.finishVoid(context.WithoutCancel(ctx), m, p, false))
}

// finishVoid sends the reversal of a payment in voiding state. If the
// network does not accept it, the payment stays voiding and recovery sends
// it again.
func (g *Gateway) finishVoid(ctx context.Context, m *Merchant, p *Payment, repeat bool) (*Payment, error) {
	// A full reversal (Amount 0): the issuer releases the hold or undoes
	// whatever was posted, the whole of it.
	req, err := g.quotingRequest(ctx, m, p, NetworkReverse, 0)
	if err != nil {
		return nil, err
	}
	req.Repeat = repeat || sentBefore(p.Trace, NetworkReverse, p.RRN) // 0401
	var trace []TraceEntry
	if err := g.sendAccepted(ctx, req, &trace); err != nil {
		g.Logger.Warn("reversal not accepted, left for recovery", LogPaymentID, p.ID, LogError, err)
		if cur, terr := g.appendTrace(ctx, p, trace); terr == nil {
			p = cur
		}
		return p, fmt.Errorf("void of %s: %w", p.ID, errNotAccepted)
	}
	return g.transition(ctx, p.MerchantID, p.ID, func(p *Payment) error {
		p.Trace = append(p.Trace, trace...)
		if p.Status != StatusVoiding {
			return nil
		}
		p.Status, p.VoidedAt = StatusVoided, g.now()
		if p.VoidReason == VoidExpired {
			p.Status = StatusExpired
		}
		return nil
	})
}
