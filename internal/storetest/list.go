package storetest

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/paygate/paygate"
)

var listTests = []test{
	{"Filter", testPaymentsFilter},
	{"Paginate", testPaymentsPaginate},
	{"InDoubt", testInDoubt},
	{"AckOverdue", testAckOverdue},
	{"MarkSettled", testMarkSettled},
}

func mustList(tb testing.TB, s paygate.PaymentStore, f paygate.PaymentFilter) ([]*paygate.Payment, bool) {
	tb.Helper()
	list, more, err := s.Payments(tb.Context(), f)
	if err != nil {
		tb.Fatalf("Payments(%+v): %v", f, err)
	}
	return list, more
}

func testPaymentsFilter(t *testing.T, s Stores) {
	m := MustCreateMerchant(t, s.Merchants, "Acme")
	other := MustCreateMerchant(t, s.Merchants, "Other")
	statuses := []paygate.PaymentStatus{
		paygate.StatusAuthorized, paygate.StatusCaptured, paygate.StatusCaptured,
		paygate.StatusDeclined, paygate.StatusVoided, paygate.StatusCaptured,
	}
	var ps []*paygate.Payment // ps[i] created at Base + i minutes
	for i, st := range statuses {
		p := NewPayment(t, m.ID, Base.Add(time.Duration(i)*time.Minute))
		p.Status = st
		if i == 1 || i == 4 {
			p.OrderID = "order-shared"
		}
		MustCreatePayment(t, s.Payments, p)
		ps = append(ps, p)
	}
	// The other merchant's payments are interleaved in time and share an order id.
	for i := range 2 {
		p := NewPayment(t, other.ID, Base.Add(time.Duration(i)*time.Minute+time.Second))
		p.Status, p.OrderID = paygate.StatusCaptured, "order-shared"
		MustCreatePayment(t, s.Payments, p)
	}
	at := func(i ...int) []string {
		var out []string
		for _, j := range i {
			out = append(out, ps[j].ID)
		}
		return out
	}

	tests := []struct {
		name     string
		f        paygate.PaymentFilter
		want     []string
		wantMore bool
	}{
		{"all", paygate.PaymentFilter{}, at(5, 4, 3, 2, 1, 0), false},
		{"limit", paygate.PaymentFilter{Limit: 2}, at(5, 4), true},
		{"limit exact", paygate.PaymentFilter{Limit: 6}, at(5, 4, 3, 2, 1, 0), false},
		{"status", paygate.PaymentFilter{Status: paygate.StatusCaptured}, at(5, 2, 1), false},
		{"status none", paygate.PaymentFilter{Status: paygate.StatusRefunded}, nil, false},
		{"order id", paygate.PaymentFilter{OrderID: "order-shared"}, at(4, 1), false},
		{"created range inclusive", paygate.PaymentFilter{CreatedGTE: ps[1].CreatedAt, CreatedLTE: ps[3].CreatedAt}, at(3, 2, 1), false},
		{"created after", paygate.PaymentFilter{CreatedGTE: ps[4].CreatedAt.Add(-time.Microsecond)}, at(5, 4), false},
		{"created before", paygate.PaymentFilter{CreatedLTE: ps[1].CreatedAt.Add(-time.Microsecond)}, at(0), false},
		{"status and range", paygate.PaymentFilter{Status: paygate.StatusCaptured, CreatedGTE: ps[1].CreatedAt, CreatedLTE: ps[3].CreatedAt}, at(2, 1), false},
		{"starting after", paygate.PaymentFilter{StartingAfter: ps[3].ID}, at(2, 1, 0), false},
		{"starting after with status", paygate.PaymentFilter{StartingAfter: ps[5].ID, Status: paygate.StatusCaptured, Limit: 1}, at(2), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := tt.f
			f.MerchantID = m.ID
			if f.Limit == 0 {
				f.Limit = 100
			}
			list, more := mustList(t, s.Payments, f)
			if got := ids(list); !slices.Equal(got, tt.want) {
				t.Errorf("ids: got %v, want %v", got, tt.want)
			}
			if more != tt.wantMore {
				t.Errorf("hasMore: got %t, want %t", more, tt.wantMore)
			}
		})
	}

	// Listed payments are whole.
	list, _ := mustList(t, s.Payments, paygate.PaymentFilter{MerchantID: m.ID, Limit: 1})
	if len(list) == 1 {
		CheckEqual(t, "listed payment", list[0], ps[5])
	}
	list, _ = mustList(t, s.Payments, paygate.PaymentFilter{MerchantID: paygate.NewID("acct", Base), Limit: 10})
	if len(list) != 0 {
		t.Errorf("Payments of an unknown merchant: got %v, want none", ids(list))
	}
}

