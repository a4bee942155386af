package paygate_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/paygate/paygate"
	"github.com/paygate/paygate/mock"
)

// resumeGateway is a gateway over store whose acquirer approves everything
// and counts what it was sent.
func resumeGateway(t *testing.T, store *mock.PaymentStore, sent *int) (*paygate.Gateway, *paygate.Merchant) {
	t.Helper()
	clock := paygate.NewFixedClock(time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC))
	m, err := paygate.NewMerchant("Shop", "", clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	g := paygate.NewGateway()
	g.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	g.Clock = clock
	g.Payments = store
	g.Vault = mock.ReversibleVault()
	g.Acquirer = &mock.Acquirer{SendFn: func(context.Context, paygate.NetworkRequest) (paygate.NetworkResponse, error) {
		*sent++
		return paygate.NetworkResponse{ResponseCode: "00", AuthCode: "A1B2C3"}, nil
	}}
	return g, m
}

var errResumeStore = errors.New("store down")

func TestResumePayment(t *testing.T) {
	found := func(st paygate.PaymentStatus, code string) func(context.Context, string, string) (*paygate.Payment, error) {
		return func(_ context.Context, merchantID, key string) (*paygate.Payment, error) {
			if key != "ik_key" {
				t.Errorf("looked up key %q, want ik_key", key)
			}
			return &paygate.Payment{ID: "pay_earlier", MerchantID: merchantID, Status: st, ResponseCode: code}, nil
		}
	}
	for _, tt := range []struct {
		name     string
		lookup   func(context.Context, string, string) (*paygate.Payment, error)
		wantID   string // "" for no payment, "new" for a payment made now
		wantCode string // of the error, "" for none
		wantResp string // the decline's response code
		wantErr  error  // the error itself, where it must be that one
	}{
		{"approved", found(paygate.StatusCaptured, "00"), "pay_earlier", "", "", nil},
		{"refunded since", found(paygate.StatusRefunded, "00"), "pay_earlier", "", "", nil},
		{"declined", found(paygate.StatusDeclined, "51"), "pay_earlier", paygate.EDECLINED, "51", nil},
		{"failed", found(paygate.StatusFailed, "91"), "pay_earlier", paygate.EDECLINED, "91", nil},
		{"authorization in doubt", found(paygate.StatusPending, ""), "", paygate.EIDEMPOTENCYBUSY, "", paygate.ErrInDoubt},
		{"capture in doubt", found(paygate.StatusCapturing, "00"), "", paygate.EIDEMPOTENCYBUSY, "", paygate.ErrInDoubt},
		{"lookup fails", func(context.Context, string, string) (*paygate.Payment, error) { return nil, errResumeStore }, "", paygate.EINTERNAL, "", errResumeStore},
		{"none recorded", func(context.Context, string, string) (*paygate.Payment, error) {
			return nil, paygate.Errorf(paygate.ENOTFOUND, "No payment.")
		}, "new", "", "", nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			created := 0
			store := &mock.PaymentStore{
				PaymentByIdempotencyKeyFn: tt.lookup,
				CreatePaymentFn:           func(context.Context, *paygate.Payment) error { created++; return nil },
				UpdatePaymentFn:           func(context.Context, *paygate.Payment) error { return nil },
			}
			sent := 0
			g, m := resumeGateway(t, store, &sent)
			card := paygate.Card{Number: "4242424242424242", ExpMonth: 12, ExpYear: 2031, CVC: "987"}
			p, err := g.ResumePayment(context.Background(), m, paygate.PaymentRequest{Amount: 5000, Currency: "USD", Card: &card, Capture: true, IdempotencyKey: "ik_key"})

			if code := resumeErrCode(err); code != tt.wantCode {
				t.Fatalf("got error %v, want code %q", err, tt.wantCode)
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("got error %v, want %v", err, tt.wantErr)
			}
			var e *paygate.Error
			if tt.wantResp != "" && (!errors.As(err, &e) || e.ResponseCode != tt.wantResp) {
				t.Errorf("got error %v, want response code %s", err, tt.wantResp)
			}
			switch {
			case tt.wantID == "new":
				if p == nil || p.Status != paygate.StatusCaptured || created != 1 || sent != 1 {
					t.Errorf("got %+v, %d created, %d sent; want a captured payment created and sent once", p, created, sent)
				}
			case tt.wantID == "":
				if p != nil {
					t.Errorf("got payment %s, want none", p.ID)
				}
			case p == nil || p.ID != tt.wantID:
				t.Errorf("got %+v, want payment %s", p, tt.wantID)
			}
			if tt.wantID != "new" && (created != 0 || sent != 0) {
				t.Errorf("%d created, %d sent; want nothing done again", created, sent)
			}
		})
	}
}

