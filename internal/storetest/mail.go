package storetest

import (
	"cmp"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/paygate/paygate"
)

// The mail outbox: the payment store writes the mail of its changes
// (paygate.PaymentMails) in their transactions, the merchant's with its
// notify address and name as stored; mail is claimed once, recorded fenced
// on the claim, and listed newest first.
var mailTests = []test{
	{"PaymentLife", testMailPaymentLife},
	{"Conflict", testMailConflict},
	{"Claim", testMailClaim},
	{"ClaimTogether", testMailClaimTogether},
	{"Record", testMailRecord},
	{"List", testMailList},
}

// mailbox follows a merchant's mail as changes write it.
type mailbox struct {
	s    Stores
	m    *paygate.Merchant
	seen map[string]bool
}

// check checks that the mail written since the last check is exactly
// want ("kind>recipient address", in any order), queued and due at at.
func (b *mailbox) check(t *testing.T, what string, p *paygate.Payment, at time.Time, want ...string) []*paygate.Mail {
	t.Helper()
	list, _, err := b.s.Mail.Mails(t.Context(), paygate.MailFilter{MerchantID: b.m.ID, Limit: 1000})
	if err != nil {
		t.Fatalf("%s: Mails: %v", what, err)
	}
	var fresh []*paygate.Mail
	var got []string
	for _, m := range list {
		if b.seen[m.ID] {
			continue
		}
		b.seen[m.ID] = true
		fresh = append(fresh, m)
		got = append(got, m.Kind+">"+m.To)
		if m.PaymentID != p.ID || m.Status != paygate.MailQueued || !m.NextAt.Equal(at.Truncate(paygate.TimePrecision)) ||
			!m.CreatedAt.Equal(m.NextAt) || m.Attempts != 0 || m.Subject != "" {
			t.Errorf("%s: %s: got payment %s, status %s, due %s, created %s, %d attempts, subject %q; want %s, queued, due and created %s, none, none",
				what, m.Kind, m.PaymentID, m.Status, fmtTime(m.NextAt), fmtTime(m.CreatedAt), m.Attempts, m.Subject, p.ID, fmtTime(at))
		}
		if m.MerchantName != b.m.DisplayName {
			t.Errorf("%s: %s: merchant name %q, want the display name %q", what, m.Kind, m.MerchantName, b.m.DisplayName)
		}
		f := m.Facts
		if f.Amount != p.Amount || f.Currency != p.Currency.Code || f.ConfirmationNumber != p.ConfirmationNumber ||
			f.CardLast4 != p.Card.Last4 || f.CardBrand != p.Card.Brand || f.OrderID != p.OrderID {
			t.Errorf("%s: %s: facts %+v, want the payment's", what, m.Kind, f)
		}
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("%s: got mail %v, want %v", what, got, want)
	}
	return fresh
}

