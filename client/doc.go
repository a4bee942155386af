// Package client is the Go client for the paygate payment gateway's HTTP
// API, for merchant servers. It needs the standard library only.
//
// Create a client with the gateway's address and your secret key, and share
// it between goroutines:
//
//	c := client.New("http://127.0.0.1:8080", os.Getenv("PAYGATE_SECRET_KEY"))
//
// # Sales
//
// A sale charges the card at once. Amounts are int64 minor units of the
// currency (1999 is $19.99):
//
//	pay, err := c.CreatePayment(ctx, client.PaymentParams{
//		Amount:   1999,
//		Currency: "USD",
//		Card:     &client.CardParams{Number: "4242424242424242", ExpMonth: 12, ExpYear: 2030, CVC: "123"},
//		OrderID:  "order-1001",
//	})
//	// pay.Status == client.StatusCaptured; show the customer pay.ConfirmationNumber.
//
// # Authorize, then capture
//
// With Capture pointing to false the amount is only held on the card. Capture
// it when the goods ship (for less, if not all of them do), or Void it:
//
//	pay, err := c.CreatePayment(ctx, client.PaymentParams{Amount: 5000, Currency: "USD", Card: card, Capture: new(false)})
//	// pay.Status == client.StatusAuthorized
//	pay, err = c.Capture(ctx, pay.ID, client.CaptureParams{Amount: new(int64(4200))})
//
// # Refunds
//
// Refund returns all that is left of a captured payment, or part of it:
//
//	re, err := c.Refund(ctx, pay.ID, client.RefundParams{Amount: new(int64(500)), Reason: "damaged"})
//
// # Payments on the gateway's page
//
// With a session the customer types the card on the gateway's page, not
// yours. First set the origins your URLs live on and make a signing
// secret (once; it is shown only then, keep it with your API key):
//
//	_, err := c.UpdateSettings(ctx, client.SettingsUpdate{
//		AllowedOrigins: new([]string{"https://shop.example.com"}),
//		SuccessURL:     new("https://shop.example.com/paid"),
//	})
//	secret, err := c.RotateSigningSecret(ctx)
//
// Then, for each order, start a session and send the browser to its URL:
//
//	s, err := c.StartSession(ctx, client.SessionParams{Amount: 1999, Currency: "USD", OrderID: "order-1001"})
//	http.Redirect(w, r, s.URL, http.StatusSeeOther)
//
// After the payment the gateway sends the browser back to the return URL
// (the Web Redirect model) or itself GETs it and shows the customer your
// answer (the Web Proxy model, DefaultModel "proxy"), in both cases with
// the result in the query, signed. Verify it before you trust it:
//
//	func paid(w http.ResponseWriter, r *http.Request) {
//		res, err := client.VerifyRequest(r, time.Now(), secret)
//		switch {
//		case errors.Is(err, client.ErrBadSignature):
//			// Not from the gateway, or changed on the way: refuse it.
//		case errors.Is(err, client.ErrExpired):
//			// Genuine but older than 5 minutes: ask the gateway instead.
//		case err == nil && res.Outcome == client.OutcomeApproved:
//			// Paid: res.OrderID, res.Amount, res.ConfirmationNumber.
//		}
//	}
//
// The browser may never come back, so the gateway answers too:
// c.Session(ctx, id) returns the session and its payment. If your settings
// require acknowledgments, acknowledge an approval (AckSession) once you
// have recorded it; one left unacknowledged past the window is voided.
//
// # Signing secrets
//
// Everything the gateway sends your site outside the API is signed with
// your signing secret, with a timestamp: VerifyQuery and VerifyRequest
// check both. RotateSigningSecret makes a new secret; the old one keeps
// working for 24 hours, while you deploy the new one. Verify with both in
// that time:
//
//	res, err := client.VerifyRequest(r, time.Now(), newSecret, oldSecret)
//
// # Post-backs (webhooks)
//
// Besides the browser, the gateway tells your server itself of every
// change of your payments, however they were made: a POST of the event to
// each of your webhook endpoints (Standard Webhooks). Register one (its
// secret is shown once):
//
//	ep, err := c.CreateWebhookEndpoint(ctx, client.WebhookEndpointParams{
//		URL:    "https://shop.example.com/hooks",
//		Events: []string{client.EventPaymentCaptured, client.EventPaymentRefunded}, // none: every type
//	})
//	// keep ep.Secret ("whsec_...") with your API key
//
// Verify each post-back with VerifyWebhook, on the body exactly as read,
// and act on each event once (its ID is the same in every retry); answer a
// 2xx within 15 seconds:
//
//	body, _ := io.ReadAll(r.Body)
//	ev, err := client.VerifyWebhook(r.Header, body, time.Now(), secret)
//	// ev.Type, ev.Data.PaymentID, ev.Data.Sequence
//
// A post-back that does not get a 2xx is retried for about 3 days, with
// growing intervals; a 410 Gone disables the endpoint. The gateway keeps
// every event (Events, Event) and every attempt (EventDeliveries: status,
// time, the start of your answer), and RedeliverEvent posts one again.
// For a hosted session, Data.Sequence is the number the signed redirect
// carries: fulfil on whichever arrives first, once.
// RotateWebhookEndpointSecret makes a new secret; for 24 hours each post
// carries both signatures, so that either secret verifies.
//
// # A payment form without an API call
//
// A page of yours can also start a payment with a plain HTML form posted
// to <gateway>/pay. SignForm gives its hidden fields, signed with your
// secret, so that nobody can change the amount or the return URL; the
// gateway accepts it for 30 minutes:
//
//	fields, err := client.SignForm(client.FormParams{
//		MerchantID: "acct_...", Amount: 1999, Currency: "USD", ReturnURL: "https://shop.example.com/paid",
//	}, time.Now(), secret)
//	// <form method="post" action="https://pay.example.com/pay">
//	// {{range $k, $v := .Fields}}<input type="hidden" name="{{$k}}" value="{{index $v 0}}">{{end}}
//
// # Your own card form: the transparent redirect
//
// A page of yours can take the card in its own form and post it from the
// customer's browser straight to <gateway>/tr, so that the card never
// reaches your server (seed 003's transparent redirect; its field names).
// Make an access key once, and keep it on your server as you keep your
// API key: it never goes into a page.
//
//	accessKey, err := c.RotateAccessKey(ctx)
//
// For each page, make the form's hidden fields; they are hashed with the
// access key, so the customer cannot change the amount, type, description,
// order id or URLs, accepted for 30 minutes, and pay once:
//
//	fields, err := client.TransparentRedirectFields(client.TRParams{
//		AccountID: "acct_...", Amount: 1999, OrderID: "order-1001", Description: "Mug",
//		SuccessURL: "https://shop.example.com/paid", DeclineURL: "https://shop.example.com/declined",
//	}, accessKey, time.Now())
//
// and render them, with the card inputs, as ExampleTransparentRedirectFields
// shows: inputs named card_number, card_expiration (MMYY),
// card_verification, first_name and last_name. The gateway sends the
// browser to the success or decline URL (or your settings' ones) with the
// result, signed with your signing secret:
//
//	res, err := client.VerifyTransparentRedirect(r.URL.Query(), time.Now(), secret)
//	// res.Approved, res.TransactionID, res.ConfirmationNumber; on a
//	// decline res.ErrorCode, res.ErrorMessage (for the customer), res.ErrorParam
//
// Confirm an approval with GetPayment(res.TransactionID) and fulfil each
// transaction once. Your page serves the form that takes the card, so your
// site's integrity is in your PCI DSS scope (SAQ A-EP), though the card
// never reaches your server.
//
// # Declines and other errors
//
// Every answer the server refuses is an *Error. A declined card is a 402
// with Type "card_error" and Code "card_declined"; the declined payment is
// recorded, under PaymentID:
//
//	pay, err := c.CreatePayment(ctx, params)
//	var e *client.Error
//	switch {
//	case errors.As(err, &e) && e.Code == client.CodeCardDeclined:
//		// e.DeclineCode is such as "insufficient_funds", e.ResponseCode "51".
//		// Ask the customer for another card.
//	case err != nil:
//		// The request failed; see below.
//	}
//
// # Retries and idempotency
//
// Each POST carries an Idempotency-Key: the server performs a request once
// however many times it arrives with the same key and body, and replays
// its first answer to the rest. That makes retries safe, and the client
// retries on its own — up to 2 times by default, with exponential backoff
// and jitter, honouring Retry-After — after a network failure (a refused or
// reset connection, a timeout), a 429, a 500, 502, 503 or 504, and a 409
// idempotency_in_flight or resource_busy. Other errors, declines among them, are returned at
// once. Cancelling the context stops the retries.
//
// The client makes a fresh key for each call. If your process may die
// between sending a payment and reading the answer, set IdempotencyKey to
// something derived from your order and send the same params again later:
// you get the first payment back, not a second charge.
//
// # Card data
//
// CardParams prints and marshals to JSON with its number masked (first 6,
// last 4) and its CVC hidden, so a log line cannot leak them; only the
// request to the gateway carries them. Responses never hold a full number.
package client
