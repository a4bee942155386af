package paygate

import (
	"context"
	"slices"
)

// A request retried under the idempotency key of an earlier attempt that
// held the key and never answered (its node died mid-request) resumes that
// attempt: it looks for what the attempt did before acting, so that nothing
// is done twice. The Resume methods are CreatePayment, Capture, Void and
// Refund for such a retry; they take the same arguments and answer the same
// way.

// ErrInDoubt is returned by ResumePayment and ResumeRefund while the
// earlier attempt's exchange with the network is unanswered: whether it
// took the money is not known yet, and acting again could take it twice.
// Nothing is returned with it; the request is to be retried later.
var ErrInDoubt = Errorf(EIDEMPOTENCYBUSY, "An earlier attempt with this Idempotency-Key is still being resolved; retry in a minute.")

// ResumePayment is CreatePayment for a retry of req.IdempotencyKey. If the
// earlier attempt recorded a payment, that payment is returned as
// CreatePayment returned it: with a DeclineError when it was declined or
// failed, or no payment and ErrInDoubt while its authorization is in doubt.
// If it recorded none, the payment is created now.
func (g *Gateway) ResumePayment(ctx context.Context, m *Merchant, req PaymentRequest) (*Payment, error) {
	p, err := g.Payments.PaymentByIdempotencyKey(ctx, m.ID, req.IdempotencyKey)
	switch {
	case ErrorCode(err) == ENOTFOUND:
		return g.CreatePayment(ctx, m, req)
	case err != nil:
		return nil, err
	}
	return ReplayPayment(p)
}

// ReplayPayment returns a payment that a request made as CreatePayment
// returned it: with a DeclineError when it was declined or failed, or no
// payment and ErrInDoubt while an exchange of its is in doubt. The payment
// is as it is now (captured, refunded or voided since, say).
func ReplayPayment(p *Payment) (*Payment, error) {
	switch {
	case p.Status.InDoubt():
		return nil, ErrInDoubt
	case p.Status == StatusDeclined || p.Status == StatusFailed:
		return p, DeclineError(p.ResponseCode)
	}
	return p, nil
}

// ResumeRefund is Refund for a retry of idempotencyKey. If the earlier
// attempt recorded a refund, that refund is returned as Refund returned it:
// with a DeclineError when it failed, or no refund and ErrInDoubt while it
// is pending. If it recorded none, the refund is made now.
func (g *Gateway) ResumeRefund(ctx context.Context, m *Merchant, id string, amount int64, reason, idempotencyKey string) (*Refund, error) {
	r, err := g.Payments.RefundByIdempotencyKey(ctx, m.ID, idempotencyKey)
	switch {
	case ErrorCode(err) == ENOTFOUND:
		return g.Refund(ctx, m, id, amount, reason, idempotencyKey)
	case err != nil:
		return nil, err
	case r.Status == RefundPending:
		return nil, ErrInDoubt
	case r.Status == RefundFailed:
		return r, DeclineError(r.ResponseCode)
	}
	return r, nil
}

// ResumeCapture is Capture for a retry: if the payment already stands where
// a capture takes it (capturing, captured, or refunded since), the earlier
// attempt captured it and the payment is returned as it is; otherwise it is
// captured now.
func (g *Gateway) ResumeCapture(ctx context.Context, m *Merchant, id string, amount int64) (*Payment, error) {
	if p := g.paymentIn(ctx, m, id, StatusCapturing, StatusCaptured, StatusPartiallyRefunded, StatusRefunded); p != nil {
		return p, nil
	}
	return g.Capture(ctx, m, id, amount)
}

// ResumeVoid is Void for a retry: if the payment is already voiding or
// voided, the earlier attempt voided it and the payment is returned as it
// is; otherwise it is voided now.
func (g *Gateway) ResumeVoid(ctx context.Context, m *Merchant, id string) (*Payment, error) {
	if p := g.paymentIn(ctx, m, id, StatusVoiding, StatusVoided); p != nil {
		return p, nil
	}
	return g.Void(ctx, m, id)
}

// paymentIn returns the payment if it stands in one of the statuses, else
// nil (a failed lookup too: the action that follows meets it again and
// reports it).
func (g *Gateway) paymentIn(ctx context.Context, m *Merchant, id string, statuses ...PaymentStatus) *Payment {
	p, err := g.Payments.Payment(ctx, m.ID, id)
	if err != nil || !slices.Contains(statuses, p.Status) {
		return nil
	}
	return p
}
