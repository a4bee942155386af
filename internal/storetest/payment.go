package storetest

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/paygate/paygate"
)

var paymentTests = []test{
	{"CreateGet", testPaymentCreateGet},
	{"NotFound", testPaymentNotFound},
	{"Duplicate", testPaymentDuplicate},
	{"Update", testPaymentUpdate},
	{"UpdateStale", testPaymentUpdateStale},
	{"ByIdempotencyKey", testPaymentByIdempotencyKey},
}

// fullPayment returns a payment with every field set, times with nanoseconds.
func fullPayment(tb testing.TB, merchantID string) *paygate.Payment {
	tb.Helper()
	p := NewPayment(tb, merchantID, Base)
	p.Status = paygate.StatusPartiallyRefunded
	p.Amount = 9900
	p.Currency = MustCurrency(tb, "EUR")
	p.AmountCaptured = 9900
	p.AmountRefunded = 1000
	p.CaptureRequested = true
	p.CardID = paygate.NewID("card", Base.Add(-time.Hour))
	p.DeclineCode = "none"
	p.DeclineReason = "Not declined, but stored anyway."
	p.Metadata = map[string]string{"order": "A-17", "note": "gift, wrap it", "empty": "", "unicode": "héllo ✓"}
	p.ReceiptEmail = "buyer@example.com"
	p.RequireAck = true
	p.AckDeadline = Base.Add(10 * time.Minute)
	p.AckedAt = Base.Add(2*time.Minute + 1)
	p.VoidReason = paygate.VoidRequested
	p.IdempotencyKey = "idem-" + paygate.RandomToken(16)
	p.UpdatedAt = Base.Add(time.Hour + 999)
	p.CapturedAt = Base.Add(3 * time.Second)
	p.VoidedAt = Base.Add(4 * time.Second)
	p.SettledAt = Base.Add(5 * time.Second)
	return p
}

func testPaymentCreateGet(t *testing.T, s Stores) {
	m := MustCreateMerchant(t, s.Merchants, "Acme")
	p := fullPayment(t, m.ID)
	MustCreatePayment(t, s.Payments, p)
	if p.Version < 1 {
		t.Errorf("Version after CreatePayment: got %d, want at least 1", p.Version)
	}
	got := MustPayment(t, s.Payments, m.ID, p.ID)
	CheckEqual(t, "Payment", got, p)

	// The plain fixture too: zero times must stay zero, nil metadata nil.
	q := NewPayment(t, m.ID, Base.Add(time.Minute))
	q.Metadata = nil
	MustCreatePayment(t, s.Payments, q)
	CheckEqual(t, "Payment (sparse)", MustPayment(t, s.Payments, m.ID, q.ID), q)
}

func testPaymentNotFound(t *testing.T, s Stores) {
	m := MustCreateMerchant(t, s.Merchants, "Acme")
	other := MustCreateMerchant(t, s.Merchants, "Other")
	p := NewPayment(t, m.ID, Base)
	MustCreatePayment(t, s.Payments, p)

	_, err := s.Payments.Payment(t.Context(), other.ID, p.ID)
	checkCode(t, "Payment(other merchant's payment)", err, paygate.ENOTFOUND)
	_, err = s.Payments.Payment(t.Context(), m.ID, paygate.NewID("pay", Base))
	checkCode(t, "Payment(unknown)", err, paygate.ENOTFOUND)
}

func testPaymentDuplicate(t *testing.T, s Stores) {
	m := MustCreateMerchant(t, s.Merchants, "Acme")
	p := NewPayment(t, m.ID, Base)
	MustCreatePayment(t, s.Payments, p)

	dup := NewPayment(t, m.ID, Base.Add(time.Second))
	dup.ConfirmationNumber = p.ConfirmationNumber
	if err := s.Payments.CreatePayment(t.Context(), dup); !errors.Is(err, paygate.ErrDuplicate) {
		t.Errorf("CreatePayment with a taken confirmation number: got %v, want ErrDuplicate", err)
	}
	_, err := s.Payments.Payment(t.Context(), m.ID, dup.ID)
	checkCode(t, "Payment(rejected duplicate)", err, paygate.ENOTFOUND)

	again := NewPayment(t, m.ID, Base.Add(2*time.Second))
	again.ID = p.ID
	if err := s.Payments.CreatePayment(t.Context(), again); !errors.Is(err, paygate.ErrDuplicate) {
		t.Errorf("CreatePayment with a taken id: got %v, want ErrDuplicate", err)
	}
	CheckEqual(t, "Payment after duplicates", MustPayment(t, s.Payments, m.ID, p.ID), p)
}

