package client_test

import (
	"html/template"
	"log"
	"os"
	"time"

	"github.com/paygate/paygate/client"
)

// trForm is a merchant's page with a transparent redirect form: the hidden
// fields its server made, and the card inputs the customer fills in. The
// inputs carry the names the gateway reads; the button has none (a named
// button would send a field the gateway does not take).
var trForm = template.Must(template.New("pay").Parse(`<form method="post" action="{{.Action}}">
{{- range $name, $v := .Fields}}
  <input type="hidden" name="{{$name}}" value="{{index $v 0}}">
{{- end}}
  <label>Card number <input name="card_number" autocomplete="cc-number" inputmode="numeric" required></label>
  <label>Expiry (MMYY) <input name="card_expiration" autocomplete="cc-exp" inputmode="numeric" placeholder="1230" required></label>
  <label>CVC <input name="card_verification" autocomplete="cc-csc" inputmode="numeric" required></label>
  <label>First name <input name="first_name" autocomplete="cc-given-name"></label>
  <label>Last name <input name="last_name" autocomplete="cc-family-name"></label>
  <button type="submit">Pay $19.99</button>
</form>
`))

// A page of your shop takes the card itself and posts it straight to the
// gateway: the hidden fields are made on your server, with your access key
// (which never goes into the page), for each page you serve.
func ExampleTransparentRedirectFields() {
	accessKey := "e6f157d2-66cf-43d5-8a56-c4c57d5760d7" // from RotateAccessKey, kept on your server
	now := time.Unix(1772366400, 0)                     // time.Now() in your code
	fields, err := client.TransparentRedirectFields(client.TRParams{
		AccountID:   "acct_01jnx5z8k3m9qx2abcdefghjkm",
		Amount:      1999,
		Description: "Paygate mug",
		OrderID:     "order-1001",
		SuccessURL:  "https://shop.example.com/paid",
		DeclineURL:  "https://shop.example.com/declined",
	}, accessKey, now)
	if err != nil {
		log.Fatal(err)
	}
	err = trForm.Execute(os.Stdout, map[string]any{"Action": "https://pay.example.com/tr", "Fields": fields})
	if err != nil {
		log.Fatal(err)
	}
	// Output:
	// <form method="post" action="https://pay.example.com/tr">
	//   <input type="hidden" name="account_id" value="acct_01jnx5z8k3m9qx2abcdefghjkm">
	//   <input type="hidden" name="decline_url" value="https://shop.example.com/declined">
	//   <input type="hidden" name="hash" value="1959d33f97bd3ded567b457096bc99ecfa5c4022d99c00f048e5a49fb46a74fc">
	//   <input type="hidden" name="hash_key" value="transaction_type,transaction_amount,transaction_description,order_id">
	//   <input type="hidden" name="order_id" value="order-1001">
	//   <input type="hidden" name="success_url" value="https://shop.example.com/paid">
	//   <input type="hidden" name="tender_type" value="CARD">
	//   <input type="hidden" name="timestamp" value="1772366400">
	//   <input type="hidden" name="transaction_amount" value="19.99">
	//   <input type="hidden" name="transaction_description" value="Paygate mug">
	//   <input type="hidden" name="transaction_type" value="SALE">
	//   <label>Card number <input name="card_number" autocomplete="cc-number" inputmode="numeric" required></label>
	//   <label>Expiry (MMYY) <input name="card_expiration" autocomplete="cc-exp" inputmode="numeric" placeholder="1230" required></label>
	//   <label>CVC <input name="card_verification" autocomplete="cc-csc" inputmode="numeric" required></label>
	//   <label>First name <input name="first_name" autocomplete="cc-given-name"></label>
	//   <label>Last name <input name="last_name" autocomplete="cc-family-name"></label>
	//   <button type="submit">Pay $19.99</button>
	// </form>
}
