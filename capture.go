package paygate

import (
	"context"
	"fmt"
)

// Capture captures an authorization, fully (amount 0) or partly; the rest
// of the hold is released.
func (g *Gateway) Capture(ctx context.Context, m *Merchant, id string, amount int64) (*Payment, error) {
	p, err := g.transition(ctx, m.ID, id, func(p *Payment) error {
		amt, err := p.CheckCapture(amount)
		if err != nil {
			return err
		}
		p.Status, p.AmountCaptured = StatusCapturing, amt
		return nil
	})
	if err != nil {
		return nil, err
	}
	return pendingIsSuccess(g.finishCapture(context.WithoutCancel(ctx), m, p, false))
}

// finishCapture sends the capture advice of a payment in capturing state.
// An advice cannot be declined; if it is not acknowledged the payment stays
// capturing and recovery sends it again (errNotAccepted or the network
// error is returned for recovery to count; Capture shows the payment).
func (g *Gateway) finishCapture(ctx context.Context, m *Merchant, p *Payment, repeat bool) (*Payment, error) {
	req, err := g.quotingRequest(ctx, m, p, NetworkCapture, p.AmountCaptured)
	if err != nil {
		return nil, err
	}
	req.Repeat = repeat || sentBefore(p.Trace, NetworkCapture, p.RRN) // 0221
	var trace []TraceEntry
	if err := g.sendAccepted(ctx, req, &trace); err != nil {
		g.Logger.Warn("capture advice not acknowledged, left for recovery", LogPaymentID, p.ID, LogError, err)
		if cur, terr := g.appendTrace(ctx, p, trace); terr == nil {
			p = cur
		}
		return p, fmt.Errorf("capture of %s: %w", p.ID, errNotAccepted)
	}
	return g.transition(ctx, p.MerchantID, p.ID, func(p *Payment) error {
		p.Trace = append(p.Trace, trace...)
		if p.Status != StatusCapturing {
			return nil
		}
		p.Status, p.CapturedAt = StatusCaptured, g.now()
		return nil
	})
}
