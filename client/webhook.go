package client

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// The gateway posts every change of your payments to your webhook
// endpoints (CreateWebhookEndpoint), as the Standard Webhooks
// specification describes: a POST of the event's JSON with the headers
//
//	webhook-id:        the event's id (the same in every retry: deduplicate on it)
//	webhook-timestamp: Unix seconds of this attempt
//	webhook-signature: "v1," + base64(HMAC-SHA256(key, id + "." + timestamp + "." + body))
//
// key is the endpoint's secret's bytes (the base64 after "whsec_"); after
// a rotation, for 24 hours, the header holds one "v1,..." per secret,
// space-separated. Any receiver that implements the specification
// verifies them; VerifyWebhook does, with the code that verifies
// redirects. The known-answer vectors in testdata/webhooks.json were
// computed independently of this code.

// Event types. More may be added: ignore the ones you do not know.
const (
	EventPaymentAuthorized = "payment.authorized" // an authorization approved (not captured)
	EventPaymentCaptured   = "payment.captured"   // a sale approved, or an authorization captured
	EventPaymentDeclined   = "payment.declined"   // the issuer or network said no
	EventPaymentFailed     = "payment.failed"     // no answer; reversed, nobody charged
	EventPaymentVoided     = "payment.voided"     // an authorization or unsettled sale undone
	EventPaymentExpired    = "payment.expired"    // an authorization not captured in time, released
	EventPaymentRefunded   = "payment.refunded"   // a refund succeeded (Data.RefundID says which)
	EventSessionCompleted  = "session.completed"  // a hosted session ended: Data.Outcome says how
	EventSecurityViolation = "security.violation" // a request broke a security rule (Data.Violation says which)
)

// WebhookEvent is one thing that happened to your payments: as a
// post-back carries it (VerifyWebhook) and as the API lists it (Events).
type WebhookEvent struct {
	ID        string    `json:"id"` // "evt_..."
	Type      string    `json:"type"`
	Timestamp time.Time `json:"timestamp"` // when it happened (a retry is signed later)
	Data      EventData `json:"data"`
}

// EventData is what an event says; the fields its type has no use for are
// empty. Nothing of the card beyond its brand and last four digits.
type EventData struct {
	PaymentID          string  `json:"payment_id,omitempty"`
	Status             Status  `json:"status,omitempty"` // the payment's status after the change
	Amount             int64   `json:"amount,omitempty"`
	Currency           string  `json:"currency,omitempty"`
	AmountCaptured     int64   `json:"amount_captured,omitempty"`
	AmountRefunded     int64   `json:"amount_refunded,omitempty"`
	OrderID            string  `json:"order_id,omitempty"`
	ConfirmationNumber string  `json:"confirmation_number,omitempty"`
	AuthCode           string  `json:"auth_code,omitempty"`
	DeclineCode        string  `json:"decline_code,omitempty"`
	DeclineReason      string  `json:"decline_reason,omitempty"`
	CardBrand          string  `json:"card_brand,omitempty"`
	CardLast4          string  `json:"card_last4,omitempty"`
	SessionID          string  `json:"session_id,omitempty"`
	Outcome            Outcome `json:"outcome,omitempty"` // session.completed
	// Sequence is, for a hosted session's payment, the attempt it was:
	// the same number the signed redirect carries (Result.Sequence), so
	// that whichever of the two arrives first, you fulfil the order once.
	Sequence     int    `json:"sequence,omitempty"`
	RefundID     string `json:"refund_id,omitempty"`
	RefundAmount int64  `json:"refund_amount,omitempty"`
	Violation    string `json:"violation,omitempty"`
}

// VerifyWebhook checks a post-back from the gateway — its headers and its
// body exactly as received (read the body whole; do not decode and
// re-encode it first) — with your endpoint's secrets (the old and the new
// one while you roll a rotation out), and returns the event it carries.
// It fails with ErrBadSignature unless a signature matches (compared in
// constant time), then with ErrExpired if webhook-timestamp is more than
// SignatureTolerance from now (a replay). Answer a verified post-back with
// a 2xx quickly, or it is retried; answer 410 Gone to stop them for good.
func VerifyWebhook(header http.Header, body []byte, now time.Time, secrets ...string) (*WebhookEvent, error) {
	keys, err := signingKeys(secrets)
	if err != nil {
		return nil, err
	}
	id, tsText, sig := header.Get("webhook-id"), header.Get("webhook-timestamp"), header.Get("webhook-signature")
	switch {
	case id == "":
		return nil, fmt.Errorf("%w: no webhook-id header", ErrBadSignature)
	case sig == "":
		return nil, fmt.Errorf("%w: no webhook-signature header", ErrBadSignature)
	}
	ts, err := strconv.ParseInt(tsText, 10, 64)
	if err != nil || ts <= 0 {
		return nil, fmt.Errorf("%w: no webhook-timestamp header in Unix seconds", ErrBadSignature)
	}
	if !anySignatureValid(keys, sig, []byte(id), []byte(strconv.FormatInt(ts, 10)), body) {
		return nil, fmt.Errorf("%w: no signature matches the post-back with the secrets given", ErrBadSignature)
	}
	t := time.Unix(ts, 0)
	if d := now.Sub(t); d > SignatureTolerance || d < -SignatureTolerance {
		return nil, fmt.Errorf("%w: signed at %s, %s from now; the tolerance is %s", ErrExpired,
			t.UTC().Format(time.RFC3339), d.Abs().Round(time.Second), SignatureTolerance)
	}
	ev := new(WebhookEvent)
	if err := json.Unmarshal(body, ev); err != nil {
		return nil, fmt.Errorf("paygate: the post-back's body is not an event: %w", err)
	}
	return ev, nil
}