func testPaymentsPaginate(t *testing.T, s Stores) {
	m := MustCreateMerchant(t, s.Merchants, "Acme")
	var all []*paygate.Payment // newest first
	for i := range 25 {
		p := NewPayment(t, m.ID, Base.Add(time.Duration(i)*time.Second))
		if i%3 == 0 {
			p.Status = paygate.StatusCaptured
		}
		MustCreatePayment(t, s.Payments, p)
		all = append([]*paygate.Payment{p}, all...)
	}
	var captured []*paygate.Payment
	for _, p := range all {
		if p.Status == paygate.StatusCaptured {
			captured = append(captured, p)
		}
	}

	tests := []struct {
		name      string
		f         paygate.PaymentFilter
		want      []*paygate.Payment
		wantPages []int
	}{
		{"all", paygate.PaymentFilter{Limit: 10}, all, []int{10, 10, 5}},
		{"exact pages", paygate.PaymentFilter{Limit: 10, CreatedLTE: Base.Add(19 * time.Second)}, all[5:], []int{10, 10}},
		{"one page", paygate.PaymentFilter{Limit: 25}, all, []int{25}},
		{"by status", paygate.PaymentFilter{Limit: 4, Status: paygate.StatusCaptured}, captured, []int{4, 4, 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := tt.f
			f.MerchantID = m.ID
			var got []string
			var pages []int
			for {
				list, more := mustList(t, s.Payments, f)
				got = append(got, ids(list)...)
				pages = append(pages, len(list))
				if !more || len(list) == 0 || len(pages) > 10 {
					break
				}
				f.StartingAfter = list[len(list)-1].ID
			}
			if want := ids(tt.want); !slices.Equal(got, want) {
				t.Errorf("ids walked: got %v, want %v", got, want)
			}
			if !slices.Equal(pages, tt.wantPages) {
				t.Errorf("page sizes (the last one with hasMore false): got %v, want %v", pages, tt.wantPages)
			}
		})
	}
}

