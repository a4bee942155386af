package paygate

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// WebhookBatch is how many due post-backs a node claims at a time;
// WebhookParallel of them are posted side by side.
const (
	WebhookBatch    = 10
	WebhookParallel = 5
)

// WebhookLease is how long a node holds the post-backs it claimed before
// another node may take them over: as long as a batch could take if every
// post timed out one after the other.
const WebhookLease = WebhookBatch * WebhookTimeout

// maxAttemptResponse bounds the answer kept with an attempt.
const maxAttemptResponse = 1 << 10

// DeliverWebhooks posts the post-backs that are due — claimed in the
// database, so that of several nodes each attempt is made by one —
// WebhookParallel at a time, and returns how many it claimed. Each attempt
// is recorded, fenced on the claim: a node whose lease ran out records
// nothing. A 2xx delivers; a 410 Gone disables the endpoint; anything else
// is tried again on the schedule of WebhookRetries, with up to 10% of
// jitter, and given up (failed) after the last. EndpointFailingAfter
// failures in a row mark the endpoint failing, until a 2xx.
func (g *Gateway) DeliverWebhooks(ctx context.Context) (int, error) {
	if g.Webhooks == nil || g.Events == nil || g.Poster == nil {
		return 0, nil
	}
	list, err := g.Webhooks.ClaimWebhookDeliveries(ctx, g.now(), WebhookLease, WebhookBatch)
	if err != nil {
		return 0, fmt.Errorf("claim webhook deliveries: %w", err)
	}
	// Deliveries to one endpoint update its health one at a time.
	locks := map[string]*sync.Mutex{}
	for _, d := range list {
		if locks[d.EndpointID] == nil {
			locks[d.EndpointID] = &sync.Mutex{}
		}
	}
	sem := make(chan struct{}, WebhookParallel)
	var wg sync.WaitGroup
	for _, d := range list {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			g.deliverWebhook(ctx, d, locks[d.EndpointID])
		})
	}
	wg.Wait()
	return len(list), nil
}

// attemptOutcome is what one post-back attempt came to.
type attemptOutcome int

const (
	attemptDelivered attemptOutcome = iota
	attemptFailed
	attemptGone // 410: the receiver wants no more
)