func TestResumeRefund(t *testing.T) {
	found := func(st paygate.RefundStatus, code string) func(context.Context, string, string) (*paygate.Refund, error) {
		return func(_ context.Context, _, key string) (*paygate.Refund, error) {
			if key != "ik_key" {
				t.Errorf("looked up key %q, want ik_key", key)
			}
			return &paygate.Refund{ID: "re_earlier", PaymentID: "pay_1", Status: st, ResponseCode: code}, nil
		}
	}
	for _, tt := range []struct {
		name     string
		lookup   func(context.Context, string, string) (*paygate.Refund, error)
		wantID   string
		wantCode string
		wantErr  error
	}{
		{"succeeded", found(paygate.RefundSucceeded, "00"), "re_earlier", "", nil},
		{"failed", found(paygate.RefundFailed, "05"), "re_earlier", paygate.EDECLINED, nil},
		{"in doubt", found(paygate.RefundPending, ""), "", paygate.EIDEMPOTENCYBUSY, paygate.ErrInDoubt},
		{"lookup fails", func(context.Context, string, string) (*paygate.Refund, error) { return nil, errResumeStore }, "", paygate.EINTERNAL, errResumeStore},
		// None recorded: the refund is made now, and meets the payment's
		// absence.
		{"none recorded", func(context.Context, string, string) (*paygate.Refund, error) {
			return nil, paygate.Errorf(paygate.ENOTFOUND, "No refund.")
		}, "", paygate.ENOTFOUND, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			looked := ""
			store := &mock.PaymentStore{
				RefundByIdempotencyKeyFn: tt.lookup,
				PaymentFn: func(_ context.Context, _, id string) (*paygate.Payment, error) {
					looked = id
					return nil, paygate.Errorf(paygate.ENOTFOUND, "No such payment: %s.", id)
				},
			}
			sent := 0
			g, m := resumeGateway(t, store, &sent)
			r, err := g.ResumeRefund(context.Background(), m, "pay_1", 0, "", "ik_key")
			if code := resumeErrCode(err); code != tt.wantCode {
				t.Fatalf("got error %v, want code %q", err, tt.wantCode)
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("got error %v, want %v", err, tt.wantErr)
			}
			if got := resumedRefundID(r); got != tt.wantID {
				t.Errorf("got refund %q, want %q", got, tt.wantID)
			}
			if want := map[bool]string{true: "pay_1"}[tt.name == "none recorded"]; looked != want || sent != 0 {
				t.Errorf("looked up payment %q and sent %d; want %q and nothing sent", looked, sent, want)
			}
		})
	}
}

func TestResumeCaptureAndVoid(t *testing.T) {
	for _, tt := range []struct {
		name     string
		resume   func(g *paygate.Gateway, m *paygate.Merchant) (*paygate.Payment, error)
		status   paygate.PaymentStatus // where the payment stands
		wantCode string                // "" when the payment comes back as it is
	}{
		{"capture, capturing", resumeCapture, paygate.StatusCapturing, ""},
		{"capture, captured", resumeCapture, paygate.StatusCaptured, ""},
		{"capture, partially refunded", resumeCapture, paygate.StatusPartiallyRefunded, ""},
		{"capture, refunded", resumeCapture, paygate.StatusRefunded, ""},
		// Anywhere else the capture is made now, and refused as Capture
		// refuses it.
		{"capture, voided", resumeCapture, paygate.StatusVoided, paygate.ECONFLICT},
		{"void, voiding", resumeVoid, paygate.StatusVoiding, ""},
		{"void, voided", resumeVoid, paygate.StatusVoided, ""},
		{"void, declined", resumeVoid, paygate.StatusDeclined, paygate.ECONFLICT},
		{"void, expired", resumeVoid, paygate.StatusExpired, paygate.ECONFLICT},
	} {
		t.Run(tt.name, func(t *testing.T) {
			store := &mock.PaymentStore{
				PaymentFn: func(_ context.Context, merchantID, id string) (*paygate.Payment, error) {
					return &paygate.Payment{ID: id, MerchantID: merchantID, Status: tt.status, Amount: 5000}, nil
				},
			}
			sent := 0
			g, m := resumeGateway(t, store, &sent)
			p, err := tt.resume(g, m)
			if code := resumeErrCode(err); code != tt.wantCode {
				t.Fatalf("got error %v, want code %q", err, tt.wantCode)
			}
			if tt.wantCode == "" && (p == nil || p.ID != "pay_1" || p.Status != tt.status) {
				t.Errorf("got %+v, want pay_1 as it stands (%s)", p, tt.status)
			}
			if sent != 0 {
				t.Errorf("sent %d messages, want none", sent)
			}
		})
	}
}

func resumeCapture(g *paygate.Gateway, m *paygate.Merchant) (*paygate.Payment, error) {
	return g.ResumeCapture(context.Background(), m, "pay_1", 0)
}

func resumeVoid(g *paygate.Gateway, m *paygate.Merchant) (*paygate.Payment, error) {
	return g.ResumeVoid(context.Background(), m, "pay_1")
}

func resumeErrCode(err error) string {
	if err == nil {
		return ""
	}
	return paygate.ErrorCode(err)
}

func resumedRefundID(r *paygate.Refund) string {
	if r == nil {
		return ""
	}
	return r.ID
}
