package web_test

import (
	"strings"
	"testing"
	"time"

	"github.com/paygate/paygate"
	"github.com/paygate/paygate/internal/gatewaytest"
)

// The Outbox lists the merchant's mail newest first with its status and
// attempts; a mail's page shows its text part and its HTML part as escaped
// source, never rendered; no page shows more of the card than its last 4.
func TestOutboxPages(t *testing.T) { gatewaytest.Engines(t, testOutboxPages) }

func testOutboxPages(t *testing.T, pg string) {
	gw := gatewaytest.MustOpen(t, gatewaytest.Options{Postgres: pg, Quiet: true})
	s := newSite(t, gw)
	p, err := gw.Gateway.CreatePayment(t.Context(), gw.Merchant, paygate.PaymentRequest{Amount: 4200, Currency: "USD",
		Card:         &paygate.Card{Number: "4242424242424242", ExpMonth: 12, ExpYear: time.Now().Year() + 3, CVC: "123"},
		ReceiptEmail: "buyer@example.com", OrderID: "<i>ord-1</i>", Capture: true})
	if err != nil || p.Status != paygate.StatusCaptured {
		t.Fatalf("pay: %v %v", p, err)
	}
	gw.Clock.Advance(time.Millisecond)
	if _, err := gw.Gateway.Void(t.Context(), gw.Merchant, p.ID); err != nil {
		t.Fatal(err)
	}

	st, page := s.get(paygate.RoleViewer, "/dashboard/outbox")
	if st != 200 || strings.Count(page, `href="/dashboard/outbox/mail_`) != 2 || !strings.Contains(page, "buyer@example.com") {
		t.Fatalf("outbox: %d\n%s", st, page)
	}
	// Newest first: the void notice before the receipt.
	first := strings.Index(page, `href="/dashboard/outbox/mail_`)
	id := page[first+len(`href="/dashboard/outbox/`) : first+strings.Index(page[first:], `">`)]
	mails, _, err := gw.Gateway.ListMail(t.Context(), gw.Merchant, paygate.MailFilter{Limit: 10})
	if err != nil || len(mails) != 2 || mails[0].ID != id || mails[0].Kind != paygate.MailVoidNotice {
		t.Fatalf("first row %s; store lists %v %v", id, mails, err)
	}
	if !strings.Contains(page, "Queued") || !strings.Contains(page, "next try") {
		t.Errorf("queued mail shows no status or next attempt:\n%s", page)
	}

	// Sent without an SMTP server: kept, with one attempt.
	if _, err := gw.Gateway.SendMail(t.Context()); err != nil {
		t.Fatal(err)
	}
	if st, page := s.get(paygate.RoleViewer, "/dashboard/outbox?status=kept"); st != 200 || strings.Count(page, `href="/dashboard/outbox/mail_`) != 2 {
		t.Errorf("kept mail: %d", st)
	}
	if st, page := s.get(paygate.RoleViewer, "/dashboard/outbox?status=sent"); st != 200 || strings.Contains(page, `href="/dashboard/outbox/mail_`) {
		t.Errorf("sent mail listed: %d", st)
	}
	receipt := mails[1].ID
	st, page = s.get(paygate.RoleViewer, "/dashboard/outbox/"+receipt)
	if st != 200 {
		t.Fatalf("mail page: %d\n%s", st, page)
	}
	for _, want := range []string{p.ConfirmationNumber, "buyer@example.com", "Text part", "&lt;!DOCTYPE html&gt;", "4242", "/dashboard/payments/" + p.ID} {
		if !strings.Contains(page, want) {
			t.Errorf("mail page lacks %q", want)
		}
	}
	for _, not := range []string{"<!DOCTYPE html>", "<i>ord-1</i>", "<iframe", "srcdoc"} {
		if strings.Contains(page, not) {
			t.Errorf("mail page contains %q: the mail's HTML is rendered", not)
		}
	}
	noCardNumbers(t, "mail", page)
	if st, _ := s.get(paygate.RoleViewer, "/dashboard/outbox/mail_nope"); st != 404 {
		t.Errorf("no such mail: %d", st)
	}
	if st, _ := s.get(paygate.RoleViewer, "/dashboard/outbox?status=nope"); st != 422 {
		t.Errorf("bad status: %d", st)
	}
}
