package smtp_test

import (
	"bytes"
	"fmt"
	"net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/paygate/paygate"
	"github.com/paygate/paygate/client"
	"github.com/paygate/paygate/internal/gatewaytest"
	"github.com/paygate/paygate/smtp"
)

// Through a gateway: payments queue mail with their changes, and the
// worker sends it to a real SMTP server started by the test.

// mailGateway opens a gateway (or nodes) whose mail goes to srv, for a
// merchant with a notify address and a name that is not ASCII.
func mailOptions(t *testing.T, pg string, srv *server) gatewaytest.Options {
	t.Helper()
	sender, err := smtp.New(smtp.Config{URL: "smtp://" + srv.addr + "?tls=none", From: "Paygate <receipts@gateway.example>",
		Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return gatewaytest.Options{Postgres: pg, Setup: func(g *paygate.Gateway) { g.Mailer = sender }}
}

func notifyMerchant(t *testing.T, g *gatewaytest.Gateway) {
	t.Helper()
	name, notify := "Brasserie Zoë", "orders@shop.example"
	if _, err := g.Gateway.UpdateSettings(t.Context(), g.Merchant.ID, paygate.SettingsUpdate{DisplayName: &name, NotifyEmail: &notify}); err != nil {
		t.Fatal(err)
	}
}

func sale(t *testing.T, g *gatewaytest.Gateway, amount int64, email string) *client.Payment {
	t.Helper()
	p, err := g.Client().CreatePayment(t.Context(), client.PaymentParams{Amount: amount, Currency: "EUR", ReceiptEmail: email,
		Card: &client.CardParams{Number: "4242424242424242", ExpMonth: 12, ExpYear: 2031, CVC: "123"}})
	if err != nil {
		t.Fatalf("sale: %v", err)
	}
	if string(p.Status) != string(paygate.StatusCaptured) {
		t.Fatalf("sale: status %s, want captured", p.Status)
	}
	return p
}

// mustSend runs the worker once and returns how many mails it claimed.
func mustSend(t *testing.T, g *gatewaytest.Gateway) int {
	t.Helper()
	n, err := g.Gateway.SendMail(t.Context())
	if err != nil {
		t.Fatalf("SendMail: %v", err)
	}
	return n
}

func mailOf(t *testing.T, g *gatewaytest.Gateway, paymentID string) []*paygate.Mail {
	t.Helper()
	list, _, err := g.Gateway.ListMail(t.Context(), g.Merchant, paygate.MailFilter{PaymentID: paymentID, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	return list
}

func TestMailEndToEnd(t *testing.T) {
	gatewaytest.Engines(t, func(t *testing.T, pg string) {
		srv := startServer(t, nil)
		g := gatewaytest.MustOpen(t, mailOptions(t, pg, srv))
		notifyMerchant(t, g)
		p := sale(t, g, 123450, "buyer@example.com")
		if got := mailOf(t, g, p.ID); len(got) != 2 || got[0].Status != paygate.MailQueued {
			t.Fatalf("after the sale: %d mails, want 2 queued", len(got))
		}
		if n := mustSend(t, g); n != 2 {
			t.Fatalf("SendMail claimed %d, want 2", n)
		}
		msgs := srv.received()
		if len(msgs) != 2 {
			t.Fatalf("server received %d messages, want 2", len(msgs))
		}
		byTo := map[string]parts{}
		for _, m := range msgs {
			byTo[m.To[0]] = decode(t, m.Data)
		}
		receipt, cp := byTo["buyer@example.com"], byTo["orders@shop.example"]
		for who, x := range map[string]parts{"receipt": receipt, "merchant's copy": cp} {
			for _, want := range []string{"1,234.50 EUR", p.ConfirmationNumber, "ending in 4242", "Brasserie Zoë"} {
				if !strings.Contains(x.Text, want) || !strings.Contains(x.HTML, want) {
					t.Errorf("%s lacks %q:\n%s", who, want, x.Text)
				}
			}
		}
		if from, err := (&mail.AddressParser{}).Parse(receipt.Header.Get("From")); err != nil || from.Name != "Brasserie Zoë" {
			t.Errorf("receipt From: %q (%v), want the merchant's name", receipt.Header.Get("From"), err)
		}
		for _, m := range mailOf(t, g, p.ID) {
			if m.Status != paygate.MailSent || m.Attempts != 1 || m.SentAt.IsZero() || m.Subject == "" {
				t.Errorf("%s to %s: status %s, %d attempts, sent %v, subject %q; want sent once", m.Kind, m.To, m.Status, m.Attempts, m.SentAt, m.Subject)
			}
		}
		if n := mustSend(t, g); n != 0 {
			t.Errorf("SendMail again: claimed %d, want 0", n)
		}

		// A refund and a void send notices to both.
		if _, err := g.Client().Refund(t.Context(), p.ID, client.RefundParams{Amount: ptr(int64(450))}); err != nil {
			t.Fatal(err)
		}
		v := sale(t, g, 999, "")
		if _, err := g.Client().Void(t.Context(), v.ID); err != nil {
			t.Fatal(err)
		}
		if n := mustSend(t, g); n != 4 { // 2 refund notices, the void's copy and notice (no receipt address)
			t.Errorf("SendMail after a refund and a void: claimed %d, want 4", n)
		}
		msgs = srv.received()
		if c := count(msgs, "Refund"); c != 2 {
			t.Errorf("refund notices: %d, want 2", c)
		}
		if c := count(msgs, "voided"); c != 1 {
			t.Errorf("void notices to the merchant: %d, want 1", c)
		}
		for _, m := range msgs {
			if bytes.Contains(m.Data, []byte("4242424242424242")) || bytes.Contains(m.Data, []byte("424242")) {
				t.Errorf("a message holds more of the card than its last 4")
			}
		}
	})
}

// TestMailRetriesAfterServerDown: the payment does not wait for mail; the
// mail is tried again on its schedule once the server is back, and sent
// once.
func TestMailRetriesAfterServerDown(t *testing.T) {
	gatewaytest.Engines(t, func(t *testing.T, pg string) {
		srv := startServer(t, nil)
		g := gatewaytest.MustOpen(t, mailOptions(t, pg, srv))
		notifyMerchant(t, g)
		srv.stop()
		p := sale(t, g, 500, "buyer@example.com") // approved with the server down
		if n := mustSend(t, g); n != 2 {
			t.Fatalf("SendMail claimed %d, want 2", n)
		}
		for _, m := range mailOf(t, g, p.ID) {
			if m.Status != paygate.MailQueued || m.Attempts != 1 || m.LastError == "" {
				t.Errorf("after a failed attempt: %s status %s, %d attempts, error %q; want queued, 1, why", m.Kind, m.Status, m.Attempts, m.LastError)
			}
		}
		if n := mustSend(t, g); n != 0 {
			t.Errorf("SendMail before the retry is due: claimed %d, want 0", n)
		}
		srv.start()
		g.Clock.Advance(paygate.MailRetries[0] + paygate.MailRetries[0]/10 + time.Second)
		if n := mustSend(t, g); n != 2 {
			t.Fatalf("SendMail when the retry is due: claimed %d, want 2", n)
		}
		if got := srv.received(); len(got) != 2 {
			t.Errorf("server received %d messages, want 2", len(got))
		}
		for _, m := range mailOf(t, g, p.ID) {
			if m.Status != paygate.MailSent || m.Attempts != 2 || m.LastError != "" {
				t.Errorf("after the retry: %s status %s, %d attempts, error %q; want sent, 2, none", m.Kind, m.Status, m.Attempts, m.LastError)
			}
		}
	})
}

// TestMailOnceAcrossNodes: two nodes send at once, then one restarts:
// each mail reaches the server once.
func TestMailOnceAcrossNodes(t *testing.T) {
	gatewaytest.Engines(t, func(t *testing.T, pg string) {
		srv := startServer(t, nil)
		o := mailOptions(t, pg, srv)
		nodes := gatewaytest.MustOpenNodes(t, 2, o)
		notifyMerchant(t, nodes[0])
		const sales = 12
		for i := range sales {
			sale(t, nodes[i%2], int64(100+i), fmt.Sprintf("buyer%d@example.com", i))
		}
		var wg sync.WaitGroup
		claimed := make([]int, 2)
		for i, g := range nodes {
			wg.Go(func() {
				for {
					n, err := g.Gateway.SendMail(t.Context())
					if err != nil {
						t.Errorf("node %d: SendMail: %v", i, err)
						return
					}
					if n == 0 {
						return
					}
					claimed[i] += n
				}
			})
		}
		wg.Wait()
		check := func(what string) {
			t.Helper()
			msgs := srv.received()
			ids := map[string]int{}
			for _, m := range msgs {
				p := decode(t, m.Data)
				ids[p.Header.Get("Message-Id")]++
			}
			if len(msgs) != 2*sales || len(ids) != 2*sales {
				t.Errorf("%s: server received %d messages, %d distinct; want %d once each", what, len(msgs), len(ids), 2*sales)
			}
		}
		check("two nodes at once")
		if claimed[0]+claimed[1] != 2*sales {
			t.Errorf("claimed %v, want %d in all", claimed, 2*sales)
		}
		// A restart, long after: nothing is due again.
		nodes[0].Close()
		again := nodes[0].Reopen(t, o)
		again.Clock.Advance(paygate.MailLease + 24*time.Hour)
		if n := mustSend(t, again); n != 0 {
			t.Errorf("SendMail after a restart: claimed %d, want 0", n)
		}
		check("after a restart")
	})
}

// TestMailKept: without a sender, mail is composed and kept.
func TestMailKept(t *testing.T) {
	g := gatewaytest.MustOpen(t, gatewaytest.Options{})
	notifyMerchant(t, g)
	p := sale(t, g, 2000, "buyer@example.com")
	if n := mustSend(t, g); n != 2 {
		t.Fatalf("SendMail claimed %d, want 2", n)
	}
	for _, m := range mailOf(t, g, p.ID) {
		if m.Status != paygate.MailKept || m.Attempts != 0 || !strings.Contains(m.Text, p.ConfirmationNumber) {
			t.Errorf("%s: status %s, %d attempts, text %q; want kept, composed", m.Kind, m.Status, m.Attempts, m.Text)
		}
	}
	if n := mustSend(t, g); n != 0 {
		t.Errorf("SendMail again: claimed %d, want 0", n)
	}
}

func ptr[T any](v T) *T { return &v }