// copyPayment returns a deep copy of p.
func copyPayment(p *paygate.Payment) *paygate.Payment {
	c := *p
	c.PAN.Ciphertext = slices.Clone(p.PAN.Ciphertext)
	if p.Metadata != nil {
		c.Metadata = make(map[string]string, len(p.Metadata))
		for k, v := range p.Metadata {
			c.Metadata[k] = v
		}
	}
	c.Refunds = nil
	for _, r := range p.Refunds {
		rc := *r
		c.Refunds = append(c.Refunds, &rc)
	}
	return &c
}

func testPaymentUpdate(t *testing.T, s Stores) {
	m := MustCreateMerchant(t, s.Merchants, "Acme")
	p := NewPayment(t, m.ID, Base)
	p.RequireAck = true
	p.AckDeadline = Base.Add(10 * time.Minute)
	MustCreatePayment(t, s.Payments, p)
	v := p.Version

	// Every field the gateway changes after creation.
	p.Status = paygate.StatusRefunded
	p.AmountCaptured = p.Amount
	p.AmountRefunded = p.Amount
	p.AuthCode, p.ResponseCode = "Z9Y8X7", "00"
	p.DeclineCode, p.DeclineReason = "do_not_honor", "Do not honor."
	p.AckDeadline = Base.Add(20 * time.Minute)
	p.AckedAt = Base.Add(time.Minute + 7)
	p.VoidReason = paygate.VoidAckTimeout
	p.UpdatedAt = Base.Add(time.Hour + 3)
	p.CapturedAt = Base.Add(2 * time.Minute)
	p.VoidedAt = Base.Add(3 * time.Minute)
	p.SettledAt = Base.Add(4 * time.Minute)
	MustUpdatePayment(t, s.Payments, p)
	if p.Version != v+1 {
		t.Errorf("Version after UpdatePayment: got %d, want %d", p.Version, v+1)
	}
	CheckEqual(t, "Payment after update", MustPayment(t, s.Payments, m.ID, p.ID), p)

	// And back to zero values.
	p.Status = paygate.StatusAuthorized
	p.AmountCaptured, p.AmountRefunded = 0, 0
	p.DeclineCode, p.DeclineReason, p.VoidReason = "", "", ""
	p.AckDeadline, p.AckedAt, p.CapturedAt, p.VoidedAt, p.SettledAt = time.Time{}, time.Time{}, time.Time{}, time.Time{}, time.Time{}
	MustUpdatePayment(t, s.Payments, p)
	if p.Version != v+2 {
		t.Errorf("Version after second UpdatePayment: got %d, want %d", p.Version, v+2)
	}
	CheckEqual(t, "Payment after second update", MustPayment(t, s.Payments, m.ID, p.ID), p)
}

func testPaymentUpdateStale(t *testing.T, s Stores) {
	m := MustCreateMerchant(t, s.Merchants, "Acme")
	p := NewPayment(t, m.ID, Base)
	MustCreatePayment(t, s.Payments, p)
	stale := MustPayment(t, s.Payments, m.ID, p.ID)

	p.Status, p.AmountCaptured, p.CapturedAt, p.UpdatedAt = paygate.StatusCaptured, p.Amount, Base.Add(time.Minute), Base.Add(time.Minute)
	MustUpdatePayment(t, s.Payments, p)
	before := MustPayment(t, s.Payments, m.ID, p.ID)

	staleVersion := stale.Version
	stale.Status, stale.VoidedAt, stale.UpdatedAt = paygate.StatusVoided, Base.Add(2*time.Minute), Base.Add(2*time.Minute)
	if err := s.Payments.UpdatePayment(t.Context(), stale); !errors.Is(err, paygate.ErrVersionConflict) {
		t.Fatalf("UpdatePayment from a stale version: got %v, want ErrVersionConflict", err)
	}
	if stale.Version != staleVersion {
		t.Errorf("Version of the loser after a conflict: got %d, want %d (unchanged)", stale.Version, staleVersion)
	}
	CheckEqual(t, "Payment after a lost update", MustPayment(t, s.Payments, m.ID, p.ID), before)

	// A version from the future is just as wrong.
	future := copyPayment(before)
	future.Version += 5
	future.Status = paygate.StatusVoided
	if err := s.Payments.UpdatePayment(t.Context(), future); !errors.Is(err, paygate.ErrVersionConflict) {
		t.Errorf("UpdatePayment from a future version: got %v, want ErrVersionConflict", err)
	}
	CheckEqual(t, "Payment after a future-version update", MustPayment(t, s.Payments, m.ID, p.ID), before)
}

