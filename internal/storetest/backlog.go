package storetest

import (
	"testing"
	"time"

	"github.com/paygate/paygate"
)

var backlogTests = []test{
	{"Counts", testBacklogCounts},
}

// backlog counts the backlog with the cutoff at before.
func backlog(tb testing.TB, s Stores, before time.Time) paygate.Backlog {
	tb.Helper()
	b, err := s.Backlog.Backlog(tb.Context(), before)
	if err != nil {
		tb.Fatalf("Backlog: %v", err)
	}
	return b
}

func testBacklogCounts(t *testing.T, s Stores) {
	cutoff := Base.Add(time.Hour)
	if got := backlog(t, s, cutoff); got != (paygate.Backlog{}) {
		t.Fatalf("empty database: got %+v, want zeros", got)
	}
	m := MustCreateMerchant(t, s.Merchants, "Acme")
	// In doubt: pending and capturing payments last changed before the
	// cutoff, and a pending refund; not a payment still young, nor one
	// that ended.
	for i, st := range []paygate.PaymentStatus{paygate.StatusPending, paygate.StatusCapturing, paygate.StatusVoiding, paygate.StatusDeclined} {
		p := NewPayment(t, m.ID, Base.Add(time.Duration(i)*time.Second))
		p.Status = st
		MustCreatePayment(t, s.Payments, p)
	}
	young := NewPayment(t, m.ID, cutoff)
	young.Status = paygate.StatusPending
	MustCreatePayment(t, s.Payments, young)
	p := capturedPayment(t, s, m.ID, Base)
	r := newRefund(p, 100, Base)
	if err := s.Payments.SaveRefund(t.Context(), p, r); err != nil {
		t.Fatalf("SaveRefund: %v", err)
	}
	// Mail: the receipts of approved payments.
	queueMail(t, s, m.ID, Base, 3)
	mails, _, err := s.Mail.Mails(t.Context(), paygate.MailFilter{MerchantID: m.ID, Status: paygate.MailQueued, Limit: 1000})
	if err != nil {
		t.Fatalf("Mails: %v", err)
	}
	// Post-backs: last (the payments above made events too), one event for an endpoint taking everything.
	MustCreateEndpoint(t, s.Webhooks, NewEndpoint(t, m.ID, Base, "*"))
	e := MustCreateEvent(t, s.Events, NewEvent(t, m.ID, paygate.EventPaymentCaptured, Base))
	deliveries, _ := mustWebhookDeliveries(t, s.Webhooks, m.ID, e.ID)
	want := paygate.Backlog{InDoubt: 4, Webhooks: int64(len(deliveries)), Mail: int64(len(mails))}
	if want.Webhooks == 0 || want.Mail < 3 {
		t.Fatalf("fixture: %d deliveries, %d mails; want some of each", len(deliveries), len(mails))
	}
	if got := backlog(t, s, cutoff); got != want {
		t.Errorf("Backlog: got %+v, want %+v", got, want)
	}
	// A later cutoff takes the young payment in.
	want.InDoubt++
	if got := backlog(t, s, cutoff.Add(time.Second)); got != want {
		t.Errorf("Backlog a second later: got %+v, want %+v", got, want)
	}
}
