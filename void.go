package paygate

import (
	"context"
	"time"
)

// Void undoes an uncaptured authorization (releasing the hold) or an
// unsettled captured payment.
func (g *Gateway) Void(ctx context.Context, m *Merchant, id string) (*Payment, error) {
	return g.void(ctx, m, id, VoidRequested)
}

// void records the payment as voiding, for reason, and sends the reversal.
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
	return pendingIsSuccess(g.finishFollowUp(context.WithoutCancel(ctx), m, p, voidStep, false))
}

// voidStep finishes a void with a full reversal (0400; 0401 when sent
// again): the issuer releases the hold or undoes whatever was posted, the
// whole of it. If the network does not accept it, the payment stays voiding
// and recovery sends it again. A void for an authorization left uncaptured
// too long ends expired rather than voided.
var voidStep = followUpStep{
	name:     "void",
	kind:     NetworkReverse,
	inFlight: StatusVoiding,
	unacked:  "reversal not accepted, left for recovery",
	amount:   func(*Payment) int64 { return 0 },
	done: func(p *Payment, at time.Time) {
		p.Status, p.VoidedAt = StatusVoided, at
		if p.VoidReason == VoidExpired {
			p.Status = StatusExpired
		}
	},
}
