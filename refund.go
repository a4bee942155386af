package paygate

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"slices"
	"sync"
	"time"
)

// Refund returns amount (0 = all that is left) of a captured payment.
//
// Concurrent refunds of one payment go one after another: each reserves its
// amount on the payment (optimistic locking on its Version) before it is
// sent, so together they never exceed what is refundable. On this node the
// reservations and settlements of a payment's refunds are serialized; a
// reservation that loses a race (to another node, or to another change of
// the payment) is retried with jittered backoff for up to ConflictTimeout,
// then refused with EBUSY: nothing was sent, the merchant may retry.
func (g *Gateway) Refund(ctx context.Context, m *Merchant, id string, amount int64, reason, idempotencyKey string) (*Refund, error) {
	if len(reason) > 500 {
		return nil, ParamErrorf(EINVALID, "reason", "Reason must be at most 500 characters.")
	}
	if err := CheckFreeText("reason", reason); err != nil {
		return nil, err
	}
	stan, ref, err := g.nextSTANAndRRN(ctx)
	if err != nil {
		return nil, err
	}
	now := g.now()
	r := &Refund{
		ID: NewID("re", now), MerchantID: m.ID, Status: RefundPending, Reason: reason, STAN: stan, RRN: ref,
		IdempotencyKey: idempotencyKey,
	}
	deadline := time.Now().Add(g.conflictTimeout())
	for try := 0; ; try++ {
		p, err := g.reserveRefund(ctx, m.ID, id, amount, r)
		if errors.Is(err, ErrVersionConflict) {
			if time.Now().After(deadline) {
				g.Logger.WarnContext(ctx, "refund not reserved: the payment kept changing", LogPaymentID, id, "tries", try+1)
				return nil, Errorf(EBUSY, "Payment %s is being changed by other requests; nothing was refunded. Retry shortly.", id)
			}
			if err := conflictBackoff(ctx, try); err != nil {
				return nil, err
			}
			continue
		}
		if err != nil {
			return nil, err
		}
		return g.finishRefund(context.WithoutCancel(ctx), m, p, r)
	}
}

// reserveRefund records r as pending on the payment, its amount reserved,
// if the payment allows it. It returns ErrVersionConflict when the payment
// changed between reading and writing.
func (g *Gateway) reserveRefund(ctx context.Context, merchantID, id string, amount int64, r *Refund) (*Payment, error) {
	mu := g.refundLock(id)
	mu.Lock()
	defer mu.Unlock()
	p, err := g.Payments.Payment(ctx, merchantID, id)
	if err != nil {
		return nil, err
	}
	amt, err := p.CheckRefund(amount)
	if err != nil {
		return nil, err
	}
	now := g.now()
	r.PaymentID, r.Amount, r.Currency = p.ID, amt, p.Currency
	r.TransmittedAt, r.CreatedAt, r.UpdatedAt = now, now, now
	p.AmountRefunded += amt // reserved while in flight
	p.UpdatedAt = now
	if err := g.Payments.SaveRefund(ctx, p, r); err != nil {
		if errors.Is(err, ErrVersionConflict) {
			return nil, err
		}
		return nil, fmt.Errorf("record refund: %w", err)
	}
	return p, nil
}

// finishRefund sends a pending refund (processing code 20) and records the answer.
func (g *Gateway) finishRefund(ctx context.Context, m *Merchant, p *Payment, r *Refund) (*Refund, error) {
	pan, err := g.openPAN(p)
	if err != nil {
		return nil, err
	}
	req := g.networkRequest(m, p, NetworkRefund)
	req.PAN, req.Amount, req.STAN, req.RRN, req.TransmissionTime = pan, r.Amount, r.STAN, r.RRN, r.TransmittedAt
	var trace []TraceEntry
	resp, err := g.send(ctx, req, &trace)
	if err != nil {
		g.Logger.WarnContext(ctx, "refund in doubt, reversing", LogRefundID, r.ID, LogError, err)
		return r, g.reverseRefund(ctx, m, p, r, DeclineError(ResponseIssuerUnavailable), trace)
	}
	r.ResponseCode = resp.ResponseCode
	if !resp.Approved() {
		return r, g.settleRefund(ctx, p, r, RefundFailed, DeclineError(resp.ResponseCode), trace)
	}
	return r, g.settleRefund(ctx, p, r, RefundSucceeded, nil, trace)
}