var refundTests = []test{
	{"InsertUpdate", testRefundInsertUpdate},
	{"Atomic", testRefundAtomic},
	{"AllListed", testRefundAllListed},
	{"ByIdempotencyKey", testRefundByIdempotencyKey},
}

// capturedPayment stores a captured payment of 100.00 USD.
func capturedPayment(tb testing.TB, s Stores, merchantID string, created time.Time) *paygate.Payment {
	tb.Helper()
	p := NewPayment(tb, merchantID, created)
	p.Amount, p.AmountCaptured, p.CaptureRequested = 10000, 10000, true
	p.Status, p.CapturedAt = paygate.StatusCaptured, created
	MustCreatePayment(tb, s.Payments, p)
	return p
}

// newRefund returns a pending refund of p, reserving its amount on p.
func newRefund(p *paygate.Payment, amount int64, at time.Time) *paygate.Refund {
	p.AmountRefunded += amount
	p.UpdatedAt = at
	return &paygate.Refund{
		ID: paygate.NewID("re", at), PaymentID: p.ID, MerchantID: p.MerchantID, Amount: amount, Currency: p.Currency,
		Status: paygate.RefundPending, Reason: "Customer returned one ticket.", STAN: paygate.RandomDigits(6),
		RRN: paygate.RandomDigits(12), TransmittedAt: at, IdempotencyKey: "idem-" + paygate.RandomToken(8),
		CreatedAt: at, UpdatedAt: at,
	}
}

// settle records a refund's final status the way the gateway does.
func settle(p *paygate.Payment, r *paygate.Refund, status paygate.RefundStatus, code string, at time.Time) {
	r.Status, r.ResponseCode, r.UpdatedAt = status, code, at
	if status == paygate.RefundFailed {
		p.AmountRefunded -= r.Amount
	}
	switch {
	case p.AmountRefunded == 0:
		p.Status = paygate.StatusCaptured
	case p.AmountRefunded >= p.AmountCaptured:
		p.Status = paygate.StatusRefunded
	default:
		p.Status = paygate.StatusPartiallyRefunded
	}
	p.UpdatedAt = at
}

func testRefundInsertUpdate(t *testing.T, s Stores) {
	m := MustCreateMerchant(t, s.Merchants, "Acme")
	p := capturedPayment(t, s, m.ID, Base)
	v := p.Version

	r := newRefund(p, 4000, Base.Add(time.Hour))
	MustSaveRefund(t, s.Payments, p, r)
	if p.Version != v+1 {
		t.Errorf("Version after SaveRefund: got %d, want %d", p.Version, v+1)
	}
	want := copyPayment(p)
	want.Refunds = []*paygate.Refund{r}
	CheckEqual(t, "Payment with a pending refund", MustPayment(t, s.Payments, m.ID, p.ID), want)

	settle(p, r, paygate.RefundSucceeded, "00", Base.Add(time.Hour+time.Second))
	MustSaveRefund(t, s.Payments, p, r)
	if p.Version != v+2 {
		t.Errorf("Version after second SaveRefund: got %d, want %d", p.Version, v+2)
	}
	want = copyPayment(p)
	want.Refunds = []*paygate.Refund{r}
	CheckEqual(t, "Payment with a settled refund", MustPayment(t, s.Payments, m.ID, p.ID), want)
}

func testRefundAtomic(t *testing.T, s Stores) {
	m := MustCreateMerchant(t, s.Merchants, "Acme")
	p := capturedPayment(t, s, m.ID, Base)
	stale := MustPayment(t, s.Payments, m.ID, p.ID)
	r := newRefund(p, 2500, Base.Add(time.Hour))
	MustSaveRefund(t, s.Payments, p, r)
	before := MustPayment(t, s.Payments, m.ID, p.ID)

	// A new refund saved with a stale payment: neither is written.
	r2 := newRefund(stale, 3000, Base.Add(2*time.Hour))
	staleVersion := stale.Version
	if err := s.Payments.SaveRefund(t.Context(), stale, r2); !errors.Is(err, paygate.ErrVersionConflict) {
		t.Fatalf("SaveRefund of a new refund with a stale payment: got %v, want ErrVersionConflict", err)
	}
	if stale.Version != staleVersion {
		t.Errorf("Version of the loser after a conflict: got %d, want %d (unchanged)", stale.Version, staleVersion)
	}
	CheckEqual(t, "Payment after a lost SaveRefund (new refund)", MustPayment(t, s.Payments, m.ID, p.ID), before)

	// An update of the existing refund with a stale payment: neither changes.
	rs := *r
	settle(stale, &rs, paygate.RefundFailed, "05", Base.Add(3*time.Hour))
	if err := s.Payments.SaveRefund(t.Context(), stale, &rs); !errors.Is(err, paygate.ErrVersionConflict) {
		t.Fatalf("SaveRefund of an existing refund with a stale payment: got %v, want ErrVersionConflict", err)
	}
	CheckEqual(t, "Payment after a lost SaveRefund (refund update)", MustPayment(t, s.Payments, m.ID, p.ID), before)
}

