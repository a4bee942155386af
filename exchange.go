package paygate

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// send carries a request to the acquirer and records both legs on trace.
func (g *Gateway) send(ctx context.Context, req NetworkRequest, trace *[]TraceEntry) (NetworkResponse, error) {
	start := g.now()
	e := TraceEntry{At: start, Event: TraceSent, Kind: req.Kind.String(), MTI: req.MTI(), STAN: req.STAN, RRN: req.RRN,
		Card: MaskPAN(req.PAN), Amount: req.Amount, Currency: req.Currency.Code}
	if req.Kind == NetworkReverse {
		e.Amount = req.OriginalAmount
		e.Detail = "reversal of " + req.OriginalKind.String() + " STAN " + req.OriginalSTAN
	} else if req.Channel == ChannelMOTO {
		e.Detail = "mail/telephone order"
	}
	*trace = append(*trace, e)
	t0 := time.Now()
	resp, err := g.Acquirer.Send(ctx, req)
	g.observer().Exchange(req.Kind, resp.ResponseCode, err, time.Since(t0))
	end := g.now()
	back := TraceEntry{At: end, Kind: e.Kind, STAN: req.STAN, RRN: req.RRN, Millis: end.Sub(start).Milliseconds()}
	if err != nil {
		back.Event, back.Detail = TraceNoAnswer, "no answer"
		switch {
		case errors.Is(err, ErrNotSent):
			back.Detail = "not sent: no link to the acquirer"
		case !errors.Is(err, ErrNetworkTimeout):
			back.Detail = "link error"
		}
	} else {
		back.Event, back.MTI, back.ResponseCode, back.AuthCode = TraceReceived, ResponseMTI(e.MTI), resp.ResponseCode, resp.AuthCode
		back.Detail = LookupDecline(resp.ResponseCode).Reason
		if resp.Approved() {
			back.Detail = "approved"
		}
	}
	*trace = append(*trace, back)
	return resp, err
}

// errNotAccepted means the network answered a reversal or an advice with
// something other than 00: it has not been applied and must be sent again.
var errNotAccepted = errors.New("not accepted by the network")

// sendAccepted sends a reversal or a capture advice and succeeds only if the
// network answered 00.
func (g *Gateway) sendAccepted(ctx context.Context, req NetworkRequest, trace *[]TraceEntry) error {
	resp, err := g.send(ctx, req, trace)
	if err != nil {
		return err
	}
	if !resp.Approved() {
		return fmt.Errorf("%s answered %s: %w", req.Kind, resp.ResponseCode, errNotAccepted)
	}
	return nil
}

// networkRequest fills the parts of a request every message carries.
func (g *Gateway) networkRequest(m *Merchant, p *Payment, kind NetworkKind) NetworkRequest {
	return NetworkRequest{
		Kind:             kind,
		Amount:           p.Amount,
		Currency:         p.Currency,
		STAN:             p.STAN,
		RRN:              p.RRN,
		TransmissionTime: p.TransmittedAt,
		MerchantID:       m.AcquirerID,
		MerchantName:     m.Name,
		TerminalID:       m.TerminalID,
		MCC:              m.MCC,
		Channel:          p.Channel,
		ExpMonth:         p.Card.ExpMonth,
		ExpYear:          p.Card.ExpYear,
	}
}

// openPAN decrypts the payment's card number for a follow-up message.
func (g *Gateway) openPAN(p *Payment) (string, error) {
	pan, err := g.Vault.Open(p.PAN)
	if err != nil {
		return "", fmt.Errorf("open card of payment %s: %w", p.ID, err)
	}
	return pan, nil
}

// quotingRequest builds a capture or reversal quoting the payment's original.
func (g *Gateway) quotingRequest(ctx context.Context, m *Merchant, p *Payment, kind NetworkKind, amount int64) (NetworkRequest, error) {
	pan, err := g.openPAN(p)
	if err != nil {
		return NetworkRequest{}, err
	}
	stan, _, err := g.nextSTANAndRRN(ctx)
	if err != nil {
		return NetworkRequest{}, err
	}
	req := g.networkRequest(m, p, kind)
	req.PAN = pan
	req.Amount = amount
	req.STAN = stan
	req.TransmissionTime = g.now()
	req.AuthCode = p.AuthCode
	req.OriginalKind = NetworkAuthorize
	if p.CaptureRequested {
		req.OriginalKind = NetworkSale
	}
	req.OriginalSTAN = p.STAN
	req.OriginalTime = p.TransmittedAt
	req.OriginalAmount = p.Amount
	return req, nil
}

// A followUpStep is a capture or a void: a message quoting the approval,
// recorded on the payment as in flight before it goes out, that
// finishFollowUp sends and records.
type followUpStep struct {
	name     string                         // in errors: what was not accepted
	kind     NetworkKind                    // the message
	inFlight PaymentStatus                  // the payment's status while the message is on its way
	unacked  string                         // the log line when the network does not accept it
	amount   func(p *Payment) int64         // the message's amount
	done     func(p *Payment, at time.Time) // records the final status and when it was reached
}

// finishFollowUp sends the message of step for a payment in step's
// in-flight status (again, when repeat or when the trace shows it went out
// before) and, once the network accepts it, moves the payment to step's
// final status. If the network does not accept it, the payment stays in
// flight for recovery to send again, and errNotAccepted is returned for
// recovery to count (Capture and Void show the payment instead).
func (g *Gateway) finishFollowUp(ctx context.Context, m *Merchant, p *Payment, step followUpStep, repeat bool) (*Payment, error) {
	req, err := g.quotingRequest(ctx, m, p, step.kind, step.amount(p))
	if err != nil {
		return nil, err
	}
	req.Repeat = repeat || sentBefore(p.Trace, step.kind, p.RRN)
	var trace []TraceEntry
	if err := g.sendAccepted(ctx, req, &trace); err != nil {
		g.Logger.WarnContext(ctx, step.unacked, LogPaymentID, p.ID, LogError, err)
		if cur, terr := g.appendTrace(ctx, p, trace); terr == nil {
			p = cur
		}
		return p, fmt.Errorf("%s of %s: %w", step.name, p.ID, errNotAccepted)
	}
	return g.transition(ctx, p.MerchantID, p.ID, func(p *Payment) error {
		p.Trace = append(p.Trace, trace...)
		if p.Status != step.inFlight {
			return nil
		}
		step.done(p, g.now())
		return nil
	})
}

// pendingIsSuccess turns "sent but not acknowledged yet" into success: the
// change is recorded and recovery will deliver it; the merchant sees the
// payment as capturing or voiding meanwhile.
func pendingIsSuccess(p *Payment, err error) (*Payment, error) {
	if err != nil && p != nil && p.Status.InDoubt() {
		return p, nil
	}
	return p, err
}

// appendTrace saves trace entries on the payment, whatever its state.
func (g *Gateway) appendTrace(ctx context.Context, p *Payment, trace []TraceEntry) (*Payment, error) {
	if len(trace) == 0 {
		return p, nil
	}
	return g.transition(ctx, p.MerchantID, p.ID, func(cur *Payment) error {
		cur.Trace = append(cur.Trace, trace...)
		return nil
	})
}

// saveTrace saves p (with its trace) as it is; a lost race only loses
// footprints, never money.
func (g *Gateway) saveTrace(ctx context.Context, p *Payment) {
	p.UpdatedAt = g.now()
	if err := g.Payments.UpdatePayment(ctx, p); err != nil {
		g.Logger.WarnContext(ctx, "save trace", LogPaymentID, p.ID, LogError, err)
	}
}
