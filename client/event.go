package client

import (
	"context"
	"fmt"
	"iter"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// Webhook endpoint statuses.
const (
	EndpointEnabled  = "enabled"
	EndpointFailing  = "failing"  // its deliveries keep failing (LastError says why); they are still retried
	EndpointDisabled = "disabled" // deleted, or it answered 410 Gone: it gets no more events
)

// Webhook delivery statuses.
const (
	WebhookPending   = "pending"   // to be tried (again) at NextAt
	WebhookDelivered = "delivered" // your endpoint answered 2xx
	WebhookFailed    = "failed"    // given up after the last retry (about 3 days), or the endpoint answered 410
)

// WebhookEndpoint is a URL of yours that the gateway posts events to.
type WebhookEndpoint struct {
	ID        string   `json:"id"` // "we_..."
	Object    string   `json:"object"`
	URL       string   `json:"url"`
	Events    []string `json:"events"` // the types it takes; ["*"] for every type
	Status    string   `json:"status"` // EndpointEnabled, EndpointFailing or EndpointDisabled
	Failures  int      `json:"failures"`
	LastError string   `json:"last_error,omitempty"` // why the last delivery failed
	// PreviousSecretExpiresAt, after a rotation, is when the replaced
	// secret stops signing.
	PreviousSecretExpiresAt *time.Time `json:"previous_secret_expires_at,omitempty"`
	CreatedAt               time.Time  `json:"created_at"`
	UpdatedAt               time.Time  `json:"updated_at"`
	// Secret ("whsec_...") verifies the endpoint's post-backs
	// (VerifyWebhook). It is set only in what CreateWebhookEndpoint and
	// RotateWebhookEndpointSecret return, the one time it is shown: store
	// it as you store your API key.
	Secret string `json:"secret,omitempty"`
}

// WebhookEndpointParams describe a new endpoint.
type WebhookEndpointParams struct {
	// URL is https (http only for localhost, to develop), on a public
	// address: the gateway refuses private and loopback ones.
	URL string `json:"url"`
	// Events are the types it takes (such as EventPaymentCaptured); none
	// means every type.
	Events []string `json:"events,omitempty"`
}

// CreateWebhookEndpoint registers an endpoint; the endpoint it returns
// carries its Secret, the one time it is shown. (The request is not kept
// under an idempotency key, so that the secret is not: if it fails on the
// way, list the endpoints before you try again.)
func (c *Client) CreateWebhookEndpoint(ctx context.Context, p WebhookEndpointParams) (*WebhookEndpoint, error) {
	e := new(WebhookEndpoint)
	if err := c.post(ctx, "/v1/webhook_endpoints", p, "", e); err != nil {
		return nil, err
	}
	return e, nil
}

// WebhookEndpoints lists your endpoints, deleted (disabled) ones included,
// oldest first.
func (c *Client) WebhookEndpoints(ctx context.Context) ([]*WebhookEndpoint, error) {
	var out struct {
		Data []*WebhookEndpoint `json:"data"`
	}
	if err := c.get(ctx, "/v1/webhook_endpoints", nil, &out); err != nil {
		return nil, err
	}
	return out.Data, nil
}

// WebhookEndpoint returns one of your endpoints.
func (c *Client) WebhookEndpoint(ctx context.Context, id string) (*WebhookEndpoint, error) {
	path, err := endpointPath(id, "")
	if err != nil {
		return nil, err
	}
	e := new(WebhookEndpoint)
	if err := c.get(ctx, path, nil, e); err != nil {
		return nil, err
	}
	return e, nil
}

// DeleteWebhookEndpoint disables an endpoint: it gets no more events.
func (c *Client) DeleteWebhookEndpoint(ctx context.Context, id string) (*WebhookEndpoint, error) {
	path, err := endpointPath(id, "")
	if err != nil {
		return nil, err
	}
	e := new(WebhookEndpoint)
	if err := c.do(ctx, http.MethodDelete, path, nil, nil, "", e); err != nil {
		return nil, err
	}
	return e, nil
}

// RotateWebhookEndpointSecret gives an endpoint a new secret, returned in
// Secret, the one time it is shown. The old secret keeps signing for 24
// hours (each post-back then carries both signatures): deploy the new one
// in that time, verifying with both meanwhile.
func (c *Client) RotateWebhookEndpointSecret(ctx context.Context, id string) (*WebhookEndpoint, error) {
	path, err := endpointPath(id, "/secret")
	if err != nil {
		return nil, err
	}
	e := new(WebhookEndpoint)
	if err := c.post(ctx, path, nil, "", e); err != nil {
		return nil, err
	}
	return e, nil
}

func endpointPath(id, action string) (string, error) {
	if id == "" {
		return "", fmt.Errorf("paygate: empty webhook endpoint id")
	}
	return "/v1/webhook_endpoints/" + url.PathEscape(id) + action, nil
}

// EventListParams filter and page ListEvents and Events. Zero fields are
// not sent.
type EventListParams struct {
	Limit         int    // page size; zero means the server's default
	StartingAfter string // an event ID: list what comes after it (older events)
	Type          string // such as EventPaymentCaptured
	PaymentID     string // the events of one payment
}

func (p EventListParams) query() url.Values {
	q := url.Values{}
	if p.Limit > 0 {
		q.Set("limit", strconv.Itoa(p.Limit))
	}
	if p.StartingAfter != "" {
		q.Set("starting_after", p.StartingAfter)
	}
	if p.Type != "" {
		q.Set("type", p.Type)
	}
	if p.PaymentID != "" {
		q.Set("payment_id", p.PaymentID)
	}
	return q
}

// EventList is one page of events, newest first.
type EventList struct {
	Object  string          `json:"object"`
	Data    []*WebhookEvent `json:"data"`
	HasMore bool            `json:"has_more"`
}

// ListEvents returns one page of events. To walk all of them use Events.
func (c *Client) ListEvents(ctx context.Context, p EventListParams) (*EventList, error) {
	list := new(EventList)
	if err := c.get(ctx, "/v1/events", p.query(), list); err != nil {
		return nil, err
	}
	return list, nil
}

// Events walks every event that p selects, newest first, fetching page
// after page as the loop asks for more; after an error the sequence ends.
// With Redeliver, it is how you catch up after your endpoint was down
// longer than the gateway retries (about 3 days).
func (c *Client) Events(ctx context.Context, p EventListParams) iter.Seq2[*WebhookEvent, error] {
	return func(yield func(*WebhookEvent, error) bool) {
		for {
			page, err := c.ListEvents(ctx, p)
			if err != nil {
				yield(nil, err)
				return
			}
			for _, e := range page.Data {
				if !yield(e, nil) {
					return
				}
			}
			if !page.HasMore || len(page.Data) == 0 {
				return
			}
			p.StartingAfter = page.Data[len(page.Data)-1].ID
		}
	}
}

// Event returns one event.
func (c *Client) Event(ctx context.Context, id string) (*WebhookEvent, error) {
	path, err := eventPath(id, "")
	if err != nil {
		return nil, err
	}
	e := new(WebhookEvent)
	if err := c.get(ctx, path, nil, e); err != nil {
		return nil, err
	}
	return e, nil
}

// WebhookDelivery is an event's delivery to one of your endpoints, with
// every attempt made.
type WebhookDelivery struct {
	ID         string           `json:"id"`
	Object     string           `json:"object"`
	EventID    string           `json:"event_id"`
	EndpointID string           `json:"endpoint_id"`
	Status     string           `json:"status"`  // WebhookPending, WebhookDelivered or WebhookFailed
	NextAt     *time.Time       `json:"next_at"` // while pending: when it is tried
	Attempts   []WebhookAttempt `json:"attempts"`
	CreatedAt  time.Time        `json:"created_at"`
	UpdatedAt  time.Time        `json:"updated_at"`
}

// WebhookAttempt is one try of a delivery.
type WebhookAttempt struct {
	At       time.Time `json:"at"`
	Status   int       `json:"status"` // your endpoint's HTTP status; 0 if none came
	Millis   int64     `json:"ms"`     // time to the answer
	Error    string    `json:"error"`  // why it failed, if it did
	Response string    `json:"response"`
}

// EventDeliveries returns an event's deliveries to your endpoints and
// their attempts.
func (c *Client) EventDeliveries(ctx context.Context, id string) ([]*WebhookDelivery, error) {
	path, err := eventPath(id, "/deliveries")
	if err != nil {
		return nil, err
	}
	var out struct {
		Data []*WebhookDelivery `json:"data"`
	}
	if err := c.get(ctx, path, nil, &out); err != nil {
		return nil, err
	}
	return out.Data, nil
}

// RedeliverEvent posts an event again, now, to each of your endpoints that
// takes its type (delivered before or not), and returns the event's
// deliveries.
func (c *Client) RedeliverEvent(ctx context.Context, id string) ([]*WebhookDelivery, error) {
	path, err := eventPath(id, "/redeliver")
	if err != nil {
		return nil, err
	}
	var out struct {
		Data []*WebhookDelivery `json:"data"`
	}
	if err := c.post(ctx, path, nil, "", &out); err != nil {
		return nil, err
	}
	return out.Data, nil
}

func eventPath(id, action string) (string, error) {
	if id == "" {
		return "", fmt.Errorf("paygate: empty event id")
	}
	return "/v1/events/" + url.PathEscape(id) + action, nil
}
