package paygate_test

import (
	"strings"
	"testing"
	"time"

	"github.com/paygate/paygate"
)

// testPayment returns a payment of 100.00 USD in the given status, with the
// captured and refunded amounts a payment in that status would have.
func testPayment(tb testing.TB, status paygate.PaymentStatus) *paygate.Payment {
	tb.Helper()
	p := &paygate.Payment{ID: "pay_test", Status: status, Amount: 10000, Currency: MustCurrency(tb, "USD")}
	switch status {
	case paygate.StatusCaptured, paygate.StatusVoiding:
		p.AmountCaptured = 10000
	case paygate.StatusPartiallyRefunded:
		p.AmountCaptured, p.AmountRefunded = 10000, 2500
	case paygate.StatusRefunded:
		p.AmountCaptured, p.AmountRefunded = 10000, 10000
	}
	return p
}

var allStatuses = []paygate.PaymentStatus{
	paygate.StatusPending, paygate.StatusAuthorized, paygate.StatusCaptured, paygate.StatusPartiallyRefunded,
	paygate.StatusRefunded, paygate.StatusVoided, paygate.StatusDeclined, paygate.StatusFailed,
	paygate.StatusCapturing, paygate.StatusVoiding, paygate.StatusExpired,
}

// outcome is what a check returns: the code of its error ("" for none) and,
// if it succeeded, the amount.
type outcome struct {
	code   string
	amount int64
}

func codeOf(err error) string {
	if err == nil {
		return ""
	}
	return paygate.ErrorCode(err)
}

// TestPaymentStateMachine runs every check, with amount 0 (full or
// remaining), over every status.
func TestPaymentStateMachine(t *testing.T) {
	const conflict = paygate.ECONFLICT
	settled := time.Date(2026, 3, 15, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name       string
		p          func(testing.TB) *paygate.Payment
		capture    outcome
		void       string
		refund     outcome
		ack        string
		refundable int64
	}{
		{"pending", status(paygate.StatusPending), outcome{conflict, 0}, conflict, outcome{conflict, 0}, conflict, 0},
		{"authorized", status(paygate.StatusAuthorized), outcome{"", 10000}, "", outcome{conflict, 0}, "", 0},
		{"captured", status(paygate.StatusCaptured), outcome{conflict, 0}, "", outcome{"", 10000}, "", 10000},
		{"captured, settled", func(tb testing.TB) *paygate.Payment {
			p := testPayment(tb, paygate.StatusCaptured)
			p.SettledAt = settled
			return p
		}, outcome{conflict, 0}, conflict, outcome{"", 10000}, "", 10000},
		{"captured partially", func(tb testing.TB) *paygate.Payment {
			p := testPayment(tb, paygate.StatusCaptured)
			p.AmountCaptured = 6000
			return p
		}, outcome{conflict, 0}, "", outcome{"", 6000}, "", 6000},
		{"captured, refund in flight", func(tb testing.TB) *paygate.Payment {
			// The gateway reserves a refund's amount before sending it and
			// leaves the status captured until the answer arrives.
			p := testPayment(tb, paygate.StatusCaptured)
			p.AmountRefunded = 3000
			return p
		}, outcome{conflict, 0}, conflict, outcome{"", 7000}, "", 7000},
		{"partially refunded", status(paygate.StatusPartiallyRefunded), outcome{conflict, 0}, conflict, outcome{"", 7500}, "", 7500},
		{"partially refunded, settled", func(tb testing.TB) *paygate.Payment {
			p := testPayment(tb, paygate.StatusPartiallyRefunded)
			p.SettledAt = settled
			return p
		}, outcome{conflict, 0}, conflict, outcome{"", 7500}, "", 7500},
		{"refunded", status(paygate.StatusRefunded), outcome{conflict, 0}, conflict, outcome{conflict, 0}, "", 0},
		{"voided", status(paygate.StatusVoided), outcome{conflict, 0}, conflict, outcome{conflict, 0}, conflict, 0},
		{"voided, ack timeout", func(tb testing.TB) *paygate.Payment {
			p := testPayment(tb, paygate.StatusVoided)
			p.VoidReason = paygate.VoidAckTimeout
			return p
		}, outcome{conflict, 0}, conflict, outcome{conflict, 0}, conflict, 0},
		{"declined", status(paygate.StatusDeclined), outcome{conflict, 0}, conflict, outcome{conflict, 0}, conflict, 0},
		{"failed", status(paygate.StatusFailed), outcome{conflict, 0}, conflict, outcome{conflict, 0}, conflict, 0},
		{"capturing", status(paygate.StatusCapturing), outcome{conflict, 0}, conflict, outcome{conflict, 0}, "", 0},
		{"expired", status(paygate.StatusExpired), outcome{conflict, 0}, conflict, outcome{conflict, 0}, conflict, 0},
		{"voiding", status(paygate.StatusVoiding), outcome{conflict, 0}, conflict, outcome{conflict, 0}, conflict, 0},
	}
	seen := map[paygate.PaymentStatus]bool{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := tt.p(t)
			seen[p.Status] = true
			before := *p

			amt, err := p.CheckCapture(0)
			if got := (outcome{codeOf(err), amt}); got != tt.capture {
				t.Errorf("CheckCapture(0): got %+v (%v), want %+v", got, err, tt.capture)
			}
			err = p.CheckVoid()
			if got := codeOf(err); got != tt.void {
				t.Errorf("CheckVoid: got %q (%v), want %q", got, err, tt.void)
			}
			amt, err = p.CheckRefund(0)
			if got := (outcome{codeOf(err), amt}); got != tt.refund {
				t.Errorf("CheckRefund(0): got %+v (%v), want %+v", got, err, tt.refund)
			}
			err = p.CheckAck()
			if got := codeOf(err); got != tt.ack {
				t.Errorf("CheckAck: got %q (%v), want %q", got, err, tt.ack)
			}
			if got := p.Refundable(); got != tt.refundable {
				t.Errorf("Refundable: got %d, want %d", got, tt.refundable)
			}
			if p.Status != before.Status || p.AmountCaptured != before.AmountCaptured || p.AmountRefunded != before.AmountRefunded {
				t.Errorf("checks changed the payment: got %+v, want %+v", *p, before)
			}
		})
	}
	for _, s := range allStatuses {
		if !seen[s] {
			t.Errorf("status %q not covered", s)
		}
	}
}

