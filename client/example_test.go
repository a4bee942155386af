package client_test

import (
	"context"
	"errors"
	"fmt"
	"log"

	"github.com/paygate/paygate/client"
)

// The examples run against an in-memory stand-in for the gateway
// (newFakeGateway); in your code the URL is your gateway's, such as
// "http://127.0.0.1:8080", and the key comes from your configuration.

// A sale: charge a card and show the customer the confirmation number.
func Example() {
	srv := newFakeGateway()
	defer srv.Close()
	ctx := context.Background()

	c := client.New(srv.URL, fakeKey)
	pay, err := c.CreatePayment(ctx, client.PaymentParams{
		Amount:   1999, // $19.99
		Currency: "USD",
		Card:     &client.CardParams{Number: "4242 4242 4242 4242", ExpMonth: 12, ExpYear: 2030, CVC: "123"},
		OrderID:  "order-1001",
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(pay.ID, pay.Status, pay.AmountCaptured, pay.Currency)
	fmt.Println(pay.Card.Brand, pay.Card.Last4, pay.ConfirmationNumber)
	// Output:
	// pay_1 captured 1999 USD
	// visa 4242 PG-7K3M-0001
}

// Authorize when the order is placed, capture what ships.
func ExampleClient_Capture() {
	srv := newFakeGateway()
	defer srv.Close()
	ctx := context.Background()
	c := client.New(srv.URL, fakeKey)

	pay, err := c.CreatePayment(ctx, client.PaymentParams{
		Amount:   5000,
		Currency: "USD",
		Card:     &client.CardParams{Number: "5555555555554444", ExpMonth: 1, ExpYear: 2031, CVC: "321"},
		Capture:  new(false), // authorize only
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(pay.Status, pay.AmountCaptured)

	// One item was out of stock: capture $42.00 of the $50.00 held.
	pay, err = c.Capture(ctx, pay.ID, client.CaptureParams{Amount: new(int64(4200))})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(pay.Status, pay.AmountCaptured)
	// Output:
	// authorized 0
	// captured 4200
}

// Refund part of a payment, then the rest.
func ExampleClient_Refund() {
	srv := newFakeGateway()
	defer srv.Close()
	ctx := context.Background()
	c := client.New(srv.URL, fakeKey)

	pay, err := c.CreatePayment(ctx, client.PaymentParams{
		Amount: 3000, Currency: "USD",
		Card: &client.CardParams{Number: "4242424242424242", ExpMonth: 12, ExpYear: 2030, CVC: "123"},
	})
	if err != nil {
		log.Fatal(err)
	}
	re, err := c.Refund(ctx, pay.ID, client.RefundParams{Amount: new(int64(1000)), Reason: "damaged"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(re.ID, re.Status, re.Amount)

	re, err = c.Refund(ctx, pay.ID, client.RefundParams{}) // all that is left
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(re.ID, re.Status, re.Amount)

	pay, err = c.GetPayment(ctx, pay.ID)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(pay.Status, pay.AmountRefunded, len(pay.Refunds))
	// Output:
	// re_1 succeeded 1000
	// re_2 succeeded 2000
	// refunded 3000 2
}

// A declined card is an *Error with the issuer's reasons; the declined
// payment is recorded too.
func ExampleError_declined() {
	srv := newFakeGateway()
	defer srv.Close()
	ctx := context.Background()
	c := client.New(srv.URL, fakeKey)

	_, err := c.CreatePayment(ctx, client.PaymentParams{
		Amount: 1999, Currency: "USD",
		Card: &client.CardParams{Number: "4000000000000002", ExpMonth: 12, ExpYear: 2030, CVC: "123"},
	})
	var e *client.Error
	if errors.As(err, &e) && e.Code == client.CodeCardDeclined {
		fmt.Println("declined:", e.DeclineCode, e.ResponseCode, e.PaymentID)
		fmt.Println(e.Message)
	}
	fmt.Println(client.IsDeclined(err))
	// Output:
	// declined: insufficient_funds 51 pay_1
	// The card has insufficient funds.
	// true
}

// Store a card once, pay with it later.
func ExampleClient_CreateCard() {
	srv := newFakeGateway()
	defer srv.Close()
	ctx := context.Background()
	c := client.New(srv.URL, fakeKey)

	card, err := c.CreateCard(ctx, client.CardParams{Number: "4242424242424242", ExpMonth: 12, ExpYear: 2030, Name: "Ada Lovelace"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(card.ID, card.Brand, card.First6, card.Last4, card.Name)

	pay, err := c.CreatePayment(ctx, client.PaymentParams{Amount: 1200, Currency: "USD", CardID: card.ID})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(pay.Status, pay.Card.Last4)
	// Output:
	// card_1 visa 424242 4242 Ada Lovelace
	// captured 4242
}

// Walk every captured payment, page by page.
func ExampleClient_Payments() {
	srv := newFakeGateway()
	defer srv.Close()
	ctx := context.Background()
	c := client.New(srv.URL, fakeKey)
	for i := range 5 {
		_, err := c.CreatePayment(ctx, client.PaymentParams{
			Amount: int64(100 * (i + 1)), Currency: "USD",
			Card:    &client.CardParams{Number: "4242424242424242", ExpMonth: 12, ExpYear: 2030, CVC: "123"},
			Capture: new(i%2 == 0),
		})
		if err != nil {
			log.Fatal(err)
		}
	}

	for pay, err := range c.Payments(ctx, client.ListParams{Status: client.StatusCaptured, Limit: 2}) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(pay.ID, pay.Amount)
	}
	// Output:
	// pay_5 500
	// pay_3 300
	// pay_1 100
}

// Sending the same params again with the same key returns the first payment
// instead of charging twice.
func ExamplePaymentParams_idempotencyKey() {
	srv := newFakeGateway()
	defer srv.Close()
	ctx := context.Background()
	c := client.New(srv.URL, fakeKey)

	params := client.PaymentParams{
		Amount: 1999, Currency: "USD",
		Card:           &client.CardParams{Number: "4242424242424242", ExpMonth: 12, ExpYear: 2030, CVC: "123"},
		OrderID:        "order-1001",
		IdempotencyKey: "order-1001-payment",
	}
	first, err := c.CreatePayment(ctx, params)
	if err != nil {
		log.Fatal(err)
	}
	again, err := c.CreatePayment(ctx, params)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(first.ID, again.ID)
	// Output: pay_1 pay_1
}

// Card parameters print masked, whatever the verb.
func ExampleCardParams_String() {
	card := client.CardParams{Number: "4242 4242 4242 4242", ExpMonth: 12, ExpYear: 2030, CVC: "123", Name: "Ada Lovelace"}
	fmt.Println(card)
	fmt.Printf("%+v\n", client.PaymentParams{Amount: 1999, Currency: "USD", Card: &card}.Card)
	// Output:
	// {Number:424242******4242 ExpMonth:12 ExpYear:2030 CVC:*** Name:Ada Lovelace}
	// {Number:424242******4242 ExpMonth:12 ExpYear:2030 CVC:*** Name:Ada Lovelace}
}