func testMailPaymentLife(t *testing.T, s Stores) {
	b := &mailbox{s: s, m: MustCreateMerchant(t, s.Merchants, "Acme"), seen: map[string]bool{}}
	other := NewMerchant(t, "Quiet", Base)
	other.NotifyEmail = "" // no merchant copies
	if err := s.Merchants.CreateMerchant(t.Context(), other); err != nil {
		t.Fatal(err)
	}
	ps := s.Payments
	at := Base
	tick := func() time.Time { at = at.Add(time.Second + 7); return at }
	save := func(p *paygate.Payment, status paygate.PaymentStatus) {
		t.Helper()
		p.Status, p.UpdatedAt = status, tick()
		MustUpdatePayment(t, ps, p)
	}
	const buyer, orders = "buyer@example.com", "orders@example.com"

	// A sale recorded pending, then approved: a receipt and the merchant's
	// copy, once.
	p := NewPayment(t, b.m.ID, tick())
	p.Status, p.ReceiptEmail, p.CaptureRequested = paygate.StatusPending, buyer, true
	MustCreatePayment(t, ps, p)
	b.check(t, "created pending", p, at)
	p.AmountCaptured = p.Amount
	save(p, paygate.StatusCaptured)
	if got := b.check(t, "captured", p, at, "receipt>"+buyer, "merchant_copy>"+orders); len(got) == 2 {
		for _, m := range got {
			if m.Facts.Captured != true || !m.Facts.At.Equal(at.Truncate(paygate.TimePrecision)) {
				t.Errorf("captured: %s's facts: %+v, want captured at %s", m.Kind, m.Facts, fmtTime(at))
			}
		}
	}
	p.AckedAt = tick()
	MustUpdatePayment(t, ps, p)
	again := MustPayment(t, ps, b.m.ID, p.ID)
	again.UpdatedAt = tick()
	MustUpdatePayment(t, ps, again)
	b.check(t, "saved again", p, at)
	p = again

	// Refunds: a failed one writes nothing, a successful one a notice each.
	r1 := &paygate.Refund{ID: paygate.NewID("re", at), PaymentID: p.ID, MerchantID: p.MerchantID, Amount: 2500, Currency: p.Currency,
		STAN: "000101", RRN: "000000000101", TransmittedAt: at, CreatedAt: at}
	r1.Status, r1.UpdatedAt = paygate.RefundPending, tick()
	p.AmountRefunded, p.UpdatedAt = 2500, at
	MustSaveRefund(t, ps, p, r1)
	b.check(t, "refund pending", p, at)
	r1.Status, r1.UpdatedAt = paygate.RefundSucceeded, tick()
	p.Status, p.UpdatedAt = paygate.StatusPartiallyRefunded, at
	MustSaveRefund(t, ps, p, r1)
	if got := b.check(t, "refunded", p, at, "refund_notice>"+buyer, "refund_notice>"+orders); len(got) == 2 {
		for _, m := range got {
			if m.RefundID != r1.ID || m.Facts.RefundAmount != 2500 {
				t.Errorf("refunded: %s to %s: refund %s of %d, want %s of 2500", m.Kind, m.Recipient, m.RefundID, m.Facts.RefundAmount, r1.ID)
			}
		}
	}

	// An authorization created approved, captured later (no second
	// receipt), and one voided (a notice each).
	p = NewPayment(t, b.m.ID, tick())
	p.ReceiptEmail = buyer
	MustCreatePayment(t, ps, p)
	b.check(t, "created authorized", p, at, "receipt>"+buyer, "merchant_copy>"+orders)
	save(p, paygate.StatusCapturing)
	p.AmountCaptured = p.Amount
	save(p, paygate.StatusCaptured)
	b.check(t, "captured later", p, at)
	p = NewPayment(t, b.m.ID, tick())
	MustCreatePayment(t, ps, p)
	b.check(t, "no receipt e-mail", p, at, "merchant_copy>"+orders)
	save(p, paygate.StatusVoiding)
	save(p, paygate.StatusVoided)
	b.check(t, "voided", p, at, "void_notice>"+orders)

	// Declined and failed payments write no mail, nor does an unapproved
	// payment voided.
	p = NewPayment(t, b.m.ID, tick())
	p.Status, p.ReceiptEmail, p.AuthCode, p.ResponseCode = paygate.StatusDeclined, buyer, "", "05"
	MustCreatePayment(t, ps, p)
	b.check(t, "declined", p, at)
	p = NewPayment(t, b.m.ID, tick())
	p.Status, p.ReceiptEmail, p.AuthCode, p.ResponseCode = paygate.StatusPending, buyer, "", ""
	MustCreatePayment(t, ps, p)
	save(p, paygate.StatusFailed)
	b.check(t, "failed", p, at)

	// A merchant without a notify address gets no copies; the customer
	// still gets a receipt.
	q := &mailbox{s: s, m: other, seen: map[string]bool{}}
	p = NewPayment(t, other.ID, tick())
	p.ReceiptEmail = buyer
	MustCreatePayment(t, ps, p)
	q.check(t, "no notify address", p, at, "receipt>"+buyer)
}

func testMailConflict(t *testing.T, s Stores) {
	b := &mailbox{s: s, m: MustCreateMerchant(t, s.Merchants, "Acme"), seen: map[string]bool{}}
	p := NewPayment(t, b.m.ID, Base)
	p.Status, p.ReceiptEmail = paygate.StatusPending, "buyer@example.com"
	MustCreatePayment(t, s.Payments, p)
	stale := MustPayment(t, s.Payments, b.m.ID, p.ID)
	p.Status, p.UpdatedAt = paygate.StatusDeclined, Base.Add(time.Second)
	MustUpdatePayment(t, s.Payments, p)
	// A copy from before the decline loses, and writes no mail.
	stale.Status, stale.UpdatedAt = paygate.StatusAuthorized, Base.Add(2*time.Second)
	checkIs(t, "UpdatePayment of a stale copy", s.Payments.UpdatePayment(t.Context(), stale), paygate.ErrVersionConflict)
	b.check(t, "lost update", p, Base)
}