func status(s paygate.PaymentStatus) func(testing.TB) *paygate.Payment {
	return func(tb testing.TB) *paygate.Payment { return testPayment(tb, s) }
}

// TestPaymentConflictMessages checks the sentences that tell a merchant what
// to do instead.
func TestPaymentConflictMessages(t *testing.T) {
	settled := testPayment(t, paygate.StatusCaptured)
	settled.SettledAt = time.Now()
	ackTimeout := testPayment(t, paygate.StatusVoided)
	ackTimeout.VoidReason = paygate.VoidAckTimeout
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"second capture", func() error { _, err := testPayment(t, paygate.StatusCaptured).CheckCapture(0); return err }(), "already been captured"},
		{"void after settlement", settled.CheckVoid(), "refund"},
		{"refund before capture", func() error { _, err := testPayment(t, paygate.StatusAuthorized).CheckRefund(0); return err }(), "void"},
		{"second full refund", func() error { _, err := testPayment(t, paygate.StatusRefunded).CheckRefund(0); return err }(), "fully refunded"},
		{"second void", testPayment(t, paygate.StatusVoided).CheckVoid(), "already been voided"},
		{"ack after ack timeout", ackTimeout.CheckAck(), "not acknowledged in time"},
		{"declined", testPayment(t, paygate.StatusDeclined).CheckVoid(), "declined"},
	}
	for _, tt := range tests {
		e := MustPaygateError(t, tt.err)
		if e.Code != paygate.ECONFLICT {
			t.Errorf("%s: code: got %q, want %q", tt.name, e.Code, paygate.ECONFLICT)
		}
		if !strings.Contains(e.Message, tt.want) {
			t.Errorf("%s: message: got %q, want it to contain %q", tt.name, e.Message, tt.want)
		}
		if !strings.Contains(e.Message, "pay_test") {
			t.Errorf("%s: message: got %q, want it to name the payment", tt.name, e.Message)
		}
	}
}

func TestCheckCaptureAmount(t *testing.T) {
	tests := []struct {
		amount    int64
		want      int64
		wantCode  string
		wantParam string
	}{
		{0, 10000, "", ""},
		{1, 1, "", ""},
		{5000, 5000, "", ""},
		{10000, 10000, "", ""},
		{10001, 0, paygate.EAMOUNTTOOLARGE, "amount"},
		{paygate.MaxAmount, 0, paygate.EAMOUNTTOOLARGE, "amount"},
		{paygate.MaxAmount + 1, 0, paygate.EAMOUNT, "amount"},
		{-1, 0, paygate.EAMOUNT, "amount"},
	}
	for _, tt := range tests {
		p := testPayment(t, paygate.StatusAuthorized)
		got, err := p.CheckCapture(tt.amount)
		if tt.wantCode == "" {
			if err != nil || got != tt.want {
				t.Errorf("CheckCapture(%d): got %d, %v, want %d, nil", tt.amount, got, err, tt.want)
			}
			continue
		}
		e := MustPaygateError(t, err)
		if e.Code != tt.wantCode || e.Param != tt.wantParam || got != 0 {
			t.Errorf("CheckCapture(%d): got %d, code %q param %q, want 0, code %q param %q", tt.amount, got, e.Code, e.Param, tt.wantCode, tt.wantParam)
		}
	}
}

