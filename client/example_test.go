package client_test

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"time"

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

// A payment on the gateway's page: the card number never reaches your
// server. Start a session, send the customer to its URL, and read the
// signed result when the browser comes back.
func ExampleClient_StartSession() {
	srv := newFakeGateway()
	defer srv.Close()
	ctx := context.Background()
	c := client.New(srv.URL, fakeKey)

	// Once, when you set up: keep the secret with your API key.
	secret, err := c.RotateSigningSecret(ctx)
	if err != nil {
		log.Fatal(err)
	}

	s, err := c.StartSession(ctx, client.SessionParams{
		Amount: 1999, Currency: "USD", OrderID: "order-1001", Description: "Two mugs",
		ReturnURL: "https://shop.example.com/paid",
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(s.ID, s.Status, strings.TrimPrefix(s.URL, srv.URL))

	// Send the customer's browser to s.URL, say with
	// http.Redirect(w, r, s.URL, http.StatusSeeOther). The customer pays
	// there and the browser comes back to the return URL, signed:
	r := customerPays(s.URL) // the request your /paid handler gets
	res, err := client.VerifyRequest(r, time.Now(), secret)
	if err != nil {
		log.Fatal(err) // ErrBadSignature: not from the gateway; refuse it
	}
	fmt.Println(res.Outcome, res.OrderID, res.Amount, res.ConfirmationNumber)

	// The gateway knows the result whether or not the browser comes back
	// (c.Session). Acknowledge it once you have recorded it.
	s, err = c.AckSession(ctx, res.SessionID)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(s.Status, s.Outcome, s.Payment.Status, s.AckedAt != nil)
	// Output:
	// cs_1 open /pay/cs_1
	// approved order-1001 1999 PG-7K3M-0001
	// complete approved captured true
}

// The handler of your return URL checks the signature before it trusts
// anything in the query.
func ExampleVerifyRequest() {
	// Your signing secret, from RotateSigningSecret, kept in your
	// configuration; and your clock (time.Now in your code).
	secret := "whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
	now := func() time.Time { return time.Date(2026, 3, 1, 12, 1, 0, 0, time.UTC) }

	paid := func(w http.ResponseWriter, r *http.Request) {
		res, err := client.VerifyRequest(r, now(), secret)
		switch {
		case errors.Is(err, client.ErrBadSignature):
			http.Error(w, "This link is not from our payment gateway.", http.StatusBadRequest)
			return
		case errors.Is(err, client.ErrExpired):
			// Genuine but old (a bookmark, the back button): ask the
			// gateway with Client.Session(ctx, r.URL.Query().Get("session_id")).
			http.Error(w, "This link has expired.", http.StatusBadRequest)
			return
		case err != nil:
			http.Error(w, "Internal error.", http.StatusInternalServerError)
			return
		}
		if res.Outcome != client.OutcomeApproved {
			fmt.Fprintf(w, "Order %s was not paid (%s).", res.OrderID, res.Outcome)
			return
		}
		fmt.Fprintf(w, "Thank you: order %s is paid (%s ending %s, confirmation %s).",
			res.OrderID, res.CardBrand, res.CardLast4, res.ConfirmationNumber)
	}

	const signed = "https://shop.example.com/paid?session_id=cs_7K3M9QX2ABCDEFGHJKLMNPQRSTVWXYZ2&result=approved" +
		"&amount=1999&currency=USD&order_id=order-1001&sequence=1&payment_id=pay_01JNX5Z8K3M9QX2&status=captured" +
		"&card_brand=visa&card_last4=4242&confirmation_number=PG-7K3M-9QX2&timestamp=1772366400" +
		"&signature=v1%2CmXaJVIX0cVm%2BjI7XzRFemYobyeWtcA%2BIEs%2BQ%2FpPc%2BxE%3D"
	for _, u := range []string{signed, strings.Replace(signed, "amount=1999", "amount=1", 1)} {
		w := httptest.NewRecorder()
		paid(w, httptest.NewRequest("GET", u, nil))
		fmt.Println(w.Code, strings.TrimSpace(w.Body.String()))
	}
	// Output:
	// 200 Thank you: order order-1001 is paid (visa ending 4242, confirmation PG-7K3M-9QX2).
	// 400 This link is not from our payment gateway.
}

// A page of yours can start a payment with a plain HTML form posted to the
// gateway, signed so that nobody can change the amount.
func ExampleSignForm() {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC) // time.Now() in your code
	fields, err := client.SignForm(client.FormParams{
		MerchantID: "acct_1", Amount: 1999, Currency: "USD", OrderID: "order-1001",
		ReturnURL: "https://shop.example.com/paid",
	}, now, fakeSecret)
	if err != nil {
		log.Fatal(err)
	}
	page := template.Must(template.New("pay").Parse(`<form method="post" action="{{.Gateway}}/pay">
{{range $name, $values := .Fields}}<input type="hidden" name="{{$name}}" value="{{index $values 0}}">
{{end}}<button>Pay $19.99</button>
</form>
`))
	err = page.Execute(os.Stdout, map[string]any{"Gateway": "https://pay.example.com", "Fields": fields})
	if err != nil {
		log.Fatal(err)
	}
	// Output:
	// <form method="post" action="https://pay.example.com/pay">
	// <input type="hidden" name="amount" value="1999">
	// <input type="hidden" name="currency" value="USD">
	// <input type="hidden" name="merchant_id" value="acct_1">
	// <input type="hidden" name="order_id" value="order-1001">
	// <input type="hidden" name="return_url" value="https://shop.example.com/paid">
	// <input type="hidden" name="signature" value="v1,b&#43;DW/UwzVklUuxAYOuS7VVnAXZ2wua9PNn97XuI95MY=">
	// <input type="hidden" name="timestamp" value="1772366400">
	// <button>Pay $19.99</button>
	// </form>
}

// Settings for payments on the gateway's pages: where the gateway may send
// the customer's browser, and where by default.
func ExampleClient_UpdateSettings() {
	srv := newFakeGateway()
	defer srv.Close()
	ctx := context.Background()
	c := client.New(srv.URL, fakeKey)

	set, err := c.UpdateSettings(ctx, client.SettingsUpdate{
		AllowedOrigins: new([]string{"https://shop.example.com"}),
		SuccessURL:     new("https://shop.example.com/paid"),
		DefaultModel:   new(client.ModelProxy),
		DisplayName:    new("Mug Shop"),
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(set.AllowedOrigins, set.SuccessURL, set.DefaultModel, set.DisplayName)
	// Output:
	// [https://shop.example.com] https://shop.example.com/paid proxy Mug Shop
}
