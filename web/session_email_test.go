package web_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/paygate/paygate"
	"github.com/paygate/paygate/internal/gatewaytest"
)

// TestSessionCustomerEmailGetsTheReceipt pays a session opened with a
// customer e-mail on the hosted page: the payment carries it as its
// ReceiptEmail, and the customer's receipt is queued to it with the
// payment (the outbox, in the same transaction).
func TestSessionCustomerEmailGetsTheReceipt(t *testing.T) {
	gatewaytest.Engines(t, func(t *testing.T, pg string) {
		e := newEnv(t, envOptions{pg: pg})
		ctx := context.Background()
		s, err := e.g.StartSession(ctx, e.merchant, paygate.SessionRequest{
			Amount: 1250, Currency: "USD", OrderID: "order-1002", ReturnURL: e.shop.srv.URL + "/paid",
			CustomerEmail: "ada@example.com",
		})
		if err != nil {
			t.Fatal(err)
		}
		page := e.get("/pay/" + s.ID)
		wantStatus(t, page, 200)
		wantStatus(t, e.post("/pay/"+s.ID, fillForm(t, page.body, cardOK, testCVC)), http.StatusSeeOther)

		id := e.session(s.ID).PaymentID
		p, err := e.g.Payments.Payment(ctx, e.merchant.ID, id)
		if err != nil {
			t.Fatal(err)
		}
		if p.ReceiptEmail != "ada@example.com" || !p.Approved() {
			t.Fatalf("payment: receipt e-mail %q, approved %v; want ada@example.com, approved", p.ReceiptEmail, p.Approved())
		}
		mails, _, err := e.g.Mail.Mails(ctx, paygate.MailFilter{MerchantID: e.merchant.ID, PaymentID: p.ID, Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		var toCustomer []string
		for _, m := range mails {
			if m.Recipient == paygate.MailToCustomer {
				toCustomer = append(toCustomer, m.Kind+" "+m.To)
			}
		}
		if len(toCustomer) != 1 || toCustomer[0] != paygate.MailReceipt+" ada@example.com" {
			t.Errorf("customer mail of the payment: got %v, want one receipt to ada@example.com", toCustomer)
		}
	})
}
