package storetest

import (
	"encoding/json"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/paygate/paygate"
)

// The outbox: the payment and session stores write the events of their
// changes (paygate.PaymentEvents, paygate.SessionEvents) and the events'
// deliveries in the transactions of the changes, and nothing when a change
// fails.
var outboxTests = []test{
	{"PaymentLife", testOutboxPaymentLife},
	{"PaymentConflict", testOutboxPaymentConflict},
	{"Session", testOutboxSession},
}

// outbox follows a merchant's events as changes write them.
type outbox struct {
	s         Stores
	m         *paygate.Merchant
	endpoints []*paygate.WebhookEndpoint // the merchant's
	seen      map[string]bool            // events checked already
	written   int                        // deliveries the events checked so far have
}

// newOutbox makes a merchant with endpoints that take all events, some,
// none, or that are disabled, and another merchant with an endpoint that
// takes all.
func newOutbox(t *testing.T, s Stores) *outbox {
	t.Helper()
	o := &outbox{s: s, m: MustCreateMerchant(t, s.Merchants, "Acme"), seen: map[string]bool{}}
	for i, types := range [][]string{
		{"*"},
		{paygate.EventPaymentCaptured},
		{paygate.EventPaymentRefunded, paygate.EventSessionCompleted},
		{paygate.EventPaymentDeclined},
		{"*"}, // disabled below
		{"payment.capture", "payment.*", "PAYMENT.AUTHORIZED", "session"},
	} {
		o.endpoints = append(o.endpoints, MustCreateEndpoint(t, s.Webhooks, NewEndpoint(t, o.m.ID, Base.Add(time.Duration(i)*time.Second), types...)))
	}
	o.endpoints[4].Status = paygate.EndpointDisabled
	MustUpdateEndpoint(t, s.Webhooks, o.endpoints[4])
	MustCreateEndpoint(t, s.Webhooks, NewEndpoint(t, MustCreateMerchant(t, s.Merchants, "Other").ID, Base, "*"))
	return o
}

// takers returns the merchant's endpoints that take events of the type.
func (o *outbox) takers(typ string) []*paygate.WebhookEndpoint {
	var out []*paygate.WebhookEndpoint
	for _, w := range o.endpoints {
		if w.Takes(typ) && w.Status != paygate.EndpointDisabled {
			out = append(out, w)
		}
	}
	return out
}

// check checks that the merchant's events written since the last check
// are exactly of the types want, in order, each with its deliveries, and
// returns them.
func (o *outbox) check(t *testing.T, what string, at time.Time, want ...string) []*paygate.Event {
	t.Helper()
	list, _ := mustEvents(t, o.s.Events, paygate.EventFilter{MerchantID: o.m.ID, Limit: 1000})
	slices.Reverse(list) // oldest first
	var fresh []*paygate.Event
	var types []string
	for _, e := range list {
		if !o.seen[e.ID] {
			o.seen[e.ID] = true
			fresh = append(fresh, e)
			types = append(types, e.Type)
		}
	}
	if !slices.Equal(types, want) {
		t.Errorf("%s: got events %v, want %v", what, types, want)
		return nil
	}
	for _, e := range fresh {
		if !e.CreatedAt.Equal(at.Truncate(paygate.TimePrecision)) {
			t.Errorf("%s: %s's CreatedAt: got %s, want the change's %s", what, e.Type, fmtTime(e.CreatedAt), fmtTime(at))
		}
		var body paygate.EventBody
		if err := json.Unmarshal(e.Data, &body); err != nil {
			t.Errorf("%s: %s's body: %v", what, e.Type, err)
		} else if body.ID != e.ID || body.Type != e.Type || !body.Timestamp.Equal(e.CreatedAt) {
			t.Errorf("%s: %s's body: got id %s, type %s, timestamp %s; want the event's %s, %s, %s", what, e.Type,
				body.ID, body.Type, fmtTime(body.Timestamp), e.ID, e.Type, fmtTime(e.CreatedAt))
		}
		takers := o.takers(e.Type)
		checkDeliveries(t, o.s, e, takers...)
		o.written += len(takers)
	}
	return fresh
}

