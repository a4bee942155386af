package paygate_test

import (
	"errors"
	"testing"
	"time"

	"github.com/paygate/paygate"
	"github.com/paygate/paygate/internal/gatewaytest"
)

// A mail/telephone order goes through the simulated network marked as one
// (the bank reads DE22/DE25 back from the message), with or without a CVC,
// declines as any payment does, and keeps its channel in the store.
func TestMailPhoneOrderOnTheNetwork(t *testing.T) {
	gatewaytest.Engines(t, func(t *testing.T, pg string) {
		g := gatewaytest.MustOpen(t, gatewaytest.Options{Postgres: pg, Quiet: true})
		gw, m := g.Gateway, g.Merchant
		exp := time.Now().Year() + 2
		card := func(number, cvc string) *paygate.Card {
			return &paygate.Card{Number: number, ExpMonth: 12, ExpYear: exp, CVC: cvc}
		}
		sale, err := gw.CreatePayment(t.Context(), m, paygate.PaymentRequest{Amount: 4200, Currency: "USD",
			Card: card("4242424242424242", ""), Capture: true, Channel: paygate.ChannelMOTO})
		if err != nil {
			t.Fatalf("MOTO sale without a CVC: %v", err)
		}
		auth, err := gw.CreatePayment(t.Context(), m, paygate.PaymentRequest{Amount: 1500, Currency: "USD",
			Card: card("4242424242424242", "123"), Channel: paygate.ChannelMOTO})
		if err != nil {
			t.Fatalf("MOTO authorization: %v", err)
		}
		if _, err := gw.Capture(t.Context(), m, auth.ID, 0); err != nil {
			t.Fatalf("capture of a MOTO authorization: %v", err)
		}
		if got := g.Bank.Stats().MailPhone; got != 2 {
			t.Errorf("bank saw %d mail/telephone orders, want 2", got)
		}
		// The same rules as any payment: a wrong CVC given is declined.
		_, err = gw.CreatePayment(t.Context(), m, paygate.PaymentRequest{Amount: 1000, Currency: "USD",
			Card: card("4000000000000127", "123"), Capture: true, Channel: paygate.ChannelMOTO})
		var perr *paygate.Error
		if !errors.As(err, &perr) || perr.Code != paygate.EDECLINED {
			t.Errorf("MOTO sale with an incorrect CVC: got %v, want a decline", err)
		}
		ecom, err := gw.CreatePayment(t.Context(), m, paygate.PaymentRequest{Amount: 1000, Currency: "USD",
			Card: card("4242424242424242", "123"), Capture: true})
		if err != nil {
			t.Fatal(err)
		}
		if got := g.Bank.Stats().MailPhone; got != 3 {
			t.Errorf("bank saw %d mail/telephone orders after an e-commerce sale, want 3", got)
		}
		for _, tt := range []struct {
			id   string
			want paygate.Channel
		}{{sale.ID, paygate.ChannelMOTO}, {auth.ID, paygate.ChannelMOTO}, {ecom.ID, paygate.ChannelEcommerce}} {
			p, err := g.Payments.Payment(t.Context(), m.ID, tt.id)
			if err != nil {
				t.Fatal(err)
			}
			if p.Channel != tt.want {
				t.Errorf("payment %s: channel %q, want %q", tt.id, p.Channel, tt.want)
			}
			if tt.want == paygate.ChannelMOTO && p.Trace[0].Detail != "mail/telephone order" {
				t.Errorf("payment %s: first trace entry %+v, want it marked as a mail/telephone order", tt.id, p.Trace[0])
			}
		}
		_, err = gw.CreatePayment(t.Context(), m, paygate.PaymentRequest{Amount: 1000, Currency: "USD",
			Card: card("4242424242424242", "123"), Channel: "pos"})
		if !errors.As(err, &perr) || perr.Param != "channel" {
			t.Errorf("unknown channel: got %v, want an error on channel", err)
		}
	})
}