// reverseRefund undoes a refund whose answer never came.
func (g *Gateway) reverseRefund(ctx context.Context, m *Merchant, p *Payment, r *Refund, result error, trace []TraceEntry) error {
	pan, err := g.openPAN(p)
	if err != nil {
		return err
	}
	stan, _, err := g.nextSTANAndRRN(ctx)
	if err != nil {
		return err
	}
	req := g.networkRequest(m, p, NetworkReverse)
	req.PAN, req.Amount, req.STAN, req.RRN, req.TransmissionTime = pan, r.Amount, stan, r.RRN, g.now()
	req.OriginalKind, req.OriginalSTAN, req.OriginalTime, req.OriginalAmount = NetworkRefund, r.STAN, r.TransmittedAt, r.Amount
	req.Advice, req.Repeat = true, sentBefore(append(p.Trace, trace...), NetworkReverse, r.RRN)
	if err := g.sendAccepted(ctx, req, &trace); err != nil {
		g.Logger.WarnContext(ctx, "refund reversal failed, left for recovery", LogRefundID, r.ID, LogError, err)
		g.appendTrace(ctx, p, trace)
		if result == nil {
			return fmt.Errorf("reverse refund %s: %w", r.ID, err)
		}
		return result
	}
	r.ResponseCode = ResponseIssuerUnavailable
	return g.settleRefund(ctx, p, r, RefundFailed, result, trace)
}

// settleRefund records a refund's final status on it and on its payment,
// and returns result. A refund that is no longer pending (recovery settled
// it meanwhile) is left as it is, and its recorded outcome is returned.
//
// Losing a race to another change of the payment is retried for as long as
// it takes, with jittered backoff: every lost race is another request's
// progress, and an answer from the bank, above all an approval, must be
// recorded, never left pending for recovery to reverse (the cardholder
// credited, then debited). Recovery does not take the refund meanwhile: it
// only looks at payments untouched for InDoubtAfter. Store failures are
// retried for up to ConflictTimeout; then the refund stays pending and the
// error is returned (not a final outcome: recovery settles it).
func (g *Gateway) settleRefund(ctx context.Context, p *Payment, r *Refund, status RefundStatus, result error, trace []TraceEntry) error {
	var failing time.Time
	for try := 0; ; try++ {
		err := g.saveSettlement(ctx, p.MerchantID, p.ID, r, status, trace)
		switch {
		case err == nil:
			return result
		case errors.Is(err, errSettledMeanwhile):
			if r.Status != status {
				g.Logger.WarnContext(ctx, "refund was settled meanwhile", LogRefundID, r.ID, LogPaymentID, p.ID, "status", r.Status, "answer", status)
			}
			if r.Status == RefundSucceeded {
				return nil
			}
			return DeclineError(r.ResponseCode)
		case errors.Is(err, ErrVersionConflict):
			failing = time.Time{}
		case failing.IsZero():
			failing = time.Now()
		case time.Since(failing) > g.conflictTimeout():
			return fmt.Errorf("record refund %s: %w", r.ID, err)
		}
		if err := conflictBackoff(ctx, try); err != nil {
			return fmt.Errorf("record refund %s: %w", r.ID, err)
		}
	}
}

// errSettledMeanwhile means a refund about to be settled was already.
var errSettledMeanwhile = errors.New("refund settled meanwhile")

// saveSettlement loads the payment and records r's final status on both,
// on success or when r was settled meanwhile (errSettledMeanwhile) copying
// what is recorded into r.
func (g *Gateway) saveSettlement(ctx context.Context, merchantID, id string, r *Refund, status RefundStatus, trace []TraceEntry) error {
	mu := g.refundLock(id)
	mu.Lock()
	defer mu.Unlock()
	p, err := g.Payments.Payment(ctx, merchantID, id)
	if err != nil {
		return err
	}
	i := slices.IndexFunc(p.Refunds, func(cur *Refund) bool { return cur.ID == r.ID })
	if i < 0 {
		return fmt.Errorf("refund %s is not recorded on payment %s", r.ID, id)
	}
	if cur := p.Refunds[i]; cur.Status != RefundPending {
		*r = *cur
		return errSettledMeanwhile
	}
	s := *r
	s.Status, s.UpdatedAt = status, g.now()
	p.Trace = append(p.Trace, trace...)
	if status == RefundFailed {
		p.AmountRefunded -= s.Amount
	}
	p.Status, p.UpdatedAt = p.refundStatus(), s.UpdatedAt
	if err := g.Payments.SaveRefund(ctx, p, &s); err != nil {
		return err
	}
	*r = s
	return nil
}

// refundLock returns the lock serializing, on this node, the reservations
// and settlements of the refunds of payment id (a stripe shared with other
// payments). Other nodes are kept out by the payment's Version.
func (g *Gateway) refundLock(id string) *sync.Mutex {
	h := fnv.New32a()
	h.Write([]byte(id))
	return &g.refundLocks[h.Sum32()%uint32(len(g.refundLocks))]
}
