package paygate

import (
	"context"
	"time"
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
	return pendingIsSuccess(g.finishFollowUp(context.WithoutCancel(ctx), m, p, captureStep, false))
}

// captureStep finishes a capture with an advice (0220; 0221 when sent
// again) of the captured amount. An advice cannot be declined; if it is not
// acknowledged the payment stays capturing and recovery sends it again.
var captureStep = followUpStep{
	name:     "capture",
	kind:     NetworkCapture,
	inFlight: StatusCapturing,
	unacked:  "capture advice not acknowledged, left for recovery",
	amount:   func(p *Payment) int64 { return p.AmountCaptured },
	done:     func(p *Payment, at time.Time) { p.Status, p.CapturedAt = StatusCaptured, at },
}
