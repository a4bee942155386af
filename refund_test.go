package paygate_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/paygate/paygate"
)

// refund refunds amount of payment id as the fixture's merchant.
func (f *fixture) refund(id string, amount int64) (*paygate.Refund, error) {
	return f.g.Refund(context.Background(), f.merchant, id, amount, "", "")
}

func TestRefundPartialThenFull(t *testing.T) {
	f := newFixture(t)
	p, err := f.pay(t, true)
	if err != nil {
		t.Fatal(err)
	}
	r, err := f.refund(p.ID, 2000)
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != paygate.RefundSucceeded || r.Amount != 2000 || r.ResponseCode != paygate.ResponseApproved {
		t.Errorf("got refund %s of %d answered %q, want succeeded 2000 answered 00", r.Status, r.Amount, r.ResponseCode)
	}
	reqs := f.requests()
	req := reqs[len(reqs)-1]
	if req.Kind != paygate.NetworkRefund || req.Amount != 2000 || req.PAN != testCard.Number || req.CVC != "" ||
		req.RRN != r.RRN || req.STAN != r.STAN || req.RRN == p.RRN {
		t.Errorf("refund request %+v, want a refund of 2000 to the card under the refund's own STAN and RRN", req)
	}
	got := f.mem.get(p.ID)
	if got.Status != paygate.StatusPartiallyRefunded || got.AmountRefunded != 2000 || len(got.Refunds) != 1 || got.Refunds[0].Status != paygate.RefundSucceeded {
		t.Fatalf("stored %s refunded %d with %d refunds, want partially_refunded 2000 with one succeeded", got.Status, got.AmountRefunded, len(got.Refunds))
	}

	// Amount 0: all that is left.
	r, err = f.refund(p.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	if r.Amount != 3000 || r.Status != paygate.RefundSucceeded {
		t.Errorf("got refund %s of %d, want succeeded 3000 (the rest)", r.Status, r.Amount)
	}
	if got := f.mem.get(p.ID); got.Status != paygate.StatusRefunded || got.AmountRefunded != 5000 || len(got.Refunds) != 2 {
		t.Errorf("stored %s refunded %d with %d refunds, want refunded 5000 with two", got.Status, got.AmountRefunded, len(got.Refunds))
	}
	if _, err := f.refund(p.ID, 0); paygate.ErrorCode(err) != paygate.ECONFLICT {
		t.Errorf("refund of a refunded payment: got %v, want state_conflict", err)
	}
}

func TestOverRefundRefused(t *testing.T) {
	f := newFixture(t)
	p, err := f.pay(t, true)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.refund(p.ID, 5001); paygate.ErrorCode(err) != paygate.EAMOUNTTOOLARGE {
		t.Fatalf("got %v, want amount_too_large", err)
	}
	if _, err := f.refund(p.ID, 4000); err != nil {
		t.Fatal(err)
	}
	if _, err := f.refund(p.ID, 1001); paygate.ErrorCode(err) != paygate.EAMOUNTTOOLARGE {
		t.Fatalf("got %v, want amount_too_large: only 1000 is left", err)
	}
	for _, req := range f.requests() {
		if req.Kind == paygate.NetworkRefund && req.Amount != 4000 {
			t.Errorf("the network saw a refund of %d, want only the one of 4000", req.Amount)
		}
	}
	if got := f.mem.get(p.ID); got.AmountRefunded != 4000 || len(got.Refunds) != 1 {
		t.Errorf("stored refunded %d with %d refunds, want 4000 with one", got.AmountRefunded, len(got.Refunds))
	}
}

func TestRefundOfAnAuthorizationRefused(t *testing.T) {
	f := newFixture(t)
	p, err := f.pay(t, false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.refund(p.ID, 0); paygate.ErrorCode(err) != paygate.ECONFLICT {
		t.Errorf("got %v, want state_conflict: an authorization is voided, not refunded", err)
	}
	if n := len(f.requests()); n != 1 {
		t.Errorf("got %d requests, want only the authorization", n)
	}
}

func TestRefundDeclined(t *testing.T) {
	f := newFixture(t)
	p, err := f.pay(t, true)
	if err != nil {
		t.Fatal(err)
	}
	f.answer = func(req paygate.NetworkRequest) (paygate.NetworkResponse, error) {
		return paygate.NetworkResponse{ResponseCode: paygate.ResponseDoNotHonor}, nil
	}
	r, err := f.refund(p.ID, 2000)
	var e *paygate.Error
	if !errors.As(err, &e) || e.Code != paygate.EDECLINED || e.ResponseCode != paygate.ResponseDoNotHonor {
		t.Fatalf("got %v, want a 05 decline", err)
	}
	if r == nil || r.Status != paygate.RefundFailed || r.ResponseCode != paygate.ResponseDoNotHonor {
		t.Fatalf("got refund %+v, want failed with 05", r)
	}
	got := f.mem.get(p.ID)
	if got.Status != paygate.StatusCaptured || got.AmountRefunded != 0 || len(got.Refunds) != 1 || got.Refunds[0].Status != paygate.RefundFailed {
		t.Errorf("stored %s refunded %d, want captured with nothing refunded and the refund failed", got.Status, got.AmountRefunded)
	}
	if n := len(f.requests()); n != 2 {
		t.Errorf("got %d requests, want the sale and the refund: a decline is not reversed", n)
	}
}

func TestRefundTimeoutReversed(t *testing.T) {
	f := newFixture(t)
	p, err := f.pay(t, true)
	if err != nil {
		t.Fatal(err)
	}
	f.answer = func(req paygate.NetworkRequest) (paygate.NetworkResponse, error) {
		if req.Kind == paygate.NetworkRefund {
			return paygate.NetworkResponse{}, fmt.Errorf("link: %w", paygate.ErrNetworkTimeout)
		}
		return paygate.NetworkResponse{ResponseCode: paygate.ResponseApproved}, nil
	}
	r, err := f.refund(p.ID, 2000)
	var e *paygate.Error
	if !errors.As(err, &e) || e.ResponseCode != paygate.ResponseIssuerUnavailable {
		t.Fatalf("got %v, want a 91 decline", err)
	}
	reqs := f.requests()
	if len(reqs) != 3 {
		t.Fatalf("got %d requests, want the sale, the refund and its reversal", len(reqs))
	}
	refund, rev := reqs[1], reqs[2]
	if rev.Kind != paygate.NetworkReverse || !rev.Advice || rev.OriginalKind != paygate.NetworkRefund ||
		rev.RRN != refund.RRN || rev.OriginalSTAN != refund.STAN || rev.OriginalAmount != 2000 || rev.STAN == refund.STAN {
		t.Errorf("reversal %+v does not quote the refund", rev)
	}
	if r.Status != paygate.RefundFailed || r.ResponseCode != paygate.ResponseIssuerUnavailable {
		t.Errorf("got refund %s answered %q, want failed 91", r.Status, r.ResponseCode)
	}
	got := f.mem.get(p.ID)
	if got.Status != paygate.StatusCaptured || got.AmountRefunded != 0 {
		t.Errorf("stored %s refunded %d, want captured with nothing refunded", got.Status, got.AmountRefunded)
	}
	if n := len(got.Trace); n < 6 || got.Trace[n-2].Kind != "reverse" || got.Trace[n-1].Event != paygate.TraceReceived {
		t.Errorf("trace %+v, want the refund and its reversal recorded", got.Trace)
	}
}

// TestRefundReversalLeftForRecovery: a refund whose answer never came and
// whose reversal is not accepted stays pending, its amount reserved, until
// recovery reverses it.
func TestRefundReversalLeftForRecovery(t *testing.T) {
	f := newFixture(t)
	p, err := f.pay(t, true)
	if err != nil {
		t.Fatal(err)
	}
	f.answer = func(req paygate.NetworkRequest) (paygate.NetworkResponse, error) {
		return paygate.NetworkResponse{}, fmt.Errorf("link: %w", paygate.ErrNetworkTimeout)
	}
	if _, err := f.refund(p.ID, 2000); paygate.ErrorCode(err) != paygate.EDECLINED {
		t.Fatalf("got %v, want a decline", err)
	}
	got := f.mem.get(p.ID)
	if got.AmountRefunded != 2000 || len(got.Refunds) != 1 || got.Refunds[0].Status != paygate.RefundPending {
		t.Fatalf("stored refunded %d with refunds %+v, want 2000 reserved by a pending refund", got.AmountRefunded, got.Refunds)
	}
	f.answer = func(req paygate.NetworkRequest) (paygate.NetworkResponse, error) {
		return paygate.NetworkResponse{ResponseCode: paygate.ResponseApproved}, nil
	}
	f.clock.Add(time.Minute)
	if n, err := f.g.Recover(context.Background()); n != 1 || err != nil {
		t.Fatalf("recover: %d %v, want 1", n, err)
	}
	got = f.mem.get(p.ID)
	if got.AmountRefunded != 0 || got.Refunds[0].Status != paygate.RefundFailed || got.Status != paygate.StatusCaptured {
		t.Errorf("stored %s refunded %d with the refund %s, want captured, nothing refunded, the refund failed", got.Status, got.AmountRefunded, got.Refunds[0].Status)
	}
	reqs := f.requests()
	if last := reqs[len(reqs)-1]; last.Kind != paygate.NetworkReverse || last.OriginalKind != paygate.NetworkRefund || !last.Repeat {
		t.Errorf("last request %+v, want the refund's reversal sent again (0421)", last)
	}
}