// queueMail writes n approvals of 1.00 to 1.00+n-1 USD with a receipt
// e-mail, one second apart from at: 2n mails, due as they were written.
func queueMail(t *testing.T, s Stores, merchantID string, at time.Time, n int) []*paygate.Payment {
	t.Helper()
	var out []*paygate.Payment
	for i := range n {
		p := NewPayment(t, merchantID, at.Add(time.Duration(i)*time.Second))
		p.Amount, p.ReceiptEmail = int64(100+i), fmt.Sprintf("buyer%d@example.com", i)
		MustCreatePayment(t, s.Payments, p)
		out = append(out, p)
	}
	return out
}

func mustClaimMail(t *testing.T, s Stores, now time.Time, lease time.Duration, limit int) []*paygate.Mail {
	t.Helper()
	list, err := s.Mail.ClaimMail(t.Context(), now, lease, limit)
	if err != nil {
		t.Fatalf("ClaimMail: %v", err)
	}
	return list
}

func testMailClaim(t *testing.T, s Stores) {
	m := MustCreateMerchant(t, s.Merchants, "Acme")
	queueMail(t, s, m.ID, Base, 3) // 6 mails, due at Base, +1 s, +2 s
	if got := mustClaimMail(t, s, Base.Add(-time.Second), time.Minute, 10); len(got) != 0 {
		t.Errorf("claim before any is due: got %d, want 0", len(got))
	}
	first := mustClaimMail(t, s, Base.Add(time.Second), time.Minute, 3)
	if len(first) != 3 {
		t.Fatalf("claim at +1 s, limit 3: got %d, want 3 (4 are due)", len(first))
	}
	for _, c := range first {
		if want := Base.Add(time.Second + time.Minute).Truncate(paygate.TimePrecision); !c.NextAt.Equal(want) {
			t.Errorf("claimed %s: NextAt %s, want the lease's end %s", c.ID, fmtTime(c.NextAt), fmtTime(want))
		}
	}
	second := mustClaimMail(t, s, Base.Add(time.Second), time.Minute, 10)
	if len(second) != 1 {
		t.Errorf("claim again at +1 s: got %d, want the 1 due left", len(second))
	}
	if got := mustClaimMail(t, s, Base.Add(2*time.Second), time.Minute, 10); len(got) != 2 {
		t.Errorf("claim at +2 s: got %d, want 2", len(got))
	}
	// Once the leases end, the mail is due again (the node that claimed
	// it died).
	if got := mustClaimMail(t, s, Base.Add(time.Hour), time.Minute, 10); len(got) != 6 {
		t.Errorf("claim after the leases: got %d, want all 6", len(got))
	}
}

// testMailClaimTogether has many nodes claim at once: each mail goes to
// exactly one of them.
func testMailClaimTogether(t *testing.T, s Stores) {
	m := MustCreateMerchant(t, s.Merchants, "Acme")
	queueMail(t, s, m.ID, Base, 15)
	const claimers, limit = 8, 5
	claimed := make([][]*paygate.Mail, claimers)
	for i, err := range race(claimers, func(i int) error {
		var err error
		claimed[i], err = s.Mail.ClaimMail(t.Context(), Base.Add(time.Hour), paygate.MailLease, limit)
		return err
	}) {
		if err != nil {
			t.Errorf("ClaimMail #%d: %v", i, err)
		}
	}
	seen := map[string]int{}
	total := 0
	for i, list := range claimed {
		for _, c := range list {
			if j, ok := seen[c.ID]; ok {
				t.Errorf("mail %s: claimed by #%d and #%d, want one", c.ID, j, i)
			}
			seen[c.ID] = i
			total++
		}
	}
	if len(seen) != 30 || total != 30 {
		t.Errorf("claimed by %d nodes at once: got %d mails (%d distinct), want all 30 once", claimers, total, len(seen))
	}
}