func testInDoubt(t *testing.T, s Stores) {
	m := MustCreateMerchant(t, s.Merchants, "Acme")
	cutoff := Base.Add(time.Hour)
	old, recent := cutoff.Add(-time.Minute), cutoff.Add(time.Minute)

	withStatus := func(st paygate.PaymentStatus, updated time.Time) *paygate.Payment {
		p := NewPayment(t, m.ID, Base)
		p.Status, p.UpdatedAt = st, updated
		if st == paygate.StatusPending {
			p.AuthCode, p.ResponseCode = "", ""
		}
		MustCreatePayment(t, s.Payments, p)
		return p
	}
	withRefund := func(status paygate.RefundStatus, updated time.Time) (*paygate.Payment, *paygate.Refund) {
		p := capturedPayment(t, s, m.ID, Base)
		r := newRefund(p, 500, updated)
		MustSaveRefund(t, s.Payments, p, r)
		if status != paygate.RefundPending {
			settle(p, r, status, "00", updated)
			MustSaveRefund(t, s.Payments, p, r)
		}
		return p, r
	}

	var want []string
	for _, st := range []paygate.PaymentStatus{paygate.StatusPending, paygate.StatusCapturing, paygate.StatusVoiding} {
		want = append(want, withStatus(st, old).ID)
		withStatus(st, recent) // not yet in doubt
	}
	for _, st := range []paygate.PaymentStatus{
		paygate.StatusAuthorized, paygate.StatusCaptured, paygate.StatusPartiallyRefunded, paygate.StatusRefunded,
		paygate.StatusVoided, paygate.StatusDeclined, paygate.StatusFailed,
	} {
		withStatus(st, old) // final or stable: never in doubt
	}
	pendingRefund, r := withRefund(paygate.RefundPending, old)
	want = append(want, pendingRefund.ID)
	withRefund(paygate.RefundPending, recent)
	withRefund(paygate.RefundSucceeded, old)
	withRefund(paygate.RefundFailed, old)

	list, err := s.Payments.InDoubt(t.Context(), cutoff, 100)
	if err != nil {
		t.Fatalf("InDoubt: %v", err)
	}
	checkIDs(t, "InDoubt", list, want...)
	if len(list) != len(slices.Compact(slices.Sorted(slices.Values(ids(list))))) {
		t.Errorf("InDoubt: got duplicates in %v", ids(list))
	}
	// Recovery reverses the pending refund, so it must come with the payment.
	for _, p := range list {
		if p.ID == pendingRefund.ID {
			want := copyPayment(pendingRefund)
			want.Refunds = []*paygate.Refund{r}
			CheckEqual(t, "InDoubt payment with a pending refund", p, want)
		}
	}

	list, err = s.Payments.InDoubt(t.Context(), cutoff, 2)
	if err != nil {
		t.Fatalf("InDoubt(limit 2): %v", err)
	}
	if len(list) != 2 {
		t.Errorf("InDoubt(limit 2): got %d payments, want 2", len(list))
	}
	for _, p := range list {
		if !slices.Contains(want, p.ID) {
			t.Errorf("InDoubt(limit 2): got %s (%s), want only payments in doubt", p.ID, p.Status)
		}
	}

	if list, err := s.Payments.InDoubt(t.Context(), Base.Add(-time.Hour), 100); err != nil || len(list) != 0 {
		t.Errorf("InDoubt before everything: got %v, %v; want none", ids(list), err)
	}
}

func testAckOverdue(t *testing.T, s Stores) {
	m := MustCreateMerchant(t, s.Merchants, "Acme")
	now := Base.Add(time.Hour)
	due := now.Add(-time.Minute)

	add := func(change func(p *paygate.Payment)) *paygate.Payment {
		p := NewPayment(t, m.ID, Base)
		p.RequireAck, p.AckDeadline = true, due
		change(p)
		MustCreatePayment(t, s.Payments, p)
		return p
	}
	captured := func(p *paygate.Payment) {
		p.Status, p.AmountCaptured, p.CapturedAt, p.CaptureRequested = paygate.StatusCaptured, p.Amount, Base, true
	}
	want := []string{
		add(func(p *paygate.Payment) {}).ID,
		add(captured).ID,
	}
	add(func(p *paygate.Payment) { p.AckDeadline = now.Add(time.Minute) })                  // not due yet
	add(func(p *paygate.Payment) { p.AckedAt = Base.Add(time.Minute) })                     // acknowledged
	add(func(p *paygate.Payment) { p.RequireAck = false })                                  // never required
	add(func(p *paygate.Payment) { captured(p); p.SettledAt = Base.Add(30 * time.Minute) }) // settled
	add(func(p *paygate.Payment) {
		p.Status, p.VoidReason, p.VoidedAt = paygate.StatusVoided, paygate.VoidAckTimeout, Base.Add(time.Minute)
	})
	for _, st := range []paygate.PaymentStatus{
		paygate.StatusPending, paygate.StatusDeclined, paygate.StatusFailed, paygate.StatusVoiding,
		paygate.StatusCapturing, paygate.StatusPartiallyRefunded, paygate.StatusRefunded,
	} {
		add(func(p *paygate.Payment) { p.Status = st })
	}

	list, err := s.Payments.AckOverdue(t.Context(), now, 100)
	if err != nil {
		t.Fatalf("AckOverdue: %v", err)
	}
	checkIDs(t, "AckOverdue", list, want...)

	list, err = s.Payments.AckOverdue(t.Context(), now, 1)
	if err != nil {
		t.Fatalf("AckOverdue(limit 1): %v", err)
	}
	if len(list) != 1 || !slices.Contains(want, list[0].ID) {
		t.Errorf("AckOverdue(limit 1): got %v, want one of %v", ids(list), want)
	}

	if list, err := s.Payments.AckOverdue(t.Context(), due.Add(-time.Second), 100); err != nil || len(list) != 0 {
		t.Errorf("AckOverdue before the deadline: got %v, %v; want none", ids(list), err)
	}
}

