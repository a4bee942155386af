package paygate_test

import (
	"strings"
	"testing"
	"time"

	"github.com/paygate/paygate"
)

func TestMailCompose(t *testing.T) {
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		name      string
		kind, to  string
		amount    int64
		refund    int64
		currency  string
		captured  bool
		merchant  string
		subject   string
		textParts []string
	}{
		{"receipt", paygate.MailReceipt, paygate.MailToCustomer, 123456, 0, "USD", true, "Acme",
			"Your receipt from Acme: 1,234.56 USD (PG-AAAA-BBBB)", []string{"Payment approved", "It was approved", "Visa ending in 4242"}},
		{"authorization", paygate.MailReceipt, paygate.MailToCustomer, 1200, 0, "JPY", false, "Tokyo Shop",
			"Your receipt from Tokyo Shop: 1,200 JPY (PG-AAAA-BBBB)", []string{"Authorization approved", "charged when Tokyo Shop completes"}},
		{"merchant copy", paygate.MailMerchantCopy, paygate.MailToMerchant, 1500, 0, "BHD", true, "Gulf",
			"Payment approved: 1.500 BHD (PG-AAAA-BBBB)", []string{"A payment to Gulf was approved", "notification address"}},
		{"refund", paygate.MailRefundNotice, paygate.MailToCustomer, 10000, 2550, "EUR", true, "Café",
			"Café refunded 25.50 EUR to your card (PG-AAAA-BBBB)", []string{"Refunded:", "25.50 EUR", "100.00 EUR"}},
		{"refund to the merchant", paygate.MailRefundNotice, paygate.MailToMerchant, 10000, 10000, "EUR", true, "Café",
			"Refund of 100.00 EUR on PG-AAAA-BBBB", []string{"A refund of 100.00 EUR succeeded"}},
		{"void", paygate.MailVoidNotice, paygate.MailToCustomer, 999, 0, "USD", true, "Acme",
			"Acme canceled your payment of 9.99 USD (PG-AAAA-BBBB)", []string{"your card is not charged"}},
		// A line break in a name cannot start a header of its own.
		{"forged header", paygate.MailReceipt, paygate.MailToCustomer, 100, 0, "USD", true, "Evil\r\nBcc: all@example.com",
			"Your receipt from Evil  Bcc: all@example.com: 1.00 USD (PG-AAAA-BBBB)", nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			m := &paygate.Mail{ID: "mail_1", PaymentID: "pay_1", Kind: tt.kind, Recipient: tt.to, MerchantName: tt.merchant,
				Facts: paygate.MailFacts{Amount: tt.amount, Currency: tt.currency, Captured: tt.captured, RefundAmount: tt.refund,
					ConfirmationNumber: "PG-AAAA-BBBB", CardBrand: paygate.BrandVisa, CardLast4: "4242", At: at}}
			m.Compose()
			if m.Subject != tt.subject {
				t.Errorf("subject: got %q, want %q", m.Subject, tt.subject)
			}
			for _, part := range append(tt.textParts, "PG-AAAA-BBBB", "1 March 2026, 12:00 UTC") {
				if !strings.Contains(m.Text, part) {
					t.Errorf("text lacks %q:\n%s", part, m.Text)
				}
			}
			if !strings.HasPrefix(m.HTML, "<!DOCTYPE html>") || !strings.Contains(m.HTML, "PG-AAAA-BBBB") {
				t.Errorf("HTML:\n%s", m.HTML)
			}
			if strings.ContainsAny(m.Subject, "\r\n") {
				t.Errorf("subject holds a line break: %q", m.Subject)
			}
		})
	}
}

func TestPaymentMails(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	usd, _ := paygate.LookupCurrency("USD")
	p := &paygate.Payment{ID: "pay_1", MerchantID: "acct_1", Status: paygate.StatusCaptured, SavedStatus: paygate.StatusPending,
		Amount: 500, Currency: usd, AuthCode: "A1", ResponseCode: paygate.ResponseApproved, ReceiptEmail: "b@example.com",
		Card: paygate.CardSummary{Brand: paygate.BrandVisa, First6: "424242", Last4: "4242"}, PAN: paygate.EncryptedPAN{Ciphertext: []byte("x")}}
	got := paygate.PaymentMails(p, nil, now)
	if len(got) != 2 || got[0].Kind != paygate.MailReceipt || got[0].To != "b@example.com" || got[1].Kind != paygate.MailMerchantCopy || got[1].To != "" {
		t.Fatalf("approval: got %d mails, want a receipt to the customer and a copy for the merchant", len(got))
	}
	if got[0].ID == got[1].ID || got[0].Status != paygate.MailQueued || !got[0].NextAt.Equal(now) {
		t.Errorf("mails: %+v", got[0])
	}
	p.SavedStatus = paygate.StatusCapturing // a capture: no second receipt
	if got := paygate.PaymentMails(p, nil, now); len(got) != 0 {
		t.Errorf("capture of an authorization: got %d mails, want 0", len(got))
	}
	p.Status, p.SavedStatus, p.AuthCode, p.ResponseCode = paygate.StatusDeclined, paygate.StatusPending, "", "05"
	if got := paygate.PaymentMails(p, nil, now); len(got) != 0 {
		t.Errorf("decline: got %d mails, want 0", len(got))
	}
}