// checkNoMore checks that no delivery was written but those of the events
// checked.
func (o *outbox) checkNoMore(t *testing.T) {
	t.Helper()
	if got := mustClaimWebhooks(t, o.s.Webhooks, Base.Add(1000*time.Hour), 1000); len(got) != o.written {
		t.Errorf("deliveries written: got %d, want %d (the events')", len(got), o.written)
	}
}

// body decodes an event's data.
func body(t *testing.T, e *paygate.Event) paygate.EventData {
	t.Helper()
	var b paygate.EventBody
	if err := json.Unmarshal(e.Data, &b); err != nil {
		t.Fatalf("%s's body: %v", e.ID, err)
	}
	return b.Data
}

func testOutboxPaymentLife(t *testing.T, s Stores) {
	o := newOutbox(t, s)
	ps := s.Payments
	at := Base
	tick := func() time.Time { at = at.Add(time.Second + 7); return at }
	save := func(p *paygate.Payment, status paygate.PaymentStatus) {
		t.Helper()
		p.Status, p.UpdatedAt = status, tick()
		MustUpdatePayment(t, ps, p)
	}
	refund := func(p *paygate.Payment, r *paygate.Refund, status paygate.RefundStatus, then paygate.PaymentStatus) {
		t.Helper()
		r.Status, r.UpdatedAt = status, tick()
		p.Status, p.UpdatedAt = then, at
		if status == paygate.RefundSucceeded {
			p.AmountRefunded += r.Amount
		}
		MustSaveRefund(t, ps, p, r)
	}
	create := func(status paygate.PaymentStatus) *paygate.Payment {
		t.Helper()
		p := NewPayment(t, o.m.ID, tick())
		p.Status = status
		MustCreatePayment(t, ps, p)
		return p
	}

	// An authorization, acknowledged, captured, refunded in two parts
	// (one refund failing between).
	p := create(paygate.StatusPending)
	o.check(t, "created pending", at)
	save(p, paygate.StatusAuthorized)
	if evs := o.check(t, "authorized", at, paygate.EventPaymentAuthorized); len(evs) == 1 {
		if evs[0].PaymentID != p.ID || body(t, evs[0]).Status != string(paygate.StatusAuthorized) {
			t.Errorf("authorized: got payment %s, status %s; want %s, authorized", evs[0].PaymentID, body(t, evs[0]).Status, p.ID)
		}
	}
	p.AckedAt = tick()
	MustUpdatePayment(t, ps, p)
	o.check(t, "acknowledged", at)
	again := MustPayment(t, ps, o.m.ID, p.ID) // a fresh copy, saved unchanged
	if again.SavedStatus != paygate.StatusAuthorized {
		t.Errorf("SavedStatus of a payment read: got %q, want %q", again.SavedStatus, paygate.StatusAuthorized)
	}
	again.UpdatedAt = tick()
	MustUpdatePayment(t, ps, again)
	o.check(t, "saved again unchanged", at)
	p = again
	save(p, paygate.StatusCapturing)
	o.check(t, "capturing", at)
	p.AmountCaptured = p.Amount
	save(p, paygate.StatusCaptured)
	o.check(t, "captured", at, paygate.EventPaymentCaptured)

	r1 := &paygate.Refund{ID: paygate.NewID("re", at), PaymentID: p.ID, MerchantID: p.MerchantID, Amount: 2500, Currency: p.Currency,
		STAN: "000101", RRN: "000000000101", TransmittedAt: at, CreatedAt: at}
	refund(p, r1, paygate.RefundPending, paygate.StatusCaptured)
	o.check(t, "refund pending", at)
	refund(p, r1, paygate.RefundSucceeded, paygate.StatusPartiallyRefunded)
	if evs := o.check(t, "refund succeeded", at, paygate.EventPaymentRefunded); len(evs) == 1 {
		if d := body(t, evs[0]); d.RefundID != r1.ID || d.RefundAmount != r1.Amount || d.Status != string(paygate.StatusPartiallyRefunded) {
			t.Errorf("refund succeeded: got refund %s of %d, status %s; want %s of %d, partially_refunded", d.RefundID, d.RefundAmount,
				d.Status, r1.ID, r1.Amount)
		}
	}
	if got := MustPayment(t, ps, o.m.ID, p.ID).Refunds; len(got) != 1 || got[0].SavedStatus != paygate.RefundSucceeded {
		t.Errorf("refunds read: got %+v, want one with SavedStatus succeeded", got)
	}
	r2 := &paygate.Refund{ID: paygate.NewID("re", at), PaymentID: p.ID, MerchantID: p.MerchantID, Amount: 1000, Currency: p.Currency,
		STAN: "000102", RRN: "000000000102", TransmittedAt: at, CreatedAt: at}
	refund(p, r2, paygate.RefundPending, paygate.StatusPartiallyRefunded)
	refund(p, r2, paygate.RefundFailed, paygate.StatusPartiallyRefunded)
	o.check(t, "refund failed", at)
	r3 := &paygate.Refund{ID: paygate.NewID("re", at), PaymentID: p.ID, MerchantID: p.MerchantID, Amount: p.Amount - 2500,
		Currency: p.Currency, STAN: "000103", RRN: "000000000103", TransmittedAt: at, CreatedAt: at}
	refund(p, r3, paygate.RefundSucceeded, paygate.StatusRefunded)
	o.check(t, "refunded in full", at, paygate.EventPaymentRefunded)
	if _, err := ps.MarkSettled(t.Context(), o.m.ID, tick()); err != nil {
		t.Fatalf("MarkSettled: %v", err)
	}
	o.check(t, "settled", at)

	// Voided, declined, failed, expired.
	p = create(paygate.StatusAuthorized)
	o.check(t, "created authorized", at, paygate.EventPaymentAuthorized)
	save(p, paygate.StatusVoiding)
	save(p, paygate.StatusVoided)
	o.check(t, "voided", at, paygate.EventPaymentVoided)
	create(paygate.StatusDeclined)
	o.check(t, "declined", at, paygate.EventPaymentDeclined)
	p = create(paygate.StatusPending)
	save(p, paygate.StatusFailed)
	o.check(t, "failed", at, paygate.EventPaymentFailed)
	p = create(paygate.StatusAuthorized)
	o.check(t, "authorized", at, paygate.EventPaymentAuthorized)
	save(p, paygate.StatusExpired)
	o.check(t, "expired", at, paygate.EventPaymentExpired)
	o.checkNoMore(t)
}

