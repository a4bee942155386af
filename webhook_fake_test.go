package paygate_test

import (
	"context"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/paygate/paygate"
)

// memHooks is an EventStore and a WebhookStore in memory, with the
// contract of the real ones: deliveries written with each event for the
// endpoints that take it, claims that lease, attempts fenced on the lease.
type memHooks struct {
	mu         sync.Mutex
	events     map[string]*paygate.Event
	endpoints  map[string]*paygate.WebhookEndpoint
	order      []string // endpoint ids, oldest first
	deliveries map[string]*paygate.WebhookDelivery
	attempts   []*paygate.WebhookAttempt
	updates    int // UpdateEndpoint calls
}

func newMemHooks() *memHooks {
	return &memHooks{events: map[string]*paygate.Event{}, endpoints: map[string]*paygate.WebhookEndpoint{},
		deliveries: map[string]*paygate.WebhookDelivery{}}
}

var (
	_ paygate.EventStore   = (*memHooks)(nil)
	_ paygate.WebhookStore = (*memHooks)(nil)
)

func cloneEndpoint(e *paygate.WebhookEndpoint) *paygate.WebhookEndpoint {
	c := *e
	c.Events = slices.Clone(e.Events)
	return &c
}

func cloneDelivery(d *paygate.WebhookDelivery) *paygate.WebhookDelivery {
	c := *d
	return &c
}

func (m *memHooks) CreateEvent(_ context.Context, e *paygate.Event) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	c := *e
	m.events[e.ID] = &c
	for _, id := range m.order {
		ep := m.endpoints[id]
		if ep.MerchantID == e.MerchantID && ep.Status != paygate.EndpointDisabled && ep.Takes(e.Type) {
			d := &paygate.WebhookDelivery{ID: e.ID + "." + ep.ID, EventID: e.ID, EndpointID: ep.ID, MerchantID: e.MerchantID,
				Status: paygate.WebhookPending, NextAt: e.CreatedAt, CreatedAt: e.CreatedAt, UpdatedAt: e.CreatedAt}
			m.deliveries[d.ID] = d
		}
	}
	return nil
}

func (m *memHooks) Event(_ context.Context, merchantID, id string) (*paygate.Event, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.events[id]
	if !ok || e.MerchantID != merchantID {
		return nil, paygate.Errorf(paygate.ENOTFOUND, "No such event: %s.", id)
	}
	c := *e
	return &c, nil
}

func (m *memHooks) Events(_ context.Context, f paygate.EventFilter) ([]*paygate.Event, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var list []*paygate.Event
	for _, e := range m.events {
		if e.MerchantID == f.MerchantID && (f.Type == "" || e.Type == f.Type) && (f.PaymentID == "" || e.PaymentID == f.PaymentID) &&
			(f.StartingAfter == "" || e.ID < f.StartingAfter) {
			c := *e
			list = append(list, &c)
		}
	}
	sort.Slice(list, func(i, j int) bool { return list[i].ID > list[j].ID })
	if len(list) > f.Limit {
		return list[:f.Limit], true, nil
	}
	return list, false, nil
}

func (m *memHooks) CreateEndpoint(_ context.Context, e *paygate.WebhookEndpoint) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.endpoints[e.ID] = cloneEndpoint(e)
	m.order = append(m.order, e.ID)
	return nil
}

func (m *memHooks) Endpoint(_ context.Context, merchantID, id string) (*paygate.WebhookEndpoint, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.endpoints[id]
	if !ok || e.MerchantID != merchantID {
		return nil, paygate.Errorf(paygate.ENOTFOUND, "No such webhook endpoint: %s.", id)
	}
	return cloneEndpoint(e), nil
}

func (m *memHooks) Endpoints(_ context.Context, merchantID string) ([]*paygate.WebhookEndpoint, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var list []*paygate.WebhookEndpoint
	for _, id := range m.order {
		if e := m.endpoints[id]; e.MerchantID == merchantID {
			list = append(list, cloneEndpoint(e))
		}
	}
	return list, nil
}

func (m *memHooks) UpdateEndpoint(_ context.Context, e *paygate.WebhookEndpoint) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.endpoints[e.ID]; !ok {
		return paygate.Errorf(paygate.ENOTFOUND, "No such webhook endpoint: %s.", e.ID)
	}
	m.endpoints[e.ID] = cloneEndpoint(e)
	m.updates++
	return nil
}

func (m *memHooks) RecordEndpointHealth(_ context.Context, e *paygate.WebhookEndpoint) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	stored, ok := m.endpoints[e.ID]
	if !ok || stored.Status == paygate.EndpointDisabled {
		return nil
	}
	stored.Status, stored.Failures, stored.LastError, stored.UpdatedAt = e.Status, e.Failures, e.LastError, e.UpdatedAt
	if e.Status == paygate.EndpointDisabled {
		for _, d := range m.deliveries {
			if d.EndpointID == e.ID && d.Status == paygate.WebhookPending {
				d.Status = paygate.WebhookFailed
			}
		}
	}
	m.updates++
	return nil
}