// A refund that failed leaves the payment as if it never happened, but it
// is still part of the payment's history (the API lists it).
func testRefundAllListed(t *testing.T, s Stores) {
	m := MustCreateMerchant(t, s.Merchants, "Acme")
	p := capturedPayment(t, s, m.ID, Base)

	failed := newRefund(p, 1000, Base.Add(time.Hour))
	MustSaveRefund(t, s.Payments, p, failed)
	settle(p, failed, paygate.RefundFailed, "05", Base.Add(time.Hour+time.Second))
	MustSaveRefund(t, s.Payments, p, failed)
	if p.Status != paygate.StatusCaptured || p.AmountRefunded != 0 {
		t.Fatalf("fixture: got status %s refunded %d, want captured 0", p.Status, p.AmountRefunded)
	}
	want := copyPayment(p)
	want.Refunds = []*paygate.Refund{failed}
	CheckEqual(t, "Payment after a failed refund", MustPayment(t, s.Payments, m.ID, p.ID), want)

	ok := newRefund(p, 10000, Base.Add(2*time.Hour))
	MustSaveRefund(t, s.Payments, p, ok)
	settle(p, ok, paygate.RefundSucceeded, "00", Base.Add(2*time.Hour+time.Second))
	MustSaveRefund(t, s.Payments, p, ok)
	want = copyPayment(p)
	want.Refunds = []*paygate.Refund{failed, ok}
	CheckEqual(t, "Payment after a failed and a full refund", MustPayment(t, s.Payments, m.ID, p.ID), want)

	list, _, err := s.Payments.Payments(t.Context(), paygate.PaymentFilter{MerchantID: m.ID, Limit: 10})
	if err != nil {
		t.Fatalf("Payments: %v", err)
	}
	CheckEqual(t, "Payments", list, []*paygate.Payment{want})
}

func testPaymentByIdempotencyKey(t *testing.T, s Stores) {
	m := MustCreateMerchant(t, s.Merchants, "Acme")
	other := MustCreateMerchant(t, s.Merchants, "Other")
	first := NewPayment(t, m.ID, Base)
	first.IdempotencyKey = "order-1"
	MustCreatePayment(t, s.Payments, first)
	second := NewPayment(t, m.ID, Base.Add(time.Second))
	second.IdempotencyKey = "order-1"
	MustCreatePayment(t, s.Payments, second)
	MustCreatePayment(t, s.Payments, NewPayment(t, m.ID, Base.Add(2*time.Second))) // no key

	got, err := s.Payments.PaymentByIdempotencyKey(t.Context(), m.ID, "order-1")
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != second.ID {
		t.Errorf("got %s, want the newest %s", got.ID, second.ID)
	}
	for _, tc := range []struct{ merchant, key string }{{m.ID, "order-2"}, {other.ID, "order-1"}, {m.ID, ""}} {
		if _, err := s.Payments.PaymentByIdempotencyKey(t.Context(), tc.merchant, tc.key); paygate.ErrorCode(err) != paygate.ENOTFOUND {
			t.Errorf("merchant %s key %q: got %v, want %s", tc.merchant, tc.key, err, paygate.ENOTFOUND)
		}
	}
}

func testRefundByIdempotencyKey(t *testing.T, s Stores) {
	m := MustCreateMerchant(t, s.Merchants, "Acme")
	other := MustCreateMerchant(t, s.Merchants, "Other")
	p := capturedPayment(t, s, m.ID, Base)
	r := newRefund(p, 500, Base.Add(time.Second))
	r.IdempotencyKey = "refund-1"
	MustSaveRefund(t, s.Payments, p, r)

	got, err := s.Payments.RefundByIdempotencyKey(t.Context(), m.ID, "refund-1")
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != r.ID || got.Amount != 500 || got.Status != paygate.RefundPending || got.PaymentID != p.ID {
		t.Errorf("got %+v, want refund %s of 500 pending", got, r.ID)
	}
	if _, err := s.Payments.RefundByIdempotencyKey(t.Context(), other.ID, "refund-1"); paygate.ErrorCode(err) != paygate.ENOTFOUND {
		t.Errorf("other merchant: got %v, want %s", err, paygate.ENOTFOUND)
	}
}