// deliverWebhook makes one attempt of a claimed delivery and records it.
func (g *Gateway) deliverWebhook(ctx context.Context, d *WebhookDelivery, lock *sync.Mutex) {
	lease := d.NextAt
	log := g.Logger.With(LogMerchantID, d.MerchantID, "event_id", d.EventID, "endpoint_id", d.EndpointID)
	ev, err := g.Events.Event(ctx, d.MerchantID, d.EventID)
	var ep *WebhookEndpoint
	if err == nil {
		ep, err = g.Webhooks.Endpoint(ctx, d.MerchantID, d.EndpointID)
	}
	var keys [][]byte
	if err == nil {
		keys, err = g.endpointKeys(ep)
	}
	if err != nil {
		// Left claimed: tried again when the lease ends.
		if ctx.Err() == nil {
			log.ErrorContext(ctx, "load a webhook delivery", LogError, err)
		}
		return
	}
	if ep.Status == EndpointDisabled {
		return // disabled since the claim: it is claimed no more
	}

	now := g.now()
	ts := now.Unix()
	start := g.Clock.Now()
	res, perr := g.Poster.Post(ctx, WebhookPost{URL: ep.URL, ID: ev.ID, Timestamp: ts,
		Signature: WebhookSignature(keys, ev.ID, ts, ev.Data), Body: ev.Data})
	if perr != nil && ctx.Err() != nil {
		return // stopping: not the endpoint's failure; tried again when the lease ends
	}
	a := &WebhookAttempt{DeliveryID: d.ID, EventID: d.EventID, EndpointID: d.EndpointID, At: now,
		Millis: g.Clock.Now().Sub(start).Milliseconds()}
	outcome := attemptFailed
	switch {
	case perr != nil:
		a.Error = perr.Error() // the poster's errors name the method and the URL without its query
	default:
		a.Status, a.Response = res.Status, recordedText(res.Body)
		switch {
		case res.OK():
			outcome = attemptDelivered
		case res.Status == http.StatusGone:
			outcome, a.Error = attemptGone, "the endpoint answered 410 Gone: it is disabled and gets no more events"
		case res.Status >= 300 && res.Status < 400:
			a.Error = fmt.Sprintf("the endpoint answered HTTP %d: redirects are not followed; register the URL it redirects to", res.Status)
		default:
			a.Error = fmt.Sprintf("the endpoint answered HTTP %d", res.Status)
		}
	}

	d.Attempts++
	d.UpdatedAt = g.now()
	switch {
	case outcome == attemptDelivered:
		d.Status = WebhookDelivered
	case outcome == attemptGone || d.Attempts > len(WebhookRetries):
		d.Status = WebhookFailed
	default:
		d.NextAt = d.UpdatedAt.Add(withJitter(WebhookRetries[d.Attempts-1])).Truncate(TimePrecision)
	}
	ctx = context.WithoutCancel(ctx)
	if err := g.Webhooks.RecordWebhookAttempt(ctx, d, lease, a); err != nil {
		if !errors.Is(err, ErrVersionConflict) {
			log.ErrorContext(ctx, "record a webhook attempt", LogError, err)
		}
		return // another node took the delivery over: its attempts count
	}
	if d.Status == WebhookFailed && outcome != attemptGone {
		log.WarnContext(ctx, "gave up a webhook delivery", "attempts", d.Attempts, LogError, a.Error)
	}
	lock.Lock()
	defer lock.Unlock()
	if err := g.endpointHealth(ctx, d.MerchantID, d.EndpointID, outcome, a.Error); err != nil {
		log.ErrorContext(ctx, "update a webhook endpoint", LogError, err)
	}
}

// endpointKeys returns the HMAC keys an endpoint's post-backs are signed
// with: its secret's and, during a rotation's overlap, the replaced one's.
func (g *Gateway) endpointKeys(ep *WebhookEndpoint) ([][]byte, error) {
	sealed := []EncryptedPAN{ep.Secret}
	if ep.PrevSecretInForce(g.now()) {
		sealed = append(sealed, ep.PrevSecret)
	}
	keys := make([][]byte, 0, len(sealed))
	for _, s := range sealed {
		text, err := g.Vault.Open(s)
		if err != nil {
			return nil, fmt.Errorf("open the secret of webhook endpoint %s: %w", ep.ID, err)
		}
		key, err := SigningKey(text)
		if err != nil {
			return nil, fmt.Errorf("webhook endpoint %s: %w", ep.ID, err)
		}
		keys = append(keys, key)
	}
	return keys, nil
}

// endpointHealth records an attempt's outcome on its endpoint, read afresh
// (the merchant may have changed it meanwhile): a 2xx makes it enabled
// again, a 410 disables it, and EndpointFailingAfter failures in a row
// mark it failing. A disabled endpoint stays so.
func (g *Gateway) endpointHealth(ctx context.Context, merchantID, id string, outcome attemptOutcome, why string) error {
	e, err := g.Webhooks.Endpoint(ctx, merchantID, id)
	if err != nil {
		return err
	}
	if e.Status == EndpointDisabled {
		return nil
	}
	switch outcome {
	case attemptDelivered:
		if e.Status == EndpointEnabled && e.Failures == 0 && e.LastError == "" {
			return nil
		}
		e.Status, e.Failures, e.LastError = EndpointEnabled, 0, ""
	case attemptGone:
		e.Status, e.Failures, e.LastError = EndpointDisabled, e.Failures+1, why
	default:
		e.Failures++
		e.LastError = why
		if e.Failures >= EndpointFailingAfter {
			e.Status = EndpointFailing
		}
	}
	e.UpdatedAt = g.now()
	return g.Webhooks.RecordEndpointHealth(ctx, e)
}

