package paygate

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"time"
)

// Fetcher makes the gateway's own requests to a merchant's site (the Web
// Proxy model's GET, later post-backs). Package webhook implements it:
// bounded in time and size, no redirects followed, and never to a
// loopback, private, link-local or metadata address.
type Fetcher interface {
	Fetch(ctx context.Context, url string) (*FetchResult, error)
}

// FetchResult is a merchant's answer.
type FetchResult struct {
	Status      int
	ContentType string
	Body        []byte
}

// OK reports whether the answer counts as delivered: a 2xx.
func (r *FetchResult) OK() bool { return r != nil && r.Status >= 200 && r.Status < 300 }

// Delivery statuses. Wire names.
const (
	DeliveryPending   = "pending"
	DeliveryDelivered = "delivered"
	DeliveryFailed    = "failed" // gave up after the last retry
)

// DeliveryRetries is when a failed delivery is tried again, counted from
// the attempt before (Svix's schedule): about 28 hours in all.
var DeliveryRetries = []time.Duration{5 * time.Second, 5 * time.Minute, 30 * time.Minute, 2 * time.Hour,
	5 * time.Hour, 10 * time.Hour, 10 * time.Hour}

// DeliveryLease is how long a node holds a claimed delivery before another
// node may take it over.
const DeliveryLease = time.Minute

// Delivery is a session outcome that still has to reach the merchant's
// response URL (the Web Proxy model, when the merchant's site failed while
// the customer waited). Background work: claimed from the database.
type Delivery struct {
	ID         string
	MerchantID string
	SessionID  string
	Status     string
	Attempts   int       // attempts made, the one in the customer's request included
	NextAt     time.Time // when it is due (or, while claimed, when the lease ends)
	LastError  string
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// DeliveryStore keeps deliveries.
type DeliveryStore interface {
	// CreateDelivery stores d; one delivery per session (a second is
	// ErrDuplicate).
	CreateDelivery(ctx context.Context, d *Delivery) error
	// ClaimDeliveries leases up to limit pending deliveries due at now
	// (NextAt at or before now) by setting their NextAt to now+lease, and
	// returns them. Of nodes claiming at once, each delivery goes to one.
	ClaimDeliveries(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]*Delivery, error)
	// UpdateDelivery saves d's status, attempts, NextAt and LastError.
	UpdateDelivery(ctx context.Context, d *Delivery) error
	// SessionDelivery returns the session's delivery, if any (ENOTFOUND).
	SessionDelivery(ctx context.Context, sessionID string) (*Delivery, error)
}

// Trace events of deliveries to the merchant. Wire names.
const (
	TraceDelivered      = "delivered"
	TraceDeliveryFailed = "delivery_failed"
)

// DeliverProxy sends a session's outcome to the merchant's response URL
// (the Web Proxy model, seed 000): the gateway GETs it with the signed
// result and returns the merchant's page for the customer. If the merchant
// does not answer with a 2xx, the outcome is queued for retries in the
// background and the error says so; the customer then gets the gateway's
// own receipt. Every attempt is on the payment's trace.
func (g *Gateway) DeliverProxy(ctx context.Context, m *Merchant, s *Session, p *Payment) (*FetchResult, error) {
	res, err := g.deliver(ctx, m, s, p)
	if err == nil {
		return res, nil
	}
	now := g.now()
	d := &Delivery{ID: NewID("dlv", now), MerchantID: m.ID, SessionID: s.ID, Status: DeliveryPending, Attempts: 1,
		NextAt: now.Add(DeliveryRetries[0]), LastError: err.Error(), CreatedAt: now, UpdatedAt: now}
	if cerr := g.Deliveries.CreateDelivery(context.WithoutCancel(ctx), d); cerr != nil && !errors.Is(cerr, ErrDuplicate) {
		return res, fmt.Errorf("%w; and queueing a retry failed: %v", err, cerr)
	}
	return res, err
}

// deliver makes one attempt, and traces it on the payment.
func (g *Gateway) deliver(ctx context.Context, m *Merchant, s *Session, p *Payment) (*FetchResult, error) {
	target, err := g.ResultURL(ctx, m, s, p)
	if err != nil {
		return nil, err
	}
	start := g.Clock.Now()
	res, err := g.Fetcher.Fetch(ctx, target)
	e := TraceEntry{At: g.now(), Event: TraceDelivered, Kind: "proxy", STAN: "", RRN: "",
		Millis: g.Clock.Now().Sub(start).Milliseconds()}
	where := "GET " + withoutQuery(target)
	switch {
	case err != nil:
		e.Event, e.Detail = TraceDeliveryFailed, err.Error() // the fetcher's errors name the method and URL
	case !res.OK():
		e.Event, e.Detail = TraceDeliveryFailed, fmt.Sprintf("%s: HTTP %d", where, res.Status)
		err = fmt.Errorf("the merchant's site answered HTTP %d", res.Status)
	default:
		e.Detail = fmt.Sprintf("%s: HTTP %d", where, res.Status)
	}
	if p != nil {
		e.STAN, e.RRN = p.STAN, p.RRN
		if _, terr := g.transition(context.WithoutCancel(ctx), m.ID, p.ID, func(p *Payment) error {
			p.Trace = append(p.Trace, e)
			return nil
		}); terr != nil {
			g.Logger.Warn("trace delivery", LogPaymentID, p.ID, LogError, terr)
		}
	}
	return res, err
}

func withoutQuery(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(bad URL)"
	}
	u.RawQuery, u.Fragment = "", ""
	return u.String()
}

// RetryDeliveries tries again the deliveries that are due, on the schedule
// of DeliveryRetries, and returns how many it tried.
func (g *Gateway) RetryDeliveries(ctx context.Context) (int, error) {
	if g.Deliveries == nil {
		return 0, nil
	}
	list, err := g.Deliveries.ClaimDeliveries(ctx, g.now(), DeliveryLease, 20)
	if err != nil {
		return 0, fmt.Errorf("claim deliveries: %w", err)
	}
	for _, d := range list {
		if err := g.retryDelivery(ctx, d); err != nil {
			return 0, err
		}
	}
	return len(list), nil
}

func (g *Gateway) retryDelivery(ctx context.Context, d *Delivery) error {
	s, err := g.Sessions.Session(ctx, d.MerchantID, d.SessionID)
	if err != nil {
		return fmt.Errorf("delivery %s: %w", d.ID, err)
	}
	m, err := g.Merchants.Merchant(ctx, d.MerchantID)
	if err != nil {
		return fmt.Errorf("delivery %s: %w", d.ID, err)
	}
	p, err := g.sessionPayment(ctx, s)
	if err != nil {
		return fmt.Errorf("delivery %s: %w", d.ID, err)
	}
	_, derr := g.deliver(ctx, m, s, p)
	d.Attempts++
	d.UpdatedAt = g.now()
	switch {
	case derr == nil:
		d.Status, d.LastError = DeliveryDelivered, ""
	case d.Attempts > len(DeliveryRetries):
		d.Status, d.LastError = DeliveryFailed, derr.Error()
		g.Logger.Warn("gave up delivering a session outcome", LogMerchantID, m.ID, "session_id", s.ID, LogError, derr)
	default:
		d.LastError, d.NextAt = derr.Error(), d.UpdatedAt.Add(DeliveryRetries[d.Attempts-1])
	}
	if err := g.Deliveries.UpdateDelivery(ctx, d); err != nil {
		return fmt.Errorf("update delivery %s: %w", d.ID, err)
	}
	return nil
}
