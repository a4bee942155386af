package web_test

import (
	"context"
	"strings"
	"testing"

	"github.com/paygate/paygate"
	"github.com/paygate/paygate/client"
	"github.com/paygate/paygate/internal/gatewaytest"
)

// Every mutating API request is in the audit log, with the key, the
// route, the object and the status, and no card data; reads are not.
func TestAPIRequestsAudited(t *testing.T) {
	gw := gatewaytest.MustOpen(t, gatewaytest.Options{Postgres: gatewaytest.PostgresIfSet(t)})
	ctx := context.Background()
	c := gw.Client()
	p, err := c.CreatePayment(ctx, client.PaymentParams{Amount: 1250, Currency: "USD",
		Card: &client.CardParams{Number: cardOK, ExpMonth: 12, ExpYear: 2040, CVC: testCVC}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Void(ctx, p.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetPayment(ctx, p.ID); err != nil {
		t.Fatal(err)
	}
	list, err := gw.Audit.AuditLog(ctx, gw.Merchant.ID, paygate.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 {
		t.Fatalf("audit entries: got %d, want 2 (sale, void; not the read): %+v", len(list), list)
	}
	void, sale := list[0], list[1]
	if sale.Action != "POST /v1/payments" || sale.ActorType != paygate.ActorAPIKey || !strings.HasPrefix(sale.ActorID, "key_") ||
		sale.Detail != "status 200" || sale.IP != "127.0.0.1" {
		t.Errorf("sale entry: %+v", sale)
	}
	if void.Action != "POST /v1/payments/{id}/void" || void.TargetID != p.ID {
		t.Errorf("void entry: %+v", void)
	}
	for _, e := range list {
		if strings.Contains(e.Detail+e.TargetID+e.Action, cardOK[6:12]) {
			t.Errorf("card data in %+v", e)
		}
	}
}
