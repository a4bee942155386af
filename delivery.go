package paygate

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"sync"
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
// node may take it over: longer than a batch (DeliveryBatch, tried side by
// side) takes, at the fetcher's 10 s each.
const DeliveryLease = 2 * time.Minute

// DeliveryBatch is how many due deliveries a node claims at a time.
const DeliveryBatch = 5

// DeliveryGrace is how long the customer's own request has to deliver a
// proxy session's outcome before the background takes it over (the
// delivery is recorded before the outcome, due this long after).
const DeliveryGrace = time.Minute

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
	// UpdateDelivery saves d's status, attempts, NextAt and LastError if
	// its NextAt is still prevNextAt (the lease a claim set, or the value
	// read): else ErrVersionConflict, and nothing is saved.
	UpdateDelivery(ctx context.Context, d *Delivery, prevNextAt time.Time) error
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
// result and returns the merchant's page for the customer. The attempt is
// the first of the session's delivery (recorded before its outcome,
// ensureDelivery): if the merchant does not answer with a 2xx, the
// background retries it and the error says so; the customer then gets the
// gateway's own receipt. Every attempt is on the payment's trace.
func (g *Gateway) DeliverProxy(ctx context.Context, m *Merchant, s *Session, p *Payment) (*FetchResult, error) {
	res, derr := g.deliver(ctx, m, s, p)
	ctx = context.WithoutCancel(ctx)
	d, err := g.Deliveries.SessionDelivery(ctx, s.ID)
	if ErrorCode(err) == ENOTFOUND {
		now := g.now()
		d = &Delivery{ID: NewID("dlv", now), MerchantID: m.ID, SessionID: s.ID, Status: DeliveryPending,
			NextAt: now, CreatedAt: now, UpdatedAt: now}
		if err = g.Deliveries.CreateDelivery(ctx, d); errors.Is(err, ErrDuplicate) {
			d, err = g.Deliveries.SessionDelivery(ctx, s.ID)
		}
	}
	if err != nil {
		g.Logger.ErrorContext(ctx, "record a delivery", LogMerchantID, m.ID, "session_id", s.ID, LogError, err)
		return res, derr
	}
	if d.Status != DeliveryPending {
		return res, derr
	}
	g.recordAttempt(ctx, d, d.NextAt, derr)
	return res, derr
}

// recordAttempt records an attempt of d that ended with derr (nil:
// delivered) and schedules the next, unless another node's claim moved d
// on since (prev is its NextAt as this node knew it).
func (g *Gateway) recordAttempt(ctx context.Context, d *Delivery, prev time.Time, derr error) {
	d.Attempts++
	d.UpdatedAt = g.now()
	switch {
	case derr == nil:
		d.Status, d.LastError = DeliveryDelivered, ""
	case d.Attempts > len(DeliveryRetries):
		d.Status, d.LastError = DeliveryFailed, derr.Error()
		g.Logger.WarnContext(ctx, "gave up delivering a session outcome", LogMerchantID, d.MerchantID, "session_id", d.SessionID, LogError, derr)
	default:
		d.LastError, d.NextAt = derr.Error(), d.UpdatedAt.Add(DeliveryRetries[d.Attempts-1])
	}
	if err := g.Deliveries.UpdateDelivery(ctx, d, prev); err != nil && !errors.Is(err, ErrVersionConflict) {
		g.Logger.ErrorContext(ctx, "record a delivery attempt", LogMerchantID, d.MerchantID, "session_id", d.SessionID, LogError, err)
	}
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
			g.Logger.WarnContext(ctx, "trace delivery", LogPaymentID, p.ID, LogError, terr)
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
// of DeliveryRetries, DeliveryBatch at a time side by side, and returns how
// many it tried. One delivery's failure does not hold up the others.
func (g *Gateway) RetryDeliveries(ctx context.Context) (int, error) {
	if g.Deliveries == nil {
		return 0, nil
	}
	list, err := g.Deliveries.ClaimDeliveries(ctx, g.now(), DeliveryLease, DeliveryBatch)
	if err != nil {
		return 0, fmt.Errorf("claim deliveries: %w", err)
	}
	var wg sync.WaitGroup
	for _, d := range list {
		wg.Go(func() { g.retryDelivery(ctx, d) })
	}
	wg.Wait()
	return len(list), nil
}

func (g *Gateway) retryDelivery(ctx context.Context, d *Delivery) {
	lease := d.NextAt
	s, err := g.Sessions.Session(ctx, d.MerchantID, d.SessionID)
	var m *Merchant
	if err == nil {
		m, err = g.Merchants.Merchant(ctx, d.MerchantID)
	}
	var p *Payment
	if err == nil {
		p, err = g.sessionPayment(ctx, s)
	}
	switch {
	case err != nil:
		err = fmt.Errorf("load delivery %s: %w", d.ID, err)
	case s.Outcome == "" && s.StatusAt(g.now()) == SessionExpired:
		// Recorded for an outcome that never came (a cancel that lost to
		// the session's expiry): nothing to deliver.
		d.Status, d.LastError, d.UpdatedAt = DeliveryFailed, "the session ended without an outcome", g.now()
		if err := g.Deliveries.UpdateDelivery(ctx, d, lease); err != nil && !errors.Is(err, ErrVersionConflict) {
			g.Logger.ErrorContext(ctx, "close a delivery", "session_id", d.SessionID, LogError, err)
		}
		return
	case s.Outcome == "":
		// The outcome is on its way (recovery settles the session).
		err = fmt.Errorf("session %s has no outcome yet", s.ID)
	default:
		_, err = g.deliver(ctx, m, s, p)
	}
	g.recordAttempt(ctx, d, lease, err)
}
