package paygate

import (
	"context"
	"fmt"
)

// Ack records the merchant's acknowledgment that it received the approval
// (and so fulfils the order); until then, an approval that requires one is
// voided when its window passes (ExpireUnacknowledged).
func (g *Gateway) Ack(ctx context.Context, m *Merchant, id string) (*Payment, error) {
	return g.transition(ctx, m.ID, id, func(p *Payment) error {
		if err := p.CheckAck(); err != nil {
			return err
		}
		if p.AckedAt.IsZero() {
			p.AckedAt = g.now()
		}
		return nil
	})
}

// ExpireUnacknowledged voids approvals whose acknowledgment window passed,
// so nobody is charged for an order the merchant never saw.
func (g *Gateway) ExpireUnacknowledged(ctx context.Context) (int, error) {
	list, err := g.Payments.AckOverdue(ctx, g.now(), 100)
	if err != nil {
		return 0, fmt.Errorf("list overdue acknowledgments: %w", err)
	}
	return g.voidAll(ctx, list, VoidAckTimeout, "payment voided: not acknowledged in time")
}