// withJitter adds up to 10% to d, so that deliveries that failed together
// are not all tried again at the same instant.
func withJitter(d time.Duration) time.Duration {
	return d + rand.N(d/10+1)
}

// recordedText is the start of an answer as an attempt keeps it: at most
// maxAttemptResponse bytes of valid UTF-8, without NUL bytes (which text
// columns refuse).
func recordedText(b []byte) string {
	if len(b) > maxAttemptResponse {
		b = b[:maxAttemptResponse]
	}
	s := strings.ToValidUTF8(string(b), "\uFFFD")
	return strings.ReplaceAll(s, "\x00", "")
}

// ListEvents returns one page of the merchant's events, newest first.
func (g *Gateway) ListEvents(ctx context.Context, m *Merchant, f EventFilter) ([]*Event, bool, error) {
	if g.Events == nil {
		return nil, false, fmt.Errorf("no event store")
	}
	f.MerchantID = m.ID
	switch {
	case f.Limit == 0:
		f.Limit = 10
	case f.Limit < 0 || f.Limit > 100:
		return nil, false, ParamErrorf(EINVALID, "limit", "Limit must be between 1 and 100.")
	}
	if f.Type != "" && !slices.Contains(EventTypes, f.Type) {
		return nil, false, ParamErrorf(EINVALID, "type", "Type must be one of %s.", strings.Join(EventTypes, ", "))
	}
	if f.StartingAfter != "" {
		// A cursor that is none of the merchant's events would page from
		// wherever its id sorts: refuse it rather than guess.
		if _, err := g.Events.Event(ctx, m.ID, f.StartingAfter); ErrorCode(err) == ENOTFOUND {
			return nil, false, ParamErrorf(EMALFORMED, "starting_after",
				"Parameter \"starting_after\" must be the id of one of your events; there is no event %s.", sanitize(f.StartingAfter, 40))
		} else if err != nil {
			return nil, false, err
		}
	}
	return g.Events.Events(ctx, f)
}

// Event returns one of the merchant's events.
func (g *Gateway) Event(ctx context.Context, m *Merchant, id string) (*Event, error) {
	if g.Events == nil {
		return nil, fmt.Errorf("no event store")
	}
	return g.Events.Event(ctx, m.ID, id)
}

// EventDeliveries returns an event's deliveries to the merchant's
// endpoints and all their attempts, oldest first.
func (g *Gateway) EventDeliveries(ctx context.Context, m *Merchant, eventID string) ([]*WebhookDelivery, []*WebhookAttempt, error) {
	if _, err := g.Event(ctx, m, eventID); err != nil {
		return nil, nil, err
	}
	if g.Webhooks == nil {
		return nil, nil, fmt.Errorf("no webhook store")
	}
	return g.Webhooks.WebhookDeliveries(ctx, m.ID, eventID)
}

// Redeliver posts an event again, now, to each of the merchant's endpoints
// that takes its type and is not disabled, delivered or not before, and
// returns those deliveries.
func (g *Gateway) Redeliver(ctx context.Context, m *Merchant, eventID string) ([]*WebhookDelivery, error) {
	ev, err := g.Event(ctx, m, eventID)
	if err != nil {
		return nil, err
	}
	if g.Webhooks == nil {
		return nil, fmt.Errorf("no webhook store")
	}
	list, err := g.Webhooks.Redeliver(ctx, m.ID, eventID, g.now())
	if err != nil {
		return nil, fmt.Errorf("redeliver event %s: %w", eventID, err)
	}
	if len(list) == 0 {
		return nil, Errorf(ECONFLICT, "No webhook endpoint that is not disabled takes %s events.", ev.Type)
	}
	return list, nil
}