func testMailRecord(t *testing.T, s Stores) {
	m := MustCreateMerchant(t, s.Merchants, "Acme")
	queueMail(t, s, m.ID, Base, 1)
	list := mustClaimMail(t, s, Base, time.Minute, 10)
	if len(list) != 2 {
		t.Fatalf("claim: got %d mails, want 2", len(list))
	}
	sent, retry := list[0], list[1]
	lease := sent.NextAt

	// A record fenced on another lease saves nothing.
	sent.Compose()
	sent.Status, sent.Attempts, sent.SentAt, sent.UpdatedAt = paygate.MailSent, 1, Base.Add(time.Second), Base.Add(time.Second)
	checkIs(t, "RecordMail on a lease taken over", s.Mail.RecordMail(t.Context(), sent, lease.Add(time.Second)), paygate.ErrVersionConflict)
	if err := s.Mail.RecordMail(t.Context(), sent, lease); err != nil {
		t.Fatalf("RecordMail: %v", err)
	}
	got, err := s.Mail.Mail(t.Context(), m.ID, sent.ID)
	if err != nil {
		t.Fatalf("Mail: %v", err)
	}
	CheckEqual(t, "mail recorded sent", got, sent)
	// Recorded once: a second record of the same lease is a conflict.
	checkIs(t, "RecordMail twice", s.Mail.RecordMail(t.Context(), sent, lease), paygate.ErrVersionConflict)

	retry.Attempts, retry.LastError = 1, "dial tcp 127.0.0.1:25: connection refused \x00\xff"
	retry.NextAt, retry.UpdatedAt = Base.Add(30*time.Second), Base.Add(time.Second)
	if err := s.Mail.RecordMail(t.Context(), retry, lease); err != nil {
		t.Fatalf("RecordMail (retry): %v", err)
	}
	if got, err := s.Mail.Mail(t.Context(), m.ID, retry.ID); err != nil {
		t.Errorf("Mail: %v", err)
	} else if got.LastError != "dial tcp 127.0.0.1:25: connection refused \uFFFD" {
		t.Errorf("last error read back: got %q; want valid UTF-8 without the NUL", got.LastError)
	}
	if got := mustClaimMail(t, s, Base.Add(29*time.Second), time.Minute, 10); len(got) != 0 {
		t.Errorf("claim before the retry is due: got %d, want 0", len(got))
	}
	if got := mustClaimMail(t, s, Base.Add(30*time.Second), time.Minute, 10); len(got) != 1 || got[0].ID != retry.ID || got[0].Attempts != 1 {
		t.Errorf("claim when the retry is due: got %d mails, want %s with 1 attempt", len(got), retry.ID)
	}
	if got := mustClaimMail(t, s, Base.Add(time.Hour), time.Minute, 10); len(got) != 1 || got[0].ID != retry.ID {
		t.Errorf("claim much later: got %d mails, want only %s (the sent one is done)", len(got), retry.ID)
	}
	_, err = s.Mail.Mail(t.Context(), MustCreateMerchant(t, s.Merchants, "Other").ID, sent.ID)
	checkCode(t, "Mail of another merchant", err, paygate.ENOTFOUND)
}

func testMailList(t *testing.T, s Stores) {
	m := MustCreateMerchant(t, s.Merchants, "Acme")
	other := MustCreateMerchant(t, s.Merchants, "Other")
	ps := queueMail(t, s, m.ID, Base, 4) // 8 mails
	queueMail(t, s, other.ID, Base, 1)
	var ids []string
	var after string
	for page := 0; ; page++ {
		list, more, err := s.Mail.Mails(t.Context(), paygate.MailFilter{MerchantID: m.ID, StartingAfter: after, Limit: 3})
		if err != nil {
			t.Fatalf("Mails: %v", err)
		}
		for _, x := range list {
			ids = append(ids, x.ID)
		}
		if !more {
			break
		}
		after = list[len(list)-1].ID
		if page > 5 {
			t.Fatal("Mails: pages never end")
		}
	}
	if len(ids) != 8 || !slices.IsSortedFunc(ids, func(a, b string) int { return -cmp.Compare(a, b) }) {
		t.Errorf("Mails in pages of 3: got %d ids %v, want all 8, newest first", len(ids), ids)
	}
	list, _, err := s.Mail.Mails(t.Context(), paygate.MailFilter{MerchantID: m.ID, PaymentID: ps[2].ID, Limit: 10})
	if err != nil || len(list) != 2 {
		t.Errorf("Mails of a payment: got %d, %v; want 2", len(list), err)
	}
	claimed := mustClaimMail(t, s, Base.Add(time.Hour), time.Minute, 1)
	claimed[0].Status, claimed[0].UpdatedAt = paygate.MailKept, Base.Add(time.Hour)
	if err := s.Mail.RecordMail(t.Context(), claimed[0], claimed[0].NextAt); err != nil {
		t.Fatal(err)
	}
	for status, want := range map[string]int{paygate.MailKept: 1, paygate.MailQueued: 7, paygate.MailSent: 0} {
		if claimed[0].MerchantID != m.ID && status != paygate.MailSent {
			continue // the other merchant's was claimed
		}
		list, _, err := s.Mail.Mails(t.Context(), paygate.MailFilter{MerchantID: m.ID, Status: status, Limit: 100})
		if err != nil || len(list) != want {
			t.Errorf("Mails %s: got %d, %v; want %d", status, len(list), err, want)
		}
	}
}