func testOutboxPaymentConflict(t *testing.T, s Stores) {
	o := newOutbox(t, s)
	ps := s.Payments
	p := NewPayment(t, o.m.ID, Base)
	MustCreatePayment(t, ps, p)
	o.check(t, "created", Base, paygate.EventPaymentAuthorized)
	stale := copyPayment(p)

	p.Status, p.AmountCaptured, p.UpdatedAt = paygate.StatusCaptured, p.Amount, Base.Add(time.Minute)
	MustUpdatePayment(t, ps, p)
	o.check(t, "captured", p.UpdatedAt, paygate.EventPaymentCaptured)

	// A copy from before the capture loses, and writes no event.
	stale.Status, stale.UpdatedAt = paygate.StatusVoided, Base.Add(2*time.Minute)
	checkIs(t, "UpdatePayment of a stale copy", ps.UpdatePayment(t.Context(), stale), paygate.ErrVersionConflict)
	if stale.SavedStatus != paygate.StatusAuthorized {
		t.Errorf("SavedStatus after a lost update: got %q, want %q (unchanged)", stale.SavedStatus, paygate.StatusAuthorized)
	}
	stale.Status, stale.AmountCaptured, stale.AmountRefunded = paygate.StatusRefunded, stale.Amount, stale.Amount
	r := &paygate.Refund{ID: paygate.NewID("re", Base), PaymentID: p.ID, MerchantID: p.MerchantID, Amount: p.Amount, Currency: p.Currency,
		Status: paygate.RefundSucceeded, STAN: "000201", RRN: "000000000201", TransmittedAt: Base, CreatedAt: Base, UpdatedAt: Base.Add(2 * time.Minute)}
	checkIs(t, "SaveRefund of a stale copy", ps.SaveRefund(t.Context(), stale, r), paygate.ErrVersionConflict)
	if r.SavedStatus != "" {
		t.Errorf("refund's SavedStatus after a lost SaveRefund: got %q, want it unchanged", r.SavedStatus)
	}
	o.check(t, "lost updates", time.Time{})

	// A refund settled already (by another node): the payment's update
	// beside it, which would succeed alone, is undone, events included.
	MustSaveRefund(t, ps, p, &paygate.Refund{ID: r.ID, PaymentID: p.ID, MerchantID: p.MerchantID, Amount: p.Amount, Currency: p.Currency,
		Status: paygate.RefundFailed, STAN: "000201", RRN: "000000000201", TransmittedAt: Base, CreatedAt: Base, UpdatedAt: Base.Add(3 * time.Minute)})
	v := p.Version
	p.Status, p.AmountRefunded, p.UpdatedAt = paygate.StatusRefunded, p.Amount, Base.Add(4*time.Minute)
	checkIs(t, "SaveRefund of a refund settled already", ps.SaveRefund(t.Context(), p, r), paygate.ErrVersionConflict)
	if p.Version != v {
		t.Errorf("Version after a lost SaveRefund: got %d, want %d", p.Version, v)
	}
	o.check(t, "refund settled already", time.Time{})

	// A fresh copy wins.
	fresh := MustPayment(t, ps, o.m.ID, p.ID)
	fresh.Status, fresh.UpdatedAt = paygate.StatusVoided, Base.Add(5*time.Minute)
	MustUpdatePayment(t, ps, fresh)
	o.check(t, "voided from a fresh copy", fresh.UpdatedAt, paygate.EventPaymentVoided)

	// Of many copies racing, one writes its event.
	q := NewPayment(t, o.m.ID, Base.Add(time.Hour))
	q.Status = paygate.StatusPending
	MustCreatePayment(t, ps, q)
	const n = 10
	copies := make([]*paygate.Payment, n)
	for i := range copies {
		copies[i] = copyPayment(q)
		copies[i].Status, copies[i].UpdatedAt = paygate.StatusAuthorized, Base.Add(2*time.Hour)
	}
	race(n, func(i int) error { return ps.UpdatePayment(t.Context(), copies[i]) })
	o.check(t, "authorized by one of many", Base.Add(2*time.Hour), paygate.EventPaymentAuthorized)
	o.checkNoMore(t)
}