func TestCheckCaptureAmountTooLargeMessage(t *testing.T) {
	p := testPayment(t, paygate.StatusAuthorized)
	_, err := p.CheckCapture(10001)
	e := MustPaygateError(t, err)
	for _, want := range []string{"100.01", "100.00"} {
		if !strings.Contains(e.Message, want) {
			t.Errorf("message: got %q, want it to contain %q", e.Message, want)
		}
	}
}

func TestCheckRefundAmount(t *testing.T) {
	tests := []struct {
		name     string
		status   paygate.PaymentStatus
		captured int64
		refunded int64
		amount   int64
		want     int64
		wantCode string
	}{
		{"full", paygate.StatusCaptured, 10000, 0, 0, 10000, ""},
		{"partial", paygate.StatusCaptured, 10000, 0, 2500, 2500, ""},
		{"exactly all", paygate.StatusCaptured, 10000, 0, 10000, 10000, ""},
		{"above captured", paygate.StatusCaptured, 10000, 0, 10001, 0, paygate.EAMOUNTTOOLARGE},
		{"above partial capture", paygate.StatusCaptured, 6000, 0, 6001, 0, paygate.EAMOUNTTOOLARGE},
		{"all of partial capture", paygate.StatusCaptured, 6000, 0, 0, 6000, ""},
		{"remaining", paygate.StatusPartiallyRefunded, 10000, 2500, 0, 7500, ""},
		{"exactly remaining", paygate.StatusPartiallyRefunded, 10000, 2500, 7500, 7500, ""},
		{"above remaining", paygate.StatusPartiallyRefunded, 10000, 2500, 7501, 0, paygate.EAMOUNTTOOLARGE},
		{"one more cent", paygate.StatusPartiallyRefunded, 10000, 9999, 0, 1, ""},
		{"negative", paygate.StatusCaptured, 10000, 0, -5, 0, paygate.EAMOUNT},
		{"too large for DE4", paygate.StatusCaptured, 10000, 0, paygate.MaxAmount + 1, 0, paygate.EAMOUNT},
		{"all in flight", paygate.StatusCaptured, 10000, 10000, 0, 0, paygate.EAMOUNT},
		{"nothing left in flight", paygate.StatusCaptured, 10000, 10000, 1, 0, paygate.EAMOUNTTOOLARGE},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := testPayment(t, tt.status)
			p.AmountCaptured, p.AmountRefunded = tt.captured, tt.refunded
			got, err := p.CheckRefund(tt.amount)
			if tt.wantCode == "" {
				if err != nil || got != tt.want {
					t.Fatalf("CheckRefund(%d): got %d, %v, want %d, nil", tt.amount, got, err, tt.want)
				}
				return
			}
			e := MustPaygateError(t, err)
			if e.Code != tt.wantCode || got != 0 {
				t.Errorf("CheckRefund(%d): got %d, code %q, want 0, code %q", tt.amount, got, e.Code, tt.wantCode)
			}
			if e.Param != "amount" {
				t.Errorf("Param: got %q, want %q", e.Param, "amount")
			}
		})
	}
}

func TestPaymentStatusInDoubt(t *testing.T) {
	for _, s := range allStatuses {
		want := s == paygate.StatusPending || s == paygate.StatusCapturing || s == paygate.StatusVoiding
		if got := s.InDoubt(); got != want {
			t.Errorf("%s.InDoubt(): got %v, want %v", s, got, want)
		}
	}
}

func TestPaymentApproved(t *testing.T) {
	tests := []struct {
		authCode, responseCode string
		want                   bool
	}{
		{"123456", "00", true},
		{"", "00", false},
		{"123456", "05", false},
		{"", "", false},
	}
	for _, tt := range tests {
		p := &paygate.Payment{AuthCode: tt.authCode, ResponseCode: tt.responseCode}
		if got := p.Approved(); got != tt.want {
			t.Errorf("Approved(%q, %q): got %v, want %v", tt.authCode, tt.responseCode, got, tt.want)
		}
	}
}
