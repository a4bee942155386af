package paygate

import (
	"context"
	"time"
)

// Post-backs follow the Standard Webhooks specification: each delivery is
// a POST of the event's JSON with the headers webhook-id (the event id),
// webhook-timestamp (Unix seconds) and webhook-signature ("v1," + base64
// HMAC-SHA256 with the endpoint's secret over id + "." + timestamp + "." +
// body; during a rotation one per secret, space-separated).

// Webhook endpoint statuses. Wire names.
const (
	EndpointEnabled  = "enabled"
	EndpointFailing  = "failing"  // its deliveries keep failing (LastError says why); they are still retried
	EndpointDisabled = "disabled" // deleted by the merchant, or answered 410 Gone: no more deliveries
)

// WebhookSecretOverlap is how long an endpoint's replaced secret still
// signs, so that the receiver can deploy the new one.
const WebhookSecretOverlap = 24 * time.Hour

// WebhookTimeout bounds one delivery attempt.
const WebhookTimeout = 15 * time.Second

// WebhookRetries is when a failed delivery is tried again, counted from the
// attempt before (before jitter): about 3 days and 4 hours in all.
var WebhookRetries = []time.Duration{5 * time.Second, time.Minute, 5 * time.Minute, 30 * time.Minute, time.Hour,
	2 * time.Hour, 4 * time.Hour, 8 * time.Hour, 12 * time.Hour, 24 * time.Hour, 24 * time.Hour}

// EndpointFailingAfter is how many deliveries in a row must fail before an
// endpoint is marked failing.
const EndpointFailingAfter = 5

// WebhookEndpoint is a merchant's URL that events are posted to.
type WebhookEndpoint struct {
	ID         string // "we_..."
	MerchantID string
	URL        string
	Events     []string     // the types it takes; ["*"] for every type
	Secret     EncryptedPAN // "whsec_...", sealed by the vault
	// PrevSecret, until PrevExpiresAt, is the secret the last rotation
	// replaced: it signs too.
	PrevSecret    EncryptedPAN
	PrevExpiresAt time.Time
	Status        string
	Failures      int    // deliveries failed in a row
	LastError     string // why the last failed
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

// Takes reports whether the endpoint takes events of the type.
func (e *WebhookEndpoint) Takes(typ string) bool {
	for _, t := range e.Events {
		if t == "*" || t == typ {
			return true
		}
	}
	return false
}

// Webhook delivery statuses. Wire names.
const (
	WebhookPending   = "pending"
	WebhookDelivered = "delivered"
	WebhookFailed    = "failed" // gave up after the last retry, or the endpoint was disabled
)

// WebhookDelivery is one event's delivery to one endpoint: written with
// the event, then claimed and attempted until a 2xx (at least once).
type WebhookDelivery struct {
	ID         string // the event id + "." + the endpoint id
	EventID    string
	EndpointID string
	MerchantID string
	Status     string
	Attempts   int
	NextAt     time.Time // when it is due (while claimed, when the lease ends)
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// WebhookAttempt is one try of a delivery.
type WebhookAttempt struct {
	DeliveryID string
	EventID    string
	EndpointID string
	At         time.Time
	Status     int    // the HTTP status; 0 if none came
	Millis     int64  // time to the answer
	Error      string // why it failed, if it did
	Response   string // the first 1 KiB of the answer
}

// WebhookStore keeps webhook endpoints, deliveries and their attempts.
type WebhookStore interface {
	CreateEndpoint(ctx context.Context, e *WebhookEndpoint) error
	Endpoint(ctx context.Context, merchantID, id string) (*WebhookEndpoint, error)
	// Endpoints lists the merchant's endpoints, disabled ones included,
	// oldest first.
	Endpoints(ctx context.Context, merchantID string) ([]*WebhookEndpoint, error)
	// UpdateEndpoint saves an endpoint's events, secrets, status, failures
	// and last error.
	UpdateEndpoint(ctx context.Context, e *WebhookEndpoint) error
	// RecordEndpointHealth saves only e's status, failures, last error and
	// UpdatedAt, and only while the stored endpoint is not disabled: a
	// delivery's outcome never undoes the merchant's delete or rotation.
	RecordEndpointHealth(ctx context.Context, e *WebhookEndpoint) error

	// ClaimWebhookDeliveries leases up to limit pending deliveries due at
	// now, of endpoints not disabled, by setting their NextAt to
	// now+lease. Of nodes claiming at once, each delivery goes to one.
	ClaimWebhookDeliveries(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]*WebhookDelivery, error)
	// RecordWebhookAttempt saves d (status, attempts, NextAt) and adds a
	// to its attempts, in one transaction, if d's NextAt is still
	// prevNextAt; else ErrVersionConflict and nothing is saved.
	RecordWebhookAttempt(ctx context.Context, d *WebhookDelivery, prevNextAt time.Time, a *WebhookAttempt) error
	// WebhookDeliveries returns an event's deliveries and all their
	// attempts, oldest first.
	WebhookDeliveries(ctx context.Context, merchantID, eventID string) ([]*WebhookDelivery, []*WebhookAttempt, error)
	// EndpointDeliveries returns an endpoint's latest deliveries, newest
	// first, at most limit, and all their attempts, oldest first (the
	// endpoint's delivery log).
	EndpointDeliveries(ctx context.Context, merchantID, endpointID string, limit int) ([]*WebhookDelivery, []*WebhookAttempt, error)
	// Redeliver makes the event due again at now, on a fresh schedule
	// (Attempts 0; the attempts made stay on record), for each of the
	// merchant's endpoints that takes it and is not disabled (a new
	// delivery where it had none), and returns those deliveries.
	Redeliver(ctx context.Context, merchantID, eventID string, now time.Time) ([]*WebhookDelivery, error)
}

// WebhookPost is one post-back as the poster sends it.
type WebhookPost struct {
	URL       string
	ID        string // webhook-id
	Timestamp int64  // webhook-timestamp
	Signature string // webhook-signature
	Body      []byte
}

// Poster posts a post-back: POST only, bounded in time (WebhookTimeout)
// and size, no redirects followed, never to a loopback, private,
// link-local or metadata address. Package webhook implements it.
type Poster interface {
	Post(ctx context.Context, p WebhookPost) (*FetchResult, error)
}