func testOutboxSession(t *testing.T, s Stores) {
	o := newOutbox(t, s)
	ss := NewSession(t, o.m.ID, Base)
	MustCreateSession(t, s.Sessions, ss)
	o.check(t, "session created", Base)
	stale := copySession(ss)

	ss.Attempts, ss.Paying, ss.PayingSince, ss.UpdatedAt = 1, true, Base.Add(time.Minute), Base.Add(time.Minute)
	if err := s.Sessions.UpdateSession(t.Context(), ss); err != nil {
		t.Fatalf("UpdateSession(paying): %v", err)
	}
	o.check(t, "paying", ss.UpdatedAt)

	ss.Paying, ss.PayingSince, ss.PaymentID = false, time.Time{}, paygate.NewID("pay", Base)
	ss.Status, ss.Outcome, ss.Sequence = paygate.SessionComplete, paygate.OutcomeApproved, 1
	ss.CompletedAt, ss.UpdatedAt = Base.Add(2*time.Minute), Base.Add(2*time.Minute)
	if err := s.Sessions.UpdateSession(t.Context(), ss); err != nil {
		t.Fatalf("UpdateSession(approved): %v", err)
	}
	if evs := o.check(t, "approved", ss.UpdatedAt, paygate.EventSessionCompleted); len(evs) == 1 {
		e, d := evs[0], body(t, evs[0])
		if e.SessionID != ss.ID || e.Sequence != 1 || e.PaymentID != ss.PaymentID || d.Outcome != paygate.OutcomeApproved {
			t.Errorf("approved: got session %s, sequence %d, payment %s, outcome %s; want %s, 1, %s, approved",
				e.SessionID, e.Sequence, e.PaymentID, d.Outcome, ss.ID, ss.PaymentID)
		}
	}
	ss.AckedAt, ss.UpdatedAt = Base.Add(3*time.Minute), Base.Add(3*time.Minute)
	if err := s.Sessions.UpdateSession(t.Context(), ss); err != nil {
		t.Fatalf("UpdateSession(acked): %v", err)
	}
	read := MustSession(t, s.Sessions, o.m.ID, ss.ID)
	if read.SavedOutcome != paygate.OutcomeApproved {
		t.Errorf("SavedOutcome of a session read: got %q, want %q", read.SavedOutcome, paygate.OutcomeApproved)
	}
	read.UpdatedAt = Base.Add(4 * time.Minute)
	if err := s.Sessions.UpdateSession(t.Context(), read); err != nil {
		t.Fatalf("UpdateSession(read, unchanged): %v", err)
	}
	o.check(t, "acknowledged, then saved again", time.Time{})

	// A copy from before it ended loses, and writes no event.
	stale.Status, stale.Outcome, stale.UpdatedAt = paygate.SessionCanceled, paygate.OutcomeCanceled, Base.Add(5*time.Minute)
	if err := s.Sessions.UpdateSession(t.Context(), stale); !errors.Is(err, paygate.ErrVersionConflict) {
		t.Errorf("UpdateSession of a stale copy: got %v, want ErrVersionConflict", err)
	}
	if stale.SavedOutcome != "" {
		t.Errorf("SavedOutcome after a lost update: got %q, want it unchanged", stale.SavedOutcome)
	}
	o.check(t, "lost update", time.Time{})

	// Created ended; canceled (no payment told).
	done := NewSession(t, o.m.ID, Base.Add(time.Hour))
	done.Status, done.Outcome, done.Sequence, done.PaymentID = paygate.SessionComplete, paygate.OutcomeDeclined, 2, paygate.NewID("pay", Base)
	MustCreateSession(t, s.Sessions, done)
	if evs := o.check(t, "created declined", done.UpdatedAt, paygate.EventSessionCompleted); len(evs) == 1 && evs[0].PaymentID != done.PaymentID {
		t.Errorf("created declined: got payment %q, want %s", evs[0].PaymentID, done.PaymentID)
	}
	canceled := NewSession(t, o.m.ID, Base.Add(2*time.Hour))
	MustCreateSession(t, s.Sessions, canceled)
	canceled.Status, canceled.Outcome, canceled.UpdatedAt = paygate.SessionCanceled, paygate.OutcomeCanceled, Base.Add(3*time.Hour)
	canceled.PaymentID = paygate.NewID("pay", Base)
	if err := s.Sessions.UpdateSession(t.Context(), canceled); err != nil {
		t.Fatalf("UpdateSession(canceled): %v", err)
	}
	if evs := o.check(t, "canceled", canceled.UpdatedAt, paygate.EventSessionCompleted); len(evs) == 1 && evs[0].PaymentID != "" {
		t.Errorf("canceled: got payment %q, want none", evs[0].PaymentID)
	}
	o.checkNoMore(t)
}