func (m *memHooks) ClaimWebhookDeliveries(_ context.Context, now time.Time, lease time.Duration, limit int) ([]*paygate.WebhookDelivery, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var due []*paygate.WebhookDelivery
	for _, d := range m.deliveries {
		if d.Status == paygate.WebhookPending && !d.NextAt.After(now) && m.endpoints[d.EndpointID].Status != paygate.EndpointDisabled {
			due = append(due, d)
		}
	}
	sort.Slice(due, func(i, j int) bool { return due[i].NextAt.Before(due[j].NextAt) })
	if len(due) > limit {
		due = due[:limit]
	}
	out := make([]*paygate.WebhookDelivery, len(due))
	for i, d := range due {
		d.NextAt = now.Add(lease)
		out[i] = cloneDelivery(d)
	}
	return out, nil
}

func (m *memHooks) RecordWebhookAttempt(_ context.Context, d *paygate.WebhookDelivery, prevNextAt time.Time, a *paygate.WebhookAttempt) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	cur, ok := m.deliveries[d.ID]
	if !ok || !cur.NextAt.Equal(prevNextAt) {
		return paygate.ErrVersionConflict
	}
	m.deliveries[d.ID] = cloneDelivery(d)
	c := *a
	m.attempts = append(m.attempts, &c)
	return nil
}

func (m *memHooks) WebhookDeliveries(_ context.Context, merchantID, eventID string) ([]*paygate.WebhookDelivery, []*paygate.WebhookAttempt, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var ds []*paygate.WebhookDelivery
	for _, d := range m.deliveries {
		if d.EventID == eventID && d.MerchantID == merchantID {
			ds = append(ds, cloneDelivery(d))
		}
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i].ID < ds[j].ID })
	var as []*paygate.WebhookAttempt
	for _, a := range m.attempts {
		if a.EventID == eventID {
			c := *a
			as = append(as, &c)
		}
	}
	return ds, as, nil
}

func (m *memHooks) EndpointDeliveries(_ context.Context, merchantID, endpointID string, limit int) ([]*paygate.WebhookDelivery, []*paygate.WebhookAttempt, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var ds []*paygate.WebhookDelivery
	for _, d := range m.deliveries {
		if d.EndpointID == endpointID && d.MerchantID == merchantID {
			ds = append(ds, cloneDelivery(d))
		}
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i].ID > ds[j].ID })
	if len(ds) > limit {
		ds = ds[:limit]
	}
	var as []*paygate.WebhookAttempt
	for _, a := range m.attempts {
		for _, d := range ds {
			if a.DeliveryID == d.ID {
				c := *a
				as = append(as, &c)
			}
		}
	}
	return ds, as, nil
}

func (m *memHooks) Redeliver(_ context.Context, merchantID, eventID string, now time.Time) ([]*paygate.WebhookDelivery, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.events[eventID]
	if !ok || e.MerchantID != merchantID {
		return nil, paygate.Errorf(paygate.ENOTFOUND, "No such event: %s.", eventID)
	}
	var out []*paygate.WebhookDelivery
	for _, id := range m.order {
		ep := m.endpoints[id]
		if ep.MerchantID != merchantID || ep.Status == paygate.EndpointDisabled || !ep.Takes(e.Type) {
			continue
		}
		d, ok := m.deliveries[e.ID+"."+ep.ID]
		if !ok {
			d = &paygate.WebhookDelivery{ID: e.ID + "." + ep.ID, EventID: e.ID, EndpointID: ep.ID, MerchantID: merchantID, CreatedAt: now}
			m.deliveries[d.ID] = d
		}
		d.Status, d.NextAt, d.UpdatedAt = paygate.WebhookPending, now, now
		out = append(out, cloneDelivery(d))
	}
	return out, nil
}

// delivery returns a delivery as stored.
func (m *memHooks) delivery(id string) *paygate.WebhookDelivery {
	m.mu.Lock()
	defer m.mu.Unlock()
	if d, ok := m.deliveries[id]; ok {
		return cloneDelivery(d)
	}
	return nil
}

// endpoint returns an endpoint as stored.
func (m *memHooks) endpoint(id string) *paygate.WebhookEndpoint {
	m.mu.Lock()
	defer m.mu.Unlock()
	return cloneEndpoint(m.endpoints[id])
}

// attemptsOf returns a delivery's attempts.
func (m *memHooks) attemptsOf(deliveryID string) []*paygate.WebhookAttempt {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []*paygate.WebhookAttempt
	for _, a := range m.attempts {
		if a.DeliveryID == deliveryID {
			c := *a
			out = append(out, &c)
		}
	}
	return out
}

// posterFunc is a paygate.Poster.
type posterFunc func(ctx context.Context, p paygate.WebhookPost) (*paygate.FetchResult, error)

func (f posterFunc) Post(ctx context.Context, p paygate.WebhookPost) (*paygate.FetchResult, error) {
	return f(ctx, p)
}
