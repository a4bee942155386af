package paygate

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
)

// reverseOriginal sends a full reversal of the payment's original request
// and, on success, marks the payment failed.
func (g *Gateway) reverseOriginal(ctx context.Context, m *Merchant, p *Payment) error {
	req, err := g.quotingRequest(ctx, m, p, NetworkReverse, p.Amount)
	if err != nil {
		return err
	}
	// A reversal advice (0420): stored (the payment stays pending) and
	// forwarded until the network takes it; again as 0421.
	req.Advice, req.Repeat = true, sentBefore(p.Trace, NetworkReverse, p.RRN)
	if err := g.sendAccepted(ctx, req, &p.Trace); err != nil {
		return fmt.Errorf("reverse payment %s: %w", p.ID, err)
	}
	d := LookupDecline(ResponseIssuerUnavailable)
	p.Status, p.ResponseCode, p.DeclineCode, p.DeclineReason = StatusFailed, d.ResponseCode, d.Code, d.Reason
	p.UpdatedAt = g.now()
	if err := g.Payments.UpdatePayment(ctx, p); err != nil {
		return fmt.Errorf("record reversal: %w", err)
	}
	return nil
}

// reverseInBackground takes over an authorization left in doubt by a
// network timeout: the merchant gets its decline at once and the reversal
// goes on without it.
//
// The payment stays pending in the store until the reversal is accepted,
// so whoever finishes it is safe against everyone else: first this node
// claims it the way Recover does, with a version-checked save (of its
// trace too) that also renews its lease — no sweeper, on any node, takes it
// before it has been quiet for InDoubtAfter, which is longer than a
// reversal may take. If the claim is lost, another node already has it. If
// the reversal fails, or this node stops or dies, the payment is still
// pending and the sweeper reverses it once the lease has run out.
func (g *Gateway) reverseInBackground(ctx context.Context, m *Merchant, p *Payment, log *slog.Logger) {
	p.UpdatedAt = g.now()
	if err := g.Payments.UpdatePayment(ctx, p); errors.Is(err, ErrVersionConflict) {
		log.InfoContext(ctx, "payment in doubt taken over by recovery meanwhile")
		return
	} else if err != nil {
		log.WarnContext(ctx, "claim payment in doubt, left for recovery", LogError, err)
		return
	}
	// A copy of its own: the caller goes on to answer with p.
	cp := *p
	cp.Trace = slices.Clone(p.Trace)
	blog := log // the background's context is not the request's: name it
	if id := RequestID(ctx); id != "" {
		blog = log.With(LogRequestID, id)
	}
	started := g.bg.start(func(ctx context.Context) {
		if err := g.reverseOriginal(ctx, m, &cp); err != nil {
			blog.WarnContext(ctx, "reversal failed, left for recovery", LogError, err)
			g.saveTrace(context.WithoutCancel(ctx), &cp)
			return
		}
		blog.InfoContext(ctx, "payment in doubt reversed")
	})
	if !started {
		log.WarnContext(ctx, "shutting down: reversal left for recovery")
	}
}