func testMarkSettled(t *testing.T, s Stores) {
	m := MustCreateMerchant(t, s.Merchants, "Acme")
	other := MustCreateMerchant(t, s.Merchants, "Other")
	earlier, at := Base.Add(time.Hour), Base.Add(2*time.Hour)

	create := func(merchantID string, st paygate.PaymentStatus, settled time.Time) *paygate.Payment {
		p := NewPayment(t, merchantID, Base)
		p.Status, p.SettledAt = st, settled
		if st != paygate.StatusAuthorized && st != paygate.StatusVoided {
			p.AmountCaptured, p.CapturedAt = p.Amount, Base
		}
		switch st {
		case paygate.StatusPartiallyRefunded:
			p.AmountRefunded = 100
		case paygate.StatusRefunded:
			p.AmountRefunded = p.Amount
		}
		MustCreatePayment(t, s.Payments, p)
		return p
	}
	toSettle := []*paygate.Payment{
		create(m.ID, paygate.StatusCaptured, time.Time{}),
		create(m.ID, paygate.StatusPartiallyRefunded, time.Time{}),
		create(m.ID, paygate.StatusRefunded, time.Time{}),
	}
	untouched := []*paygate.Payment{
		create(m.ID, paygate.StatusCaptured, earlier), // settled before: keeps its time
		create(m.ID, paygate.StatusAuthorized, time.Time{}),
		create(m.ID, paygate.StatusVoided, time.Time{}),
		create(m.ID, paygate.StatusCapturing, time.Time{}),
		create(other.ID, paygate.StatusCaptured, time.Time{}),
	}

	n, err := s.Payments.MarkSettled(t.Context(), m.ID, at)
	if err != nil {
		t.Fatalf("MarkSettled: %v", err)
	}
	if n != int64(len(toSettle)) {
		t.Errorf("MarkSettled: got %d payments, want %d", n, len(toSettle))
	}
	for _, p := range toSettle {
		got := MustPayment(t, s.Payments, p.MerchantID, p.ID)
		if !got.SettledAt.Equal(at.Truncate(time.Microsecond)) {
			t.Errorf("SettledAt of %s payment: got %s, want %s", p.Status, fmtTime(got.SettledAt), fmtTime(at))
		}
		// A writer holding the copy from before the batch must not
		// clear the settlement.
		p.Status, p.VoidedAt = paygate.StatusVoided, at
		if err := s.Payments.UpdatePayment(t.Context(), p); !errors.Is(err, paygate.ErrVersionConflict) {
			t.Errorf("UpdatePayment of a %s payment from before MarkSettled: got %v, want ErrVersionConflict", got.Status, err)
		}
	}
	for _, p := range untouched {
		got := MustPayment(t, s.Payments, p.MerchantID, p.ID)
		CheckEqual(t, "payment MarkSettled must not touch ("+string(p.Status)+")", got, p)
	}

	if n, err := s.Payments.MarkSettled(t.Context(), m.ID, at.Add(time.Hour)); err != nil || n != 0 {
		t.Errorf("MarkSettled again: got %d, %v; want 0, nil", n, err)
	}
}
